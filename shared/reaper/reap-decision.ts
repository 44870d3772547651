import type { RunnerScopeRef } from '../github/ports';

/** A runner task as the reaper sees it: from its tags, overrides and ECS state. */
export interface RunnerTask {
  readonly taskArn: string;
  readonly jobId: number;
  readonly runId: number;
  readonly repository: string;
  readonly runnerName: string;
  /** The labels the runner registers with (`RUNNER_LABELS` of the override). */
  readonly labels: readonly string[];
  readonly scopeRef: RunnerScopeRef;
  /** Epoch ms the task was created. */
  readonly createdAt: number;
}

/** What GitHub says about the task's runner and its job. */
export interface RunnerFacts {
  /** Undefined: no runner of that name is registered. */
  readonly runner: { readonly status: string; readonly busy: boolean } | undefined;
  /** Undefined: GitHub does not know the job (or was not asked). */
  readonly job: { readonly status: string; readonly runnerName: string | null } | undefined;
  /** Jobs of the task's run still queued that this runner could take (any runner of a run can take any of its jobs). */
  readonly queuedJobsItCanTake: number;
}

export type ReapDecision =
  | { readonly kind: 'keep'; readonly reason: string }
  | { readonly kind: 'stop'; readonly reason: string };

/**
 * Whether a runner task should be stopped. Never a busy runner. An idle one goes when its job no
 * longer needs it (completed, or taken by another runner) and no other job of its run is waiting
 * that it could take; or when it has been up longer than the idle timeout without work (idle,
 * offline, or never registered). Pure.
 */
export function reapDecision(
  task: RunnerTask,
  facts: RunnerFacts,
  now: number,
  idleTimeoutMs: number,
): ReapDecision {
  const { runner, job } = facts;
  if (runner?.busy) return { kind: 'keep', reason: 'busy with a job' };
  const jobGone =
    job?.status === 'completed'
      ? 'its job is completed'
      : job?.status === 'in_progress' && job.runnerName !== null && job.runnerName !== task.runnerName
        ? `its job was taken by runner ${job.runnerName}`
        : undefined;
  if (jobGone !== undefined) {
    if (facts.queuedJobsItCanTake > 0)
      return { kind: 'keep', reason: `${jobGone}, but a job of its run is still queued` };
    return { kind: 'stop', reason: `${jobGone} and no job of its run waits for it` };
  }
  const ageMs = now - task.createdAt;
  if (ageMs <= idleTimeoutMs) return { kind: 'keep', reason: 'within the idle timeout' };
  const state = runner === undefined ? 'never registered' : runner.status === 'offline' ? 'offline' : 'idle';
  return {
    kind: 'stop',
    reason: `${state} for longer than the idle timeout (${Math.round(ageMs / 60_000)} min up)`,
  };
}
