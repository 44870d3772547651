import type { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from '../config';
import type { LaunchOutcome, RunnerLauncher } from '../ecs/launcher';
import { buildRunTaskRequest, type Registration } from '../ecs/run-task-input';
import { type RunnerConfigStore, runnerConfigKey } from '../ecs/runner-config-store';
import { errorMessage } from '../errors';
import { type GitHubRunners, type JobState, RunnerExistsError } from '../github/ports';
import { type JobLedger, updateRecord } from '../jobs/job-ledger';
import { claimLaunch, type JobRecord, ownsAttempt } from '../jobs/job-record';
import { runnerNameFor } from '../runner/decide';
import type { RunnerPlan } from '../runner/runner-plan';

/** What one launch of a job's runner came to. */
export type LaunchResult =
  | {
      readonly kind: 'started';
      readonly taskArn: string;
      /** The task was there already (a retry of an attempt, or another launcher's). */
      readonly existing: boolean;
      readonly attempt: number;
      readonly runnerName: string;
    }
  /** Nothing to launch: another launcher owns the attempt, or the job moved on (the reason says). */
  | { readonly kind: 'skipped'; readonly reason: string }
  /**
   * No task: the job is back in `queued`. `setup` failures need the operator (`fix`, in our own
   * words: safe to show in GitHub's delivery log), the others time. `reason` is for our logs.
   */
  | { readonly kind: 'failed'; readonly reason: string; readonly setup: boolean; readonly fix: string };

/** The operator's fix for each kind of setup failure: short, our words, no ARNs or raw errors. */
export const SETUP_FIX = {
  github: 'GitHub refused the request: check the credentials and the GitHub App permissions (npm run doctor)',
  ecs: "ECS refused RunTask: check the cluster, the task definition and the functions' permissions (npm run doctor)",
  bucket: 'the runner config bucket refused the write: check RUNNER_CONFIG_BUCKET and its permissions',
  jit: 'JIT registration needs GitHub credentials and RUNNER_CONFIG_BUCKET',
  retry: 'the runner task did not start in time',
} as const;

export interface LaunchDependencies {
  readonly config: Config;
  readonly ledger: JobLedger;
  readonly launcher: RunnerLauncher;
  /** Present with GitHub credentials (or the dry run's printer). */
  readonly github: GitHubRunners | undefined;
  /** Where JIT configs wait for their task; present with JIT registration. */
  readonly configStore: RunnerConfigStore | undefined;
  readonly logger: Logger;
  readonly now: () => number;
}

/** A launcher's lease outlives its deadline by this much, so nobody takes over a launch in flight. */
const LEASE_MARGIN_MS = 30_000;

/**
 * The claim of a launch attempt as a change to the job's record: the attempt, its lease (the
 * launch's deadline and a margin) and its runner's name. Undefined when the record cannot be
 * claimed (not queued, another launcher's lease still runs, attempts exhausted).
 */
export function claimAttempt(
  record: JobRecord,
  plan: RunnerPlan,
  deadlineAt: number,
  at: number,
): JobRecord | undefined {
  const claimed = claimLaunch(record, at, Math.max(0, deadlineAt - at) + LEASE_MARGIN_MS);
  return claimed && { ...claimed, runnerName: claimed.runnerName ?? runnerNameFor(plan, claimed.attempt) };
}

/** GitHub statuses no retry can change: the credentials, the permissions or the request are wrong. */
const SETUP_STATUSES = new Set([401, 403, 404, 422]);

/** Whether a GitHub error needs the operator (not a rate limit, a 5xx or the network). */
export function isGitHubSetupError(error: unknown): boolean {
  const { status, message } = error as { status?: number; message?: string };
  if (status === undefined || !SETUP_STATUSES.has(status)) return false;
  return !(status === 403 && /rate limit/i.test(message ?? ''));
}

const isAwsSetupError = (error: unknown) =>
  /AccessDenied|NoSuchBucket|InvalidAccessKeyId|SignatureDoesNotMatch/.test(
    (error as { name?: string }).name ?? '',
  );

/**
 * Launches the current attempt of a queued job, the same way from the webhook, the overflow
 * launcher and the reconciler: claim the attempt in the ledger (the per-job lock), check a late
 * job is still queued, register its runner (JIT: the config goes to S3, never into the request),
 * start the task under the attempt's clientToken, and record it. A registration is never deleted
 * after an ambiguous RunTask (timeout, abort, 5xx): the next try of the same attempt reuses the
 * token, so ECS answers with the task it may have started.
 */
export async function launchJob(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  deadlineAt: number,
  options: {
    readonly checkQueued: 'late' | 'always';
    /** The record as the caller just wrote or read it: the claim skips a read. */
    readonly record?: JobRecord | undefined;
    /** The caller claimed the attempt ({@link claimAttempt}) in the write it just made: no claim here. */
    readonly claimed?: boolean;
  } = { checkQueued: 'late' },
): Promise<LaunchResult> {
  const { config, ledger, github, logger, now } = deps;
  // One timer for the launch's deadline, made when a call first needs it.
  let deadlineSignal: AbortSignal | undefined;
  const signal = () => {
    deadlineSignal ??= AbortSignal.timeout(Math.max(1, deadlineAt - now()));
    return deadlineSignal;
  };
  // The claim names the attempt's runner in the same write.
  const claim =
    options.claimed && options.record
      ? { record: options.record, written: true }
      : await updateRecord(
          ledger,
          plan.jobId,
          (record) => record && claimAttempt(record, plan, deadlineAt, now()),
          signal(),
          options.record,
        );
  if (!claim.written || claim.record === undefined) return alreadyHandled(claim.record);
  let attempt: JobRecord = claim.record;
  const runnerName = attempt.runnerName ?? runnerNameFor(plan, attempt.attempt);

  /** Writes the attempt's progress while this launcher still owns it; false when it lost the lease. */
  const advance = async (changes: Partial<JobRecord>): Promise<boolean> => {
    const owned = attempt;
    // The launcher wrote `attempt` last: the write's condition catches anyone since.
    const result = await updateRecord(
      ledger,
      plan.jobId,
      (record) =>
        record && ownsAttempt(record, owned) ? { ...record, ...changes, updatedAt: now() } : undefined,
      undefined,
      owned,
    );
    if (result.written && result.record) attempt = result.record;
    return result.written;
  };
  const release = async (reason: string, fix: string | undefined): Promise<LaunchResult> => {
    await advance({ state: 'queued', leaseUntil: undefined, lastError: reason }).catch((error: unknown) =>
      logger.warn('could not release the launch attempt; its lease runs out', {
        reason: errorMessage(error),
      }),
    );
    return { kind: 'failed', reason, setup: fix !== undefined, fix: fix ?? SETUP_FIX.retry };
  };

  const late =
    options.checkQueued === 'always' || now() - attempt.queuedAt > config.jobQueuedCheckAfterSeconds * 1000;
  if (github && late) {
    const state = await jobState(deps, plan, signal());
    // Only a job that started or finished needs no runner (GitHub also says `pending`, `requested`, `waiting`).
    if (state !== undefined && (state.status === 'in_progress' || state.status === 'completed')) {
      await settleFromGitHub(deps, plan.jobId, state);
      return { kind: 'skipped', reason: `the job is ${state.status} on GitHub; nothing to launch` };
    }
  }

  let registration: Registration = { kind: 'token' };
  if (config.registration === 'jit') {
    const store = deps.configStore;
    if (!github || !store) {
      return release('JIT registration needs GitHub credentials and RUNNER_CONFIG_BUCKET', SETUP_FIX.jit);
    }
    const configKey = attempt.configKey ?? runnerConfigKey(plan.jobId, attempt.attempt);
    if (attempt.runnerId === undefined) {
      const registered = await registerRunner(deps, plan, runnerName, signal);
      if ('failure' in registered) return release(registered.failure, registered.fix);
      try {
        await store.put(configKey, registered.encodedJitConfig, signal());
      } catch (error) {
        // No task can use this registration: nothing was started with it.
        await github.deleteRunner(plan.scopeRef, registered.runnerId, signal()).catch(() => undefined);
        return release(
          `could not write the runner's config to S3: ${errorMessage(error)}`,
          isAwsSetupError(error) ? SETUP_FIX.bucket : undefined,
        );
      }
      const recorded = await advance({ runnerName, runnerId: registered.runnerId, configKey }).catch(
        () => false,
      );
      if (!recorded) {
        // Another launcher took the attempt over before any task was started with this registration.
        await github.deleteRunner(plan.scopeRef, registered.runnerId, signal()).catch(() => undefined);
        await store.delete(configKey).catch(() => undefined);
        return { kind: 'skipped', reason: 'another launcher took the attempt over' };
      }
    }
    registration = { kind: 'jit', environmentFileArn: store.arn(configKey) };
  }

  let outcome: LaunchOutcome;
  try {
    const request = buildRunTaskRequest(plan, { number: attempt.attempt, runnerName }, registration);
    outcome = await deps.launcher.launch(request, deadlineAt, {
      stillWanted: async () => !github || (await jobState(deps, plan, signal()))?.status !== 'completed',
    });
  } catch (error) {
    outcome = { kind: 'failed', reason: errorMessage(error), retryable: false };
  }
  if (outcome.kind === 'started') {
    const { taskArn } = outcome;
    const recorded = await advance({
      state: 'task-started',
      taskArn,
      taskStartedAt: now(),
      leaseUntil: undefined,
      lastError: undefined,
    }).catch((error: unknown) => {
      // The task exists; the lease runs out and the next try of this attempt finds it by its token.
      logger.warn('task started but not recorded', { taskArn, reason: errorMessage(error) });
      return false;
    });
    return {
      kind: 'started',
      taskArn,
      existing: outcome.existing || !recorded,
      attempt: attempt.attempt,
      runnerName,
    };
  }
  if (outcome.kind === 'not-needed') {
    await release(outcome.reason, undefined);
    return { kind: 'skipped', reason: outcome.reason };
  }
  return release(outcome.reason, outcome.retryable ? undefined : SETUP_FIX.ecs);
}

/** Why a claim found nothing to do, from the record as it is. */
function alreadyHandled(record: JobRecord | undefined): LaunchResult {
  if (record === undefined) return { kind: 'skipped', reason: 'the job has no ledger record' };
  if (record.state === 'task-started' && record.taskArn !== undefined) {
    return {
      kind: 'started',
      taskArn: record.taskArn,
      existing: true,
      attempt: record.attempt,
      runnerName: record.runnerName ?? '',
    };
  }
  if (record.exhausted)
    return { kind: 'skipped', reason: `every launch attempt (${record.attempt}) was lost` };
  if (record.state === 'launching')
    return { kind: 'skipped', reason: 'another launcher is starting its task' };
  return { kind: 'skipped', reason: `the job is ${record.state}` };
}

async function jobState(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  signal: AbortSignal,
): Promise<JobState | undefined> {
  const [owner = '', repo = ''] = plan.repository.split('/');
  try {
    return await deps.github?.job(plan.scopeRef, owner, repo, plan.jobId, signal);
  } catch (error) {
    // Fail open: a runner too many is stopped by the reconciler; a job without one waits 24 h.
    deps.logger.warn('could not check whether the job is still queued; launching anyway', {
      reason: errorMessage(error),
    });
    return undefined;
  }
}

/** Moves a record to what GitHub says of its job (`in_progress` or `completed`). */
export async function settleFromGitHub(
  deps: Pick<LaunchDependencies, 'ledger' | 'now'>,
  jobId: number,
  state: JobState,
): Promise<void> {
  await updateRecord(deps.ledger, jobId, (record) => {
    if (record === undefined || record.state === 'done') return undefined;
    const now = deps.now();
    const runner = state.runnerName ?? record.jobRunner;
    if (state.status === 'completed') {
      return {
        ...record,
        state: 'done',
        doneAt: now,
        leaseUntil: undefined,
        jobRunner: runner,
        updatedAt: now,
      };
    }
    if (state.status === 'in_progress' && record.state !== 'running') {
      return {
        ...record,
        state: 'running',
        jobStartedAt: now,
        leaseUntil: undefined,
        jobRunner: runner,
        updatedAt: now,
      };
    }
    return undefined;
  });
}

/** Registers the attempt's runner (JIT) in its group; replaces an offline one of the same name. */
async function registerRunner(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  runnerName: string,
  signal: () => AbortSignal,
): Promise<{ runnerId: number; encodedJitConfig: string } | { failure: string; fix: string | undefined }> {
  const github = deps.github as GitHubRunners;
  let groupId: number | undefined;
  try {
    groupId = await github.runnerGroupId(
      plan.scopeRef,
      plan.group,
      {
        create: deps.config.runnerGroupCreate,
        allowPublicRepositories: deps.config.runnerGroupPublic,
        repositoryId: plan.groupPerRepository ? plan.repositoryId : undefined,
      },
      signal(),
    );
  } catch (error) {
    return {
      failure: `could not look up runner group "${plan.group}": ${errorMessage(error)}`,
      fix: isGitHubSetupError(error) ? SETUP_FIX.github : undefined,
    };
  }
  if (groupId === undefined) {
    return {
      failure: `runner group "${plan.group}" does not exist`,
      // The group's name is ours (a template of safe values): it may be shown.
      fix: `runner group "${plan.group}" does not exist: create it on GitHub, or set RUNNER_GROUP_CREATE=true`,
    };
  }
  const runner = { name: runnerName, labels: plan.labels, runnerGroupId: groupId };
  const register = () => github.generateJitConfig(plan.scopeRef, runner, signal());
  try {
    return await register();
  } catch (error) {
    if (!(error instanceof RunnerExistsError)) {
      return {
        failure: `GitHub did not register the runner: ${errorMessage(error)}`,
        fix: isGitHubSetupError(error) ? SETUP_FIX.github : undefined,
      };
    }
  }
  // The name is this attempt's own: a registration left by a launcher that died before it
  // recorded it, so before any RunTask. Replaced, unless a runner of that name is at work.
  try {
    const existing = await github.findRunner(plan.scopeRef, runnerName, signal());
    // Online or busy: a task of this attempt runs it (its start outran our record). Never deleted.
    if (existing && (existing.busy || existing.status !== 'offline')) {
      return {
        failure: `runner ${runnerName} is registered and ${existing.busy ? 'busy' : 'online'}`,
        fix: undefined,
      };
    }
    if (existing) await github.deleteRunner(plan.scopeRef, existing.id, signal());
    return await register();
  } catch (error) {
    return {
      failure: `runner ${runnerName} is registered and could not be replaced: ${errorMessage(error)}`,
      fix: isGitHubSetupError(error) ? SETUP_FIX.github : undefined,
    };
  }
}
