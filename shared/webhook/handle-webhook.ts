import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Config } from '../config';
import type { RunnerLauncher } from '../ecs/launcher';
import {
  BadRequestError,
  HttpError,
  MethodNotAllowedError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
} from '../errors';
import type { GitHubRunners } from '../github/ports';
import { launchRunner } from '../launch/launch-runner';
import type { OverflowQueue } from '../queue/overflow-queue';
import type { Reaper } from '../reaper/reaper';
import { decide } from '../runner/decide';
import type { WebhookSecrets } from '../secrets/webhook-secrets';
import { errorResponse, jsonResponse, type WebhookRequest, type WebhookResponse } from './http';
import { verifySignature } from './signature';
import { parseWorkflowJob } from './workflow-job';

/** Everything the webhook handler needs, built once per cold start by `createDependencies`. */
export interface WebhookDependencies {
  readonly config: Config;
  readonly secrets: WebhookSecrets;
  readonly launcher: RunnerLauncher;
  /** GitHub's runner and job APIs; undefined without GitHub credentials. */
  readonly github?: GitHubRunners | undefined;
  /** Where jobs go that could not get a task in time; undefined: they are answered 503. */
  readonly overflow?: OverflowQueue | undefined;
  /** Stops idle runner tasks; undefined without GitHub credentials (busy runners can't be told apart). */
  readonly reaper?: Reaper | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

/** Metric names (CloudWatch EMF), one place for the code and the alarms. */
export const METRIC = {
  served: 'JobsServed',
  queued: 'JobsQueued',
  reaped: 'RunnersReaped',
  ignored: 'JobsIgnored',
  refused: 'JobsRefused',
  runTaskFailures: 'RunTaskFailures',
  rejected: 'DeliveriesRejected',
  duration: 'HandlerDuration',
} as const;

/** Time kept for the SQS send after a launch attempt that did not start a task. */
const QUEUE_RESERVE_MS = 1500;

export type WebhookHandler = (request: WebhookRequest) => Promise<WebhookResponse>;

/**
 * The webhook, written once for every platform: verify → parse → decide → launch → answer.
 * Answers 200 only when a task exists for the job; every other outcome carries its reason.
 */
export function createWebhookHandler(deps: WebhookDependencies): WebhookHandler {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;

  async function handle(request: WebhookRequest, receivedAt: number): Promise<WebhookResponse> {
    if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError(request.method);
    await verifySignature(await deps.secrets.get(), request.body, request.headers);

    const contentType = request.headers['content-type'] ?? 'application/json';
    if (!/^application\/json\b/i.test(contentType)) throw new UnsupportedMediaTypeError(contentType);
    const event = request.headers['x-github-event'];
    if (event === undefined || event === '') throw new BadRequestError('missing X-GitHub-Event header');
    if (event === 'ping') return jsonResponse(200, 'pong');
    if (event !== 'workflow_job') {
      metrics.addMetric(METRIC.ignored, 'Count', 1);
      return jsonResponse(
        202,
        `event "${event}" needs no runner; subscribe the webhook to workflow_job only`,
      );
    }

    let payload: unknown;
    try {
      payload = JSON.parse(request.body);
    } catch {
      throw new BadRequestError('the body is not JSON; set the webhook content type to application/json');
    }
    const job = parseWorkflowJob(payload);
    logger.appendKeys({
      action: job.action,
      jobId: job.job.id,
      runId: job.job.runId,
      runAttempt: job.job.runAttempt,
      repository: job.repository.fullName,
    });

    const decision = decide(config, job);
    if (decision.kind === 'ignore') {
      metrics.addMetric(METRIC.ignored, 'Count', 1);
      logger.info('ignored', { decision: 'ignore', reason: decision.reason });
      return jsonResponse(202, decision.reason);
    }
    if (decision.kind === 'reap') {
      if (!deps.reaper)
        return jsonResponse(202, `${decision.reason}; idle runners are left to their own idle timeout`);
      const summary = await deps.reaper.sweep({
        runId: decision.runId,
        signal: AbortSignal.timeout(Math.max(1, receivedAt + config.launchDeadlineMs - now())),
      });
      metrics.addMetric(METRIC.reaped, 'Count', summary.stopped.length);
      logger.info('run checked for idle runners', { decision: 'reap', ...summary });
      return jsonResponse(
        200,
        `${decision.reason}: checked ${summary.checked} runner task(s), stopped ${summary.stopped.length}`,
        { stopped: summary.stopped },
      );
    }
    if (decision.kind === 'refuse') {
      metrics.addMetric(METRIC.refused, 'Count', 1);
      logger.warn('refused', { decision: 'refuse', reason: decision.reason });
      return jsonResponse(422, `refused: ${decision.reason}`);
    }

    const { plan } = decision;
    logger.appendKeys({ runnerName: plan.name });
    // With an overflow queue, leave time to put the job on it if ECS does not start the task.
    const deadlineAt = receivedAt + config.launchDeadlineMs - (deps.overflow ? QUEUE_RESERVE_MS : 0);
    const outcome = await launchRunner(
      { config, launcher: deps.launcher, github: deps.github, logger, now },
      plan,
      { owner: job.repository.owner, repo: job.repository.name, createdAt: job.job.createdAt },
      deadlineAt,
    );
    if (outcome.kind === 'not-queued') {
      metrics.addMetric(METRIC.ignored, 'Count', 1);
      logger.info('ignored', { decision: 'ignore', reason: outcome.reason });
      return jsonResponse(202, outcome.reason);
    }
    if (outcome.kind === 'failed' && deps.overflow) {
      try {
        await deps.overflow.send(
          {
            version: 1,
            deliveryId: request.headers['x-github-delivery'],
            job,
            reason: outcome.reason,
            enqueuedAt: new Date(now()).toISOString(),
          },
          AbortSignal.timeout(Math.max(1, receivedAt + config.launchDeadlineMs - now())),
        );
      } catch (error) {
        metrics.addMetric(METRIC.runTaskFailures, 'Count', 1);
        throw new ServiceUnavailableError(
          `${outcome.reason}; and the overflow queue did not take the job (${(error as Error).message}); the delivery can be redelivered`,
        );
      }
      metrics.addMetric(METRIC.queued, 'Count', 1);
      logger.warn('job queued for launch', { decision: 'launch', reason: outcome.reason });
      return jsonResponse(202, `queued for launch: ${outcome.reason}`, { runnerName: plan.name });
    }
    if (outcome.kind === 'failed') {
      metrics.addMetric(METRIC.runTaskFailures, 'Count', 1);
      throw new ServiceUnavailableError(`${outcome.reason}; the delivery can be redelivered`);
    }
    metrics.addMetric(METRIC.served, 'Count', 1);
    logger.info('runner task started', {
      decision: 'launch',
      taskArn: outcome.taskArn,
      existing: outcome.existing,
    });
    return jsonResponse(200, outcome.existing ? 'the job already has a runner task' : 'runner task started', {
      taskArn: outcome.taskArn,
      runnerName: plan.name,
      labels: plan.labels,
    });
  }

  return async (request) => {
    const receivedAt = now();
    logger.appendKeys({
      delivery: request.headers['x-github-delivery'],
      event: request.headers['x-github-event'],
    });
    try {
      return await handle(request, receivedAt);
    } catch (error) {
      const response = errorResponse(error);
      if (error instanceof HttpError && error.statusCode < 500) {
        metrics.addMetric(METRIC.rejected, 'Count', 1);
        logger.warn('delivery rejected', { status: error.statusCode, reason: error.message });
      } else {
        logger.error('delivery failed', { status: response.statusCode, error: error as Error });
      }
      return response;
    } finally {
      metrics.addMetric(METRIC.duration, 'Milliseconds', now() - receivedAt);
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
