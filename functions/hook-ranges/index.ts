import { Logger } from '@aws-lambda-powertools/logger';
import { fetchHookRanges } from '../../shared/firewall/github-meta';
import {
  type HookRangesSummary,
  parseHookRangesSettings,
  refreshHookRanges,
} from '../../shared/firewall/hook-ranges';
import { createWafIpSets } from '../../shared/firewall/wafv2-ip-sets';

// Read at cold start: a wrong environment fails here, with every problem in one message.
const settings = parseHookRangesSettings(process.env);
const ipSets = createWafIpSets();
const logger = new Logger({ serviceName: 'github-runners-hook-ranges' });

/** Scheduled (every hour): the webhook's WAF IP sets, set to GitHub's current hook ranges. */
export const handler = async (): Promise<HookRangesSummary> => {
  const summary = await refreshHookRanges(settings, {
    hookRanges: () => fetchHookRanges(settings.apiUrl),
    ipSets,
  });
  logger.info('hook ranges refreshed', { ...summary });
  return summary;
};
