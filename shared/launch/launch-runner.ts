import type { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from '../config';
import type { LaunchOutcome, RunnerLauncher } from '../ecs/launcher';
import { buildRunTaskRequest } from '../ecs/run-task-input';
import { type GitHubRunners, type JitConfig, RunnerExistsError } from '../github/ports';
import type { RunnerPlan } from '../runner/decide';

/** What the launch of one job's runner came to. */
export type RunnerOutcome =
  | { readonly kind: 'started'; readonly taskArn: string; readonly existing: boolean }
  /** GitHub says the job is no longer queued: nothing was started. */
  | { readonly kind: 'not-queued'; readonly reason: string }
  /** No task: the reason says why; the job may be retried (redelivery, overflow queue). */
  | { readonly kind: 'failed'; readonly reason: string };

export interface LaunchRunnerDependencies {
  readonly config: Config;
  readonly launcher: RunnerLauncher;
  /** Present when GitHub credentials are configured. */
  readonly github: GitHubRunners | undefined;
  readonly logger: Logger;
  readonly now: () => number;
}

/** The job fields the launch needs beyond the plan. */
export interface JobRef {
  readonly owner: string;
  readonly repo: string;
  /** When GitHub queued the job (`workflow_job.created_at`), to tell a late delivery. */
  readonly createdAt: string | undefined;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Launches the runner of one planned job, the same way from the webhook and from the overflow
 * queue: a late delivery is first checked against GitHub (a job no longer queued gets nothing);
 * with JIT registration the runner is registered here, so the task carries a one-use config and
 * no admin token, and a registration whose task did not start is deleted again.
 */
export async function launchRunner(
  deps: LaunchRunnerDependencies,
  plan: RunnerPlan,
  job: JobRef,
  deadlineAt: number,
): Promise<RunnerOutcome> {
  const { config, github, logger, now } = deps;
  const signal = () => AbortSignal.timeout(Math.max(1, deadlineAt - now()));
  const stillQueued = async (): Promise<boolean> => {
    if (!github) return true;
    try {
      const state = await github.job(plan.scopeRef, job.owner, job.repo, plan.jobId, signal());
      return state === undefined || state.status === 'queued';
    } catch (error) {
      // Fail open: a runner too many is reaped; a job without a runner waits 24 h.
      logger.warn('could not check whether the job is still queued; launching anyway', {
        reason: message(error),
      });
      return true;
    }
  };

  const queuedAt = job.createdAt === undefined ? Number.NaN : Date.parse(job.createdAt);
  const late = Number.isNaN(queuedAt) || now() - queuedAt > config.jobQueuedCheckAfterSeconds * 1000;
  if (github && late && !(await stillQueued())) {
    return { kind: 'not-queued', reason: 'the job is no longer queued (GitHub says so); nothing to launch' };
  }

  if (config.registration === 'token' || !github) {
    const request = buildRunTaskRequest(config.ecs, plan);
    return fromLaunch(await deps.launcher.launch(request, deadlineAt, { stillWanted: stillQueued }));
  }

  let groupId: number | undefined;
  try {
    groupId = await github.runnerGroupId(
      plan.scopeRef,
      plan.group,
      { create: config.runnerGroupCreate, allowPublicRepositories: config.runnerGroupPublic },
      signal(),
    );
  } catch (error) {
    return { kind: 'failed', reason: `could not look up runner group "${plan.group}": ${message(error)}` };
  }
  if (groupId === undefined) {
    return {
      kind: 'failed',
      reason: `runner group "${plan.group}" does not exist: create it on GitHub, or set RUNNER_GROUP_CREATE=true`,
    };
  }

  const register = () =>
    github.generateJitConfig(
      plan.scopeRef,
      { name: plan.name, labels: plan.labels, runnerGroupId: groupId },
      signal(),
    );
  let jit: JitConfig;
  try {
    jit = await register();
  } catch (error) {
    if (!(error instanceof RunnerExistsError)) {
      return { kind: 'failed', reason: `GitHub did not register the runner: ${message(error)}` };
    }
    // The job's runner is registered already: by a task that serves it, or by an attempt whose
    // task never started (an offline ghost, which is replaced).
    try {
      const existing = await deps.launcher.findTask(buildRunTaskRequest(config.ecs, plan), deadlineAt);
      if (existing !== undefined) return { kind: 'started', taskArn: existing, existing: true };
      const ghost = await github.findRunner(plan.scopeRef, plan.name, signal());
      if (ghost?.busy)
        return { kind: 'failed', reason: `runner ${plan.name} is busy but no task of the job runs` };
      if (ghost) await github.deleteRunner(plan.scopeRef, ghost.id);
      jit = await register();
    } catch (retryError) {
      return {
        kind: 'failed',
        reason: `runner ${plan.name} is registered and could not be replaced: ${message(retryError)}`,
      };
    }
  }

  let outcome: LaunchOutcome;
  try {
    const request = buildRunTaskRequest(config.ecs, plan, {
      kind: 'jit',
      encodedJitConfig: jit.encodedJitConfig,
    });
    outcome = await deps.launcher.launch(request, deadlineAt, { stillWanted: stillQueued });
  } catch (error) {
    outcome = { kind: 'failed', reason: message(error) };
  }
  if (outcome.kind !== 'started' || outcome.existing) {
    // No task of ours will use this registration: delete it, so no offline runner is left behind.
    await github.deleteRunner(plan.scopeRef, jit.runnerId).catch((error: unknown) =>
      logger.error('could not delete an unused JIT registration', {
        runnerId: jit.runnerId,
        reason: message(error),
      }),
    );
  }
  return fromLaunch(outcome);
}

function fromLaunch(outcome: LaunchOutcome): RunnerOutcome {
  return outcome.kind === 'not-needed' ? { kind: 'not-queued', reason: outcome.reason } : outcome;
}
