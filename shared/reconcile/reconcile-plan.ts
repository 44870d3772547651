import { stopReasonOf } from '../ecs/runner-exit';
import { isStopped, isWaiting, type TaskFacts } from '../ecs/runner-tasks';
import type { JobEvent } from '../jobs/job-lifecycle';
import { hasLiveAttempt, type JobRecord } from '../jobs/job-record';

/** What GitHub said of a job this round; `unknown`: no answer (an outage, a timeout). */
export interface GitHubWord {
  readonly status: 'queued' | 'waiting' | 'in_progress' | 'completed' | 'gone' | 'unknown' | 'other';
  readonly runnerName?: string | null | undefined;
}

/** One step of a job's plan, carried out in order; a step that is vetoed ends the plan. */
export type Step =
  /** Commit a lifecycle event over the record as planned (a record changed since is left for the next round). */
  | { readonly kind: 'commit'; readonly event: JobEvent }
  /** Claim and launch an attempt (the launch path's own checks and writes). */
  | { readonly kind: 'launch'; readonly checkQueued: 'never' | 'always' }
  /**
   * Stop the attempt's task, only on positive evidence that its runner runs no job: the task never
   * got far enough to register, or its runner was found, is not busy, and GitHub accepted its
   * deletion. Vetoed otherwise: the rest of the plan waits for a later round.
   */
  | {
      readonly kind: 'stop-runner';
      readonly reason: string;
      /**
       * Its runner ran its job to the end (GitHub said so): an ephemeral runner takes no second job,
       * and GitHub deregisters it, so no look-up can find it. That answer is the positive evidence.
       */
      readonly finished?: true;
    }
  /** Delete the attempt's registration and config object (its task is gone or stopped). */
  | { readonly kind: 'clean-up' }
  /** Delete the attempt's config object (ECS has read it: the task runs). */
  | { readonly kind: 'delete-config' };

/** A job's plan for this round: why, and the steps. No steps: nothing to do. */
export interface JobPlan {
  readonly reason: string;
  readonly steps: readonly Step[];
  /** The job counts as stuck this round (queued this long, no task of it running). */
  readonly stuck: boolean;
  /** The plan relaunches a job whose attempt was lost. */
  readonly relaunch?: boolean;
}

/** The reconciler's fixed timings (its bounds that an operator sets are in the configuration). */
export const RECONCILE_TIMING = {
  /** A recorded task invisible to DescribeTasks this long counts as lost (eventual consistency). */
  missingGraceMs: 2 * 60_000,
  /** An ephemeral runner that ran its job has this long to exit by itself. */
  exitGraceMs: 5 * 60_000,
  /** How often GitHub is asked about one job that waits (queued, for approval): GitHub's rate limit is shared. */
  jobCheckMs: 3 * 60_000,
  /** How often GitHub is asked about a job that runs on a runner we do not watch (its `completed` may be lost). */
  runningCheckMs: 10 * 60_000,
  /** A job runs at most 5 days on a self-hosted runner (GitHub's limit); a record older than this closes. */
  maxJobMs: 5 * 24 * 60 * 60_000 + 60 * 60_000,
} as const;

export interface PlanContext {
  readonly now: number;
  /** How long a task may wait for capacity before it is replaced. */
  readonly capacityWaitMs: number;
  readonly stuckAfterMs: number;
  /** How long GitHub may not answer about a job whose task ran and stopped before it is relaunched anyway. */
  readonly unknownRelaunchMs: number;
  readonly maxAttempts: number;
  readonly timing: typeof RECONCILE_TIMING;
}

/** What the plan knows of one job beside its record. */
export interface JobView {
  readonly record: JobRecord;
  /** What DescribeTasks says of the attempt's task; undefined: ECS does not show it. */
  readonly task: TaskFacts | undefined;
  /** What GitHub said this round; undefined: not asked (not due, or the round's budget is spent). */
  readonly github: GitHubWord | undefined;
  /** Another job of its run still waits for a runner: an idle runner of the run may take it. */
  readonly runWaits: boolean;
}

