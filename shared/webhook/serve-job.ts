import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Config } from '../config';
import { errorMessage, ServiceUnavailableError } from '../errors';
import { commit } from '../jobs/job-ledger';
import type { JobRecord } from '../jobs/job-record';
import { claimEvent, type LaunchDependencies, launchJob } from '../launch/launch-job';
import { METRIC } from '../metrics';
import type { OverflowQueue } from '../queue/overflow-queue';
import { decide } from '../runner/decide';
import type { RunnerPlan } from '../runner/runner-plan';
import type { WorkflowJobEvent } from '../runner/workflow-job';

/** The answer to a delivery: status, a message an operator can act on, and details. */
export interface JobAnswer {
  readonly status: number;
  readonly message: string;
  readonly detail?: Record<string, unknown>;
}

export interface ServeJobDependencies extends Omit<LaunchDependencies, 'config'> {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Where jobs go that could not get a task in time for a reason time can fix. */
  readonly overflow: OverflowQueue | undefined;
}

/** Time kept for the SQS send after a launch attempt that did not start a task. */
export const QUEUE_RESERVE_MS = 1500;

/**
 * Serves one `workflow_job` delivery: records what it says of a job of ours in the ledger (queued,
 * waiting, in progress, completed), and launches the runner of a job that is queued and has no
 * task. Answers 200 only when a task exists or the job's record says why none is needed; a
 * failure that time can fix goes to the overflow queue (202), one that needs the operator is 503
 * with the fix (GitHub's log shows it, and the redelivery sweep delivers it again once fixed).
 */
export async function serveJob(
  deps: ServeJobDependencies,
  job: WorkflowJobEvent,
  context: { readonly deliveryId: string | undefined; readonly deadlineAt: number },
): Promise<JobAnswer> {
  const { config, logger, metrics, now } = deps;
  const decision = decide(config, job);
  const jobKeys = {
    delivery: context.deliveryId,
    event: 'workflow_job',
    action: job.action,
    jobId: job.job.id,
    runId: job.job.runId,
    runAttempt: job.job.runAttempt,
    repository: job.repository.fullName,
  };
  if (decision.kind === 'ignore') {
    metrics.addMetric(METRIC.ignored, 'Count', 1);
    // Most deliveries are not ours (every GitHub-hosted job): their line is for debugging, and
    // they set no keys on the logger (the cheapest answer the webhook gives).
    // A job that nearly is ours (`self-hosted` in its runs-on) is a workflow to fix: said aloud.
    if (decision.misfit) logger.warn('ignored', { ...jobKeys, decision: 'ignore', reason: decision.reason });
    else logger.debug('ignored', { ...jobKeys, decision: 'ignore', reason: decision.reason });
    return { status: 202, message: decision.reason };
  }
  logger.appendKeys({
    ...jobKeys,
    ...(decision.kind === 'ours' && { profile: decision.plan.target.profile }),
  });
  if (decision.kind === 'refuse') {
    metrics.addMetric(METRIC.refused, 'Count', 1);
    logger.warn('refused', { decision: 'refuse', reason: decision.reason });
    return { status: 422, message: `refused: ${decision.reason}` };
  }
  const { plan } = decision;

  // With an overflow queue, leave time to put the job on it if ECS does not start the task.
  const launchDeadline = context.deadlineAt - (deps.overflow ? QUEUE_RESERVE_MS : 0);
  const delivered = { type: 'delivered', event: job, profile: plan.target.profile } as const;
  // A queued job is recorded and its launch claimed in one write: one conditional write fewer per job.
  const recorded = await commit(
    deps.ledger,
    plan.jobId,
    job.action === 'queued' ? [delivered, claimEvent(plan, launchDeadline, now())] : delivered,
    { now, signal: AbortSignal.timeout(Math.max(1, context.deadlineAt - now())) },
  );
  const record = recorded.record;
  const note = recorded.note;
  if (job.action === 'in_progress' && recorded.written && record?.jobStartedAt !== undefined) {
    const waited = Math.max(0, record.jobStartedAt - record.queuedAt);
    metrics.addMetric(METRIC.timeToJobStarted, 'Milliseconds', waited);
    // Owned capacity: the same, per profile and per path (hot, warm, cold) for the dashboard's p50/p95.
    if (record.instancePath !== undefined) {
      const single = metrics.singleMetric();
      single.addDimension('Profile', record.profile);
      single.addDimension('Path', record.instancePath);
      single.addMetric(METRIC.timeToJobStarted, 'Milliseconds', waited);
    }
  }
  if (
    job.action === 'completed' &&
    recorded.written &&
    record?.spotInterruptedAt !== undefined &&
    record.rerun === undefined &&
    job.job.conclusion === 'failure'
  ) {
    await rerunAfterSpot(deps, plan, record);
  }
  if (job.action === 'queued' && record?.state === 'task-started') {
    logger.info('the job already has a runner task', { decision: 'launch', taskArn: record.taskArn });
    return {
      status: 200,
      message: 'the job already has a runner task',
      detail: { runnerName: record.runnerName, jobId: plan.jobId, state: record.state },
    };
  }
  const wantsLaunch = record?.state === 'queued' || record?.state === 'launching';
  if (job.action !== 'queued' || record === undefined || !wantsLaunch) {
    logger.info('job recorded', { decision: 'record', state: record?.state, note });
    return {
      status: 200,
      message: `job ${plan.jobId} ${note}`,
      detail: { jobId: plan.jobId, state: record?.state },
    };
  }
  // Only a claim writes `launching`: a record written so was claimed by this delivery.
  const claimed = recorded.written && record.state === 'launching';
  return launch(deps, plan, job, context, record, launchDeadline, claimed);
}

