import { createDependencies } from '../../shared/dependencies';
import { createLauncherHandler } from '../../shared/queue/launcher-handler';
import { createSqsRetryDelay } from '../../shared/queue/overflow-queue';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const deps = createDependencies({
  env: { POWERTOOLS_SERVICE_NAME: 'github-runners-launcher', ...process.env },
});
const queueUrl = deps.config.overflowQueueUrl;

/** SQS event source → launch each queued job; partial batch failures are retried, then dead-lettered. */
export const handler = createLauncherHandler({
  ...deps,
  ...(queueUrl !== undefined && { delayRetry: createSqsRetryDelay(queueUrl) }),
});
