import type { SQSRecord } from 'aws-lambda';
import { RETRY_WINDOW_MS } from '../ecs/ecs-launcher';
import { launchRunner } from '../launch/launch-runner';
import { decide } from '../runner/decide';
import type { WebhookDependencies } from '../webhook/handle-webhook';
import { METRIC } from '../webhook/handle-webhook';
import { parseOverflowMessage } from './overflow-queue';

/** How long one queued job may spend on its launch (the launcher's Lambda timeout is longer). */
export const QUEUED_LAUNCH_DEADLINE_MS = 20_000;

/** Sets how long a failed message stays invisible before its next try (SQS: 0..43,200 s). */
export type DelayRetry = (record: SQSRecord, seconds: number) => Promise<void>;

/** A retry must fall in a later retry window of the ECS launcher, or it would replay the failed answer. */
const MIN_RETRY_DELAY_SECONDS = Math.ceil((2.5 * RETRY_WINDOW_MS) / 1000);

/**
 * The next try's delay after `receiveCount` tries: exponential from 10 s, capped at 15 minutes,
 * with jitter so a burst of failed jobs does not return as one burst; never under
 * {@link MIN_RETRY_DELAY_SECONDS} (5 s).
 */
export function retryDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const cap = Math.min(900, 10 * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(MIN_RETRY_DELAY_SECONDS, Math.ceil(random() * cap));
}

/**
 * Handles one overflow message with the same launch code as the webhook. Returns when the job has
 * a task or no longer needs one; throws (so the record is reported as a batch item failure and
 * retried after a growing delay, then dead-lettered by the queue's redrive policy) otherwise.
 */
export function createQueuedJobHandler(
  deps: WebhookDependencies & { readonly delayRetry?: DelayRetry },
): (record: SQSRecord) => Promise<void> {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  return async (record) => {
    const message = parseOverflowMessage(record.body);
    const { job } = message;
    logger.appendKeys({
      delivery: message.deliveryId,
      messageId: record.messageId,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
      jobId: job.job.id,
      runId: job.job.runId,
      repository: job.repository.fullName,
    });
    try {
      const decision = decide(config, job);
      if (decision.kind !== 'launch') {
        logger.warn('queued job no longer ours under this configuration', {
          decision: decision.kind,
          reason: decision.reason,
        });
        return;
      }
      const outcome = await launchRunner(
        { config, launcher: deps.launcher, github: deps.github, logger, now },
        decision.plan,
        { owner: job.repository.owner, repo: job.repository.name, createdAt: job.job.createdAt },
        now() + QUEUED_LAUNCH_DEADLINE_MS,
      );
      if (outcome.kind === 'started') {
        metrics.addMetric(METRIC.served, 'Count', 1);
        logger.info('runner task started from the queue', {
          taskArn: outcome.taskArn,
          existing: outcome.existing,
        });
        return;
      }
      if (outcome.kind === 'not-queued') {
        logger.info('queued job needs no runner any more', { reason: outcome.reason });
        return;
      }
      metrics.addMetric(METRIC.runTaskFailures, 'Count', 1);
      const delay = retryDelaySeconds(Number(record.attributes.ApproximateReceiveCount) || 1);
      await deps
        .delayRetry?.(record, delay)
        .catch((error: unknown) =>
          logger.warn('could not delay the retry', { reason: (error as Error).message }),
        );
      logger.warn('runner task not started; will retry', { reason: outcome.reason, retryInSeconds: delay });
      throw new Error(outcome.reason);
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