/**
 * A job that failed after its Spot instance was interrupted under it is re-run once (GitHub's
 * re-run-a-job API; the App needs `actions: write`): the ledger records the request first, so a
 * second delivery of the failure asks nothing more, and GitHub's refusal is recorded for the operator.
 */
async function rerunAfterSpot(
  deps: ServeJobDependencies,
  plan: RunnerPlan,
  record: JobRecord,
): Promise<void> {
  const { logger, now } = deps;
  const asked = await commit(
    deps.ledger,
    plan.jobId,
    { type: 'rerun', outcome: 'requested' },
    { now, known: record },
  );
  if (!asked.written || deps.github === undefined) return;
  const [owner = '', repo = ''] = plan.repository.split('/');
  try {
    await deps.github.rerunJob(plan.scopeRef, owner, repo, plan.jobId);
    logger.info('job re-run after its Spot interruption', { jobId: plan.jobId });
  } catch (error) {
    const outcome = `refused: ${errorMessage(error)}`;
    logger.warn('GitHub did not re-run the job its Spot interruption failed (the App needs actions: write)', {
      jobId: plan.jobId,
      reason: errorMessage(error),
    });
    await commit(deps.ledger, plan.jobId, { type: 'rerun', outcome }, { now }).catch(() => undefined);
  }
}

async function launch(
  deps: ServeJobDependencies,
  plan: RunnerPlan,
  job: WorkflowJobEvent,
  context: { readonly deliveryId: string | undefined; readonly deadlineAt: number },
  record: JobRecord,
  launchDeadline: number,
  claimed: boolean,
): Promise<JobAnswer> {
  const { logger, metrics, now } = deps;
  // The attempt's runner name when this delivery claimed it (from the second attempt on it is not the plan's).
  const runnerName = record.runnerName ?? plan.name;
  logger.appendKeys({ runnerName });
  const result = await launchJob(deps, plan, launchDeadline, { checkQueued: 'late', record, claimed });
  if (result.kind === 'started') {
    metrics.addMetric(METRIC.served, 'Count', 1);
    logger.info('runner task started', { decision: 'launch', ...result });
    return {
      status: 200,
      message: result.existing ? 'the job already has a runner task' : 'runner task started',
      // The task ARN (account, region, cluster) stays in our log: every organisation owner reads this answer.
      detail: { runnerName: result.runnerName, jobId: plan.jobId, labels: plan.labels },
    };
  }
  if (result.kind === 'skipped') {
    logger.info('nothing to launch', { decision: 'launch', reason: result.reason });
    return { status: 202, message: result.reason };
  }
  if (result.kind === 'waiting') {
    logger.info('waiting for an instance', { decision: 'launch', group: result.group });
    return {
      status: 202,
      message: 'waiting for an instance: the runner task starts as soon as one registers',
      detail: { runnerName, jobId: plan.jobId },
    };
  }
  if (result.setup) {
    metrics.addMetric(METRIC.setupErrors, 'Count', 1);
    logger.error('setup error: the runner cannot be started until it is fixed', { reason: result.reason });
    throw new ServiceUnavailableError(
      `the runner cannot be started: ${result.fix}; once fixed, redeliver (delivery ${context.deliveryId ?? 'unknown'})`,
    );
  }
  if (deps.overflow) {
    try {
      await deps.overflow.send(
        {
          version: 1,
          deliveryId: context.deliveryId,
          job,
          reason: result.reason,
          enqueuedAt: new Date(now()).toISOString(),
        },
        AbortSignal.timeout(Math.max(1, context.deadlineAt - now())),
      );
    } catch (error) {
      metrics.addMetric(METRIC.runTaskFailures, 'Count', 1);
      logger.error('overflow queue refused the job', { reason: errorMessage(error) });
      throw new ServiceUnavailableError(
        `the runner task did not start in time and the overflow queue did not take the job; the delivery can be redelivered (delivery ${context.deliveryId ?? 'unknown'})`,
      );
    }
    metrics.addMetric(METRIC.queued, 'Count', 1);
    logger.warn('job queued for launch', { decision: 'launch', reason: result.reason });
    return {
      status: 202,
      message: 'queued for launch: the runner task did not start in time',
      detail: { runnerName },
    };
  }
  metrics.addMetric(METRIC.runTaskFailures, 'Count', 1);
  logger.warn('runner task not started', { reason: result.reason });
  throw new ServiceUnavailableError(
    `the runner task did not start in time; the delivery can be redelivered (delivery ${context.deliveryId ?? 'unknown'})`,
  );
}
