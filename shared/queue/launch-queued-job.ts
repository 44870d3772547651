import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import type { Config } from '../config';
import { errorMessage } from '../errors';
import { commit } from '../jobs/job-ledger';
import { type LaunchDependencies, launchJob } from '../launch/launch-job';
import { METRIC } from '../metrics';
import { decide } from '../runner/decide';
import { parseOverflowMessage } from './overflow-queue';

/** How long one queued job may spend on its launch (the launcher's Lambda timeout is longer). */
export const QUEUED_LAUNCH_DEADLINE_MS = 20_000;

/** Sets how long a failed message stays invisible before its next try (SQS: 0..43,200 s). */
export type DelayRetry = (record: SQSRecord, seconds: number) => Promise<void>;

/** The least wait before a queued job's next try: a capacity shortage is not over in less. */
const MIN_RETRY_DELAY_SECONDS = 5;

/**
 * The next try's delay after `receiveCount` tries: exponential from 10 s, capped at 15 minutes,
 * with jitter so a burst of failed jobs does not return as one burst; never under
 * {@link MIN_RETRY_DELAY_SECONDS} (5 s).
 */
export function retryDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const cap = Math.min(900, 10 * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(MIN_RETRY_DELAY_SECONDS, Math.ceil(random() * cap));
}

/** What launching a queued job needs: what a launch needs, the metrics, and the retry delay. */
export interface QueuedJobDependencies extends Omit<LaunchDependencies, 'config'> {
  /** The whole configuration: the job's plan is decided again from it. */
  readonly config: Config;
  readonly metrics: Metrics;
  /** Absent: a failed message comes back after the queue's visibility timeout. */
  readonly delayRetry?: DelayRetry;
}

/**
 * Handles one overflow message with the same launch code as the webhook. Returns when the job has
 * a task or no longer needs one; throws (so the record is reported as a batch item failure and
 * retried after a growing delay, then dead-lettered by the queue's redrive policy) otherwise.
 */
export function createQueuedJobHandler(deps: QueuedJobDependencies): (record: SQSRecord) => Promise<void> {
  const { config, logger, metrics, now } = deps;
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
      if (decision.kind !== 'ours') {
        logger.warn('queued job no longer ours under this configuration', {
          decision: decision.kind,
          reason: decision.reason,
        });
        return;
      }
      const { plan } = decision;
      // The webhook recorded the job before it queued it; a ledger lost since (in memory) is rebuilt.
      if ((await deps.ledger.get(plan.jobId)) === undefined) {
        await commit(
          deps.ledger,
          plan.jobId,
          { type: 'delivered', event: job, profile: plan.target.profile },
          { now },
        );
      }
      const result = await launchJob(deps, plan, now() + QUEUED_LAUNCH_DEADLINE_MS);
      if (result.kind === 'started') {
        metrics.addMetric(METRIC.served, 'Count', 1);
        logger.info('runner task started from the queue', { ...result });
        return;
      }
      if (result.kind === 'skipped' || result.kind === 'waiting') {
        // Waiting: the capacity function launches it when its instance registers.
        logger.info('queued job needs no launch now', { reason: result.reason });
        return;
      }
      metrics.addMetric(result.setup ? METRIC.setupErrors : METRIC.runTaskFailures, 'Count', 1);
      const delay = retryDelaySeconds(Number(record.attributes.ApproximateReceiveCount) || 1);
      await deps
        .delayRetry?.(record, delay)
        .catch((error: unknown) => logger.warn('could not delay the retry', { reason: errorMessage(error) }));
      logger.warn('runner task not started; will retry', { reason: result.reason, retryInSeconds: delay });
      throw new Error(result.reason);
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
