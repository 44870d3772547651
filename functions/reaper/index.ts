import { createDependencies } from '../../shared/dependencies';
import { ConfigError } from '../../shared/errors';
import type { ReapSummary } from '../../shared/reaper/reaper';
import { METRIC } from '../../shared/webhook/handle-webhook';

// Built at cold start from the webhook's own settings: a wrong environment fails here.
const deps = createDependencies({
  webhookSecret: false,
  env: { POWERTOOLS_SERVICE_NAME: 'github-runners-reaper', ...process.env },
});
const { reaper } = deps;
if (!reaper) {
  throw new ConfigError([
    'the reaper needs GitHub credentials (GITHUB_AUTH_SECRET_ARN) to tell busy runners from idle ones, and DRY_RUN off',
  ]);
}

/** Scheduled: stop runner tasks that are idle past RUNNER_IDLE_TIMEOUT or whose job went elsewhere. */
export const handler = async (): Promise<ReapSummary> => {
  const summary = await reaper.sweep();
  deps.metrics.addMetric(METRIC.reaped, 'Count', summary.stopped.length);
  deps.metrics.publishStoredMetrics();
  deps.logger.info('reaper sweep', { ...summary });
  return summary;
};