const since = (now: number, time: number | undefined, fallback: number) => now - (time ?? fallback);

/** Whether the attempt's task is gone: stopped, or invisible to ECS past the grace of eventual consistency. */
function attemptGone(record: JobRecord, task: TaskFacts | undefined, context: PlanContext): boolean {
  if (!hasLiveAttempt(record)) return false;
  if (task !== undefined) return isStopped(task);
  return since(context.now, record.taskStartedAt, record.updatedAt) > context.timing.missingGraceMs;
}

/** Whether a job counts as stuck: queued this long and no task of it RUNNING. */
export function isStuck(
  record: JobRecord,
  task: TaskFacts | undefined,
  now: number,
  stuckAfterMs: number,
): boolean {
  if (now - record.queuedAt <= stuckAfterMs) return false;
  if (record.state === 'queued' || record.state === 'launching') return true;
  return record.state === 'task-started' && (task === undefined || task.lastStatus !== 'RUNNING');
}

/**
 * Whether the plan of this job needs GitHub's word this round, and asking is due (the same job is
 * asked at most every few minutes; the first question after its task was lost is due at once).
 */
export function asksGitHub(record: JobRecord, task: TaskFacts | undefined, context: PlanContext): boolean {
  const { now, timing } = context;
  const checked = record.githubCheckedAt;
  const due = (every: number) => checked === undefined || now - checked >= every;
  const gone = attemptGone(record, task, context);
  switch (record.state) {
    case 'waiting':
      return due(timing.jobCheckMs);
    case 'queued':
      return record.taskUnknownSince === undefined && (record.retryAt ?? 0) <= now && due(timing.jobCheckMs);
    case 'launching':
      return false;
    case 'task-started':
      // After a task that ran was lost, GitHub says whether its job started (`in_progress` lost).
      return (
        gone && (checked === undefined || checked < (record.taskStartedAt ?? 0) || due(timing.jobCheckMs))
      );
    case 'running': {
      const ours = record.jobRunner === undefined || record.jobRunner === record.runnerName;
      if (hasLiveAttempt(record) && ours) return gone && due(timing.jobCheckMs);
      // A job on a runner we do not watch: asked a while after it started, then every so often.
      const since = checked ?? record.jobStartedAt ?? record.updatedAt;
      return !hasLiveAttempt(record) && now - since >= timing.runningCheckMs;
    }
    case 'done':
      return false;
  }
}

const commit = (event: JobEvent): Step => ({ kind: 'commit', event });
const plan = (reason: string, steps: readonly Step[], stuck: boolean, relaunch = false): JobPlan => ({
  reason,
  steps,
  stuck,
  ...(relaunch && { relaunch }),
});

/**
 * Decides one open job's steps for this round from its record, its task as ECS shows it, and
 * GitHub's word when it was asked. Pure. It never plans to stop a runner without a `stop-runner`
 * step, which is carried out only on positive evidence that the runner is idle.
 */
