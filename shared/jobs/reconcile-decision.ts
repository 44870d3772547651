import { isStopped, isWaiting, type TaskFacts } from '../ecs/runner-tasks';
import type { JobRecord } from './job-record';

/** What the reconciler does for one open job this round. */
export type ReconcileAction =
  | { readonly kind: 'none'; readonly reason: string }
  /** Claim and launch the job's attempt (after GitHub confirms the job is still queued). */
  | { readonly kind: 'launch'; readonly reason: string }
  /** The task is RUNNING: note when, and delete its config object (ECS has read it). */
  | { readonly kind: 'observe-running'; readonly startedAt: number }
  /**
   * The attempt is over: its task stopped, was lost, or must go (a job waiting for approval, a
   * wait for capacity past its bound). `next`: what the job becomes.
   */
  | {
      readonly kind: 'end-attempt';
      readonly reason: string;
      readonly next: 'relaunch' | 'wait' | 'keep';
      /** The task waited for capacity too long: the next attempt takes the fallback capacity. */
      readonly capacity?: true;
      /** Ask GitHub first: the job may have started (an `in_progress` delivery lost or late). */
      readonly verifyJob: boolean;
    }
  /** The task's runner is not needed by its job (done, or taken by another runner): stop it if idle. */
  | { readonly kind: 'stop-spare'; readonly reason: string }
  /** Our runner ran the job and its task stopped without a `completed` delivery: ask GitHub. */
  | { readonly kind: 'check-job'; readonly reason: string }
  /** Nothing is left to do: the record closes. */
  | { readonly kind: 'close' };

/** The reconciler's fixed timings (its bounds that an operator sets are in the configuration). */
export const RECONCILE_TIMING = {
  /** A recorded task invisible to DescribeTasks this long counts as lost (eventual consistency). */
  missingGraceMs: 2 * 60_000,
  /** An ephemeral runner that ran its job has this long to exit by itself. */
  exitGraceMs: 5 * 60_000,
  /** How often GitHub is asked whether a job waiting for approval is queued again. */
  waitingCheckMs: 2 * 60_000,
} as const;

export interface ReconcileContext {
  readonly now: number;
  /** How long a task may wait for capacity before it is replaced. */
  readonly capacityWaitMs: number;
  /** How long a recorded task may be invisible to DescribeTasks before it counts as lost. */
  readonly missingGraceMs: number;
  /** How long an ephemeral runner that ran its job has to exit by itself. */
  readonly exitGraceMs: number;
  /** How often GitHub is asked whether a job waiting for approval is queued again. */
  readonly waitingCheckMs: number;
}

/**
 * Decides the next step of one open job from its record and what ECS says of its task (undefined:
 * ECS does not show it). Pure. It never decides to stop a runner that runs a job: `stop-spare` and
 * `end-attempt` of a live task are carried out only after the runner is found idle.
 */
export function reconcileDecision(
  record: JobRecord,
  task: TaskFacts | undefined,
  context: ReconcileContext,
): ReconcileAction {
  const { now } = context;
  const hasAttempt = record.taskArn !== undefined && !record.attemptEnded;
  const since = (time: number | undefined) => now - (time ?? record.updatedAt);
  const gone =
    hasAttempt &&
    (task === undefined ? since(record.taskStartedAt) > context.missingGraceMs : isStopped(task));
  const stopReason = task?.stoppedReason ?? 'the task is no longer known to ECS';

  switch (record.state) {
    case 'waiting':
      // GitHub is asked first: a `waiting` delivery may be a late one, after the approval.
      if (hasAttempt && !gone) {
        return {
          kind: 'end-attempt',
          reason: 'the job waits for approval: a waiting job holds no runner',
          next: 'wait',
          verifyJob: true,
        };
      }
      if (since(record.updatedAt) > context.waitingCheckMs) {
        return { kind: 'check-job', reason: 'waits for approval: is it queued again?' };
      }
      return { kind: 'none', reason: 'waits for approval' };
    case 'queued':
      if (record.exhausted)
        return { kind: 'none', reason: `every launch attempt (${record.attempt}) was lost` };
      return { kind: 'launch', reason: 'queued without a task' };
    case 'launching':
      if ((record.leaseUntil ?? 0) > now) return { kind: 'none', reason: 'a launcher owns the attempt' };
      return { kind: 'launch', reason: 'the launcher of the attempt stopped before it finished' };
    case 'task-started':
      if (!hasAttempt) return { kind: 'launch', reason: 'no task recorded' };
      if (gone)
        return {
          kind: 'end-attempt',
          reason: `task lost before its job started: ${stopReason}`,
          next: 'relaunch',
          verifyJob: true,
        };
      if (task === undefined) return { kind: 'none', reason: 'the task is not visible yet' };
      if (isWaiting(task)) {
        if (since(record.taskStartedAt) > context.capacityWaitMs) {
          return {
            kind: 'end-attempt',
            reason: `the task waited for capacity longer than ${Math.round(context.capacityWaitMs / 1000)} s`,
            next: 'relaunch',
            verifyJob: true,
            capacity: true,
          };
        }
        return { kind: 'none', reason: `the task is ${task.lastStatus}` };
      }
      if (record.taskRunningAt === undefined)
        return { kind: 'observe-running', startedAt: task.startedAt ?? now };
      return { kind: 'none', reason: 'the runner waits for its job' };
    case 'running': {
      if (!hasAttempt) return { kind: 'none', reason: 'running on another runner' };
      const ours = record.jobRunner === undefined || record.jobRunner === record.runnerName;
      if (ours) {
        return gone
          ? { kind: 'check-job', reason: `the task of the runner that runs the job stopped: ${stopReason}` }
          : { kind: 'none', reason: 'our runner runs the job' };
      }
      if (gone) return { kind: 'end-attempt', reason: stopReason, next: 'keep', verifyJob: false };
      return { kind: 'stop-spare', reason: `its job was taken by runner ${record.jobRunner}` };
    }
    case 'done': {
      if (!hasAttempt) return { kind: 'close' };
      if (gone) return { kind: 'end-attempt', reason: stopReason, next: 'keep', verifyJob: false };
      const ranIt = record.jobRunner !== undefined && record.jobRunner === record.runnerName;
      if (ranIt && since(record.doneAt) < context.exitGraceMs) {
        return { kind: 'none', reason: 'its runner ran the job and is exiting' };
      }
      return {
        kind: 'stop-spare',
        reason: ranIt ? 'its runner did not exit after the job' : 'its job is done',
      };
    }
  }
}

/** Whether an open job counts as stuck: queued this long and no task of it RUNNING. */
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
