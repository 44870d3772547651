import { Logger } from '@aws-lambda-powertools/logger';
import { parseRedeliverSettings, runRedeliverSweep } from '../../shared/github/redeliver';
import type { SweepSummary } from '../../shared/github/redeliver-sweep';

// Read at cold start: a wrong environment fails here, with every problem in one message.
// No hook named: the GitHub App's own hook, when the credentials are an App.
const settings = parseRedeliverSettings(process.env, {}, { hookFromCredentials: true });
const logger = new Logger({ serviceName: 'github-runners-redeliver' });

/** Scheduled (every 5 minutes): redeliver the failed workflow_job deliveries of the last window. */
export const handler = async (): Promise<SweepSummary> => {
  const summary = await runRedeliverSweep(settings, { log: { warn: (message) => logger.warn(message) } });
  logger.info('redelivery sweep', { ...summary });
  return summary;
};