export function planJob(view: JobView, context: PlanContext): JobPlan {
  const { record, task, github } = view;
  const { now, timing } = context;
  const stuck = isStuck(record, task, now, context.stuckAfterMs);
  const live = hasLiveAttempt(record);
  const gone = attemptGone(record, task, context);
  const stopReason = stopReasonOf(task);
  const ended = (reason: string, relaunch: boolean, failed: boolean, capacity = false): Step =>
    commit({
      type: 'attempt-ended',
      attempt: record.attempt,
      reason,
      relaunch,
      failed,
      maxAttempts: context.maxAttempts,
      ...(capacity && { capacity }),
    });
  const says = (word: GitHubWord): Step =>
    commit({ type: 'github-says', status: word.status, runnerName: word.runnerName });
  const settled = github && ['in_progress', 'completed', 'gone'].includes(github.status);

  switch (record.state) {
    case 'waiting': {
      if (live && !gone) {
        if (github?.status === 'waiting') {
          return plan(
            'the job waits for approval: a waiting job holds no runner',
            [
              says(github),
              { kind: 'stop-runner', reason: 'its job waits for approval' },
              { kind: 'clean-up' },
              ended('its job waits for approval', false, false),
            ],
            stuck,
          );
        }
        if (github?.status === 'queued') {
          // A `waiting` delivery that came after the approval, and the attempt's task is there.
          return plan(
            'queued on GitHub, with its task',
            [commit({ type: 'github-says', status: 'queued', keepTask: true })],
            stuck,
          );
        }
        if (github && github.status !== 'unknown')
          return plan(`${github.status} on GitHub`, [says(github)], stuck);
        return plan(
          "waits for approval; without GitHub's word its runner is left alone",
          github ? [says(github)] : [],
          stuck,
        );
      }
      if (gone) {
        // The task died while the job waits: its attempt is over, and the approval gets a new one.
        return plan(
          `its task stopped while the job waits: ${stopReason}`,
          [{ kind: 'clean-up' }, ended(stopReason, false, false)],
          stuck,
        );
      }
      if (github?.status === 'queued') {
        return plan('approved on GitHub', [says(github), { kind: 'launch', checkQueued: 'never' }], stuck);
      }
      return plan('waits for approval', github ? [says(github)] : [], stuck);
    }

    case 'queued': {
      if (record.taskUnknownSince !== undefined) {
        return plan(
          'a task of the attempt may exist unseen: look for it',
          [{ kind: 'launch', checkQueued: 'never' }],
          stuck,
        );
      }
      if ((record.retryAt ?? 0) > now) {
        return plan(`backing off until ${new Date(record.retryAt ?? 0).toISOString()}`, [], stuck);
      }
      if (github && (settled || github.status === 'waiting')) {
        return plan(`${github.status} on GitHub`, [says(github)], stuck);
      }
      const asked = github ? [says(github)] : [];
      return plan('queued without a task', [...asked, { kind: 'launch', checkQueued: 'never' }], stuck);
    }

    case 'launching':
      if ((record.leaseUntil ?? 0) > now) return plan('a launcher owns the attempt', [], stuck);
      return plan(
        'the launcher of the attempt stopped before it finished',
        [{ kind: 'launch', checkQueued: 'never' }],
        stuck,
      );

    case 'task-started': {
      if (!live) return plan('no task recorded', [{ kind: 'launch', checkQueued: 'never' }], stuck);
      if (gone) {
        const ran = record.taskRunningAt !== undefined || task?.startedAt !== undefined;
        const lost = `task lost before its job started: ${stopReason}`;
        if (github && settled)
          return plan(
            `${github.status} on GitHub`,
            [says(github), { kind: 'clean-up' }, ended(stopReason, false, true)],
            stuck,
          );
        const relaunch = (reason: string) =>
          plan(
            reason,
            [
              ...(github ? [says(github)] : []),
              { kind: 'clean-up' },
              ended(stopReason, true, true),
              { kind: 'launch', checkQueued: 'never' },
            ],
            stuck,
            true,
          );
        // A task that never ran had no runner: its job cannot have started on it.
        if (!ran) return relaunch(lost);
        if (github === undefined) return plan(`${lost}; GitHub not asked yet`, [], stuck);
        if (github.status !== 'unknown') return relaunch(lost);
        // The task ran: its job may have run on it and its `in_progress` been lost. Without GitHub's
        // word the record is kept, up to the operator's bound.
        const unknownSince = record.githubUnknownSince ?? now;
        if (now - unknownSince >= context.unknownRelaunchMs) {
          return relaunch(
            `${lost}; GitHub has not answered for ${Math.round((now - unknownSince) / 1000)} s`,
          );
        }
        return plan(`${lost}; GitHub does not answer: kept`, [says(github)], stuck);
      }
      if (task === undefined) return plan('the task is not visible yet', [], stuck);
      if (isWaiting(task)) {
        if (since(now, record.taskStartedAt, record.updatedAt) > context.capacityWaitMs) {
          const reason = `the task waited for capacity longer than ${Math.round(context.capacityWaitMs / 1000)} s`;
          // A task that never ran is no failed attempt: the job is replaced, never given up.
          return plan(
            reason,
            [
              { kind: 'stop-runner', reason },
              { kind: 'clean-up' },
              ended(reason, true, false, true),
              { kind: 'launch', checkQueued: 'never' },
            ],
            stuck,
            true,
          );
        }
        return plan(`the task is ${task.lastStatus}`, [], stuck);
      }
      if (record.taskRunningAt === undefined) {
        // A standby ran before its job claimed it, and reads (then deletes) the config itself: the
        // config may still wait for its read, and the runner's start is the claim's.
        const startedAt = record.standby
          ? Math.max(task.startedAt ?? now, record.taskStartedAt ?? now)
          : (task.startedAt ?? now);
        return plan(
          'the task runs',
          [
            ...(record.standby ? [] : [{ kind: 'delete-config' } as const]),
            commit({ type: 'task-running', attempt: record.attempt, startedAt }),
          ],
          stuck,
        );
      }
      return plan('the runner waits for its job', [], stuck);
    }

    case 'running': {
      const ours = record.jobRunner === undefined || record.jobRunner === record.runnerName;
      if (live && ours) {
        if (!gone) return plan('our runner runs the job', [], stuck);
        if (github === undefined)
          return plan(`the task of the runner that runs the job stopped: ${stopReason}`, [], stuck);
        if (github.status === 'completed' || github.status === 'gone') {
          return plan(
            `${github.status} on GitHub`,
            [says(github), { kind: 'clean-up' }, ended(stopReason, false, true)],
            stuck,
          );
        }
        return plan(`its task stopped; the job is ${github.status} on GitHub`, [says(github)], stuck);
      }
      if (live) {
        if (gone) return plan(stopReason, [{ kind: 'clean-up' }, ended(stopReason, false, false)], stuck);
        if (view.runWaits)
          return plan(
            `its job was taken by runner ${record.jobRunner}, but a job of its run still waits`,
            [],
            stuck,
          );
        const reason = `its job was taken by runner ${record.jobRunner}`;
        return plan(
          reason,
          [{ kind: 'stop-runner', reason }, { kind: 'clean-up' }, ended(reason, false, false)],
          stuck,
        );
      }
      if (since(now, record.jobStartedAt, record.updatedAt) > timing.maxJobMs) {
        return plan(
          'running longer than GitHub lets a job run',
          [commit({ type: 'github-says', status: 'gone' })],
          stuck,
        );
      }
      if (github && github.status !== 'in_progress')
        return plan(`${github.status} on GitHub`, [says(github)], stuck);
      return plan('running on another runner', github ? [says(github)] : [], stuck);
    }

    case 'done': {
      if (!live) {
        // An attempt that ended cleaned up then; one that never got a task may have left a registration.
        const cleanUp: Step[] = record.attemptEnded ? [] : [{ kind: 'clean-up' }];
        return plan('done', [...cleanUp, commit({ type: 'closed', reason: 'done' })], stuck);
      }
      if (gone) return plan(stopReason, [{ kind: 'clean-up' }, ended(stopReason, false, false)], stuck);
      const ranIt = record.jobRunner !== undefined && record.jobRunner === record.runnerName;
      if (ranIt && since(now, record.doneAt, record.updatedAt) < timing.exitGraceMs) {
        return plan('its runner ran the job and is exiting', [], stuck);
      }
      if (view.runWaits && !ranIt)
        return plan('its job is done, but a job of its run still waits', [], stuck);
      const reason = ranIt ? 'its runner did not exit after the job' : 'its job is done';
      return plan(
        reason,
        [
          { kind: 'stop-runner', reason, ...(ranIt && { finished: true as const }) },
          { kind: 'clean-up' },
          ended(reason, false, false),
        ],
        stuck,
      );
    }
  }
}
