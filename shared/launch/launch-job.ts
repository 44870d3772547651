import type { Logger } from '@aws-lambda-powertools/logger';
import { type InstanceClaims, pathOf } from '../capacity/instance-claims';
import type { Standby } from '../capacity/instance-record';
import type { Config } from '../config';
import type { LaunchOutcome, RunnerLauncher } from '../ecs/launcher';
import type { InstancePin } from '../ecs/run-task-input';
import { buildRunTaskRequest, type Registration } from '../ecs/run-task-input';
import { type RunnerConfigStore, type RunnerCredential, runnerConfigKey } from '../ecs/runner-config-store';
import { errorMessage } from '../errors';
import { classifyAwsError, classifyGitHubError } from '../failure-kind';
import { type GitHubRunners, type JobState, RunnerExistsError } from '../github/ports';
import { type CommitResult, commit, type JobLedger } from '../jobs/job-ledger';
import type { JobEvent } from '../jobs/job-lifecycle';
import type { JobRecord, Lease } from '../jobs/job-record';
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
   * Owned capacity had no free instance: the job stays queued, the capacity function was asked for
   * one, and launches the job as soon as one registers (the reconciler too, every minute).
   */
  | { readonly kind: 'waiting'; readonly reason: string; readonly group: string }
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
  registration: 'registration needs GitHub credentials and RUNNER_CONFIG_BUCKET',
  retry: 'the runner task did not start in time',
} as const;

export interface LaunchDependencies {
  readonly config: Pick<
    Config,
    | 'registration'
    | 'jobQueuedCheckAfterSeconds'
    | 'reconcile'
    | 'runnerGroupCreate'
    | 'runnerGroupPublic'
    | 'runnerGroupShared'
  >;
  readonly ledger: JobLedger;
  readonly launcher: RunnerLauncher;
  /** Present with GitHub credentials (or the dry run's printer). */
  readonly github: GitHubRunners | undefined;
  /** Where a runner's credential (JIT config or registration token) waits for its task. */
  readonly configStore: RunnerConfigStore | undefined;
  /** With owned capacity: the instances a job's task is pinned to. */
  readonly claims?: InstanceClaims | undefined;
  readonly logger: Logger;
  readonly now: () => number;
}

/** A launcher's lease outlives its deadline by this much, so nobody takes over a launch in flight. */
const LEASE_MARGIN_MS = 30_000;

/**
 * How long ListTasks may take to show a task that RunTask started (eventual consistency): an
 * attempt whose task may exist unseen is only looked for this long, then ended with a fresh
 * registration.
 */
export const TASK_LOOKUP_LAG_MS = 2 * 60_000;

/** RunTask tries per launch under successive tokens, each after `failures[]`. */
const PLACEMENTS_PER_LAUNCH = 2;

/** The claim of an attempt, as the lifecycle event a launcher commits (alone, or after a delivery). */
export const claimEvent = (plan: RunnerPlan, deadlineAt: number, at: number): JobEvent => ({
  type: 'claimed',
  leaseMs: Math.max(0, deadlineAt - at) + LEASE_MARGIN_MS,
  runnerName: (attempt) => runnerNameFor(plan, attempt),
});

const leaseOf = (record: JobRecord): Lease => ({ attempt: record.attempt, leaseUntil: record.leaseUntil });

/**
 * Launches the current attempt of a queued job, the same way from the webhook, the overflow
 * launcher and the reconciler: claim the attempt in the ledger (the per-job lock), check a late
 * job is still queued, register its runner (JIT) or mint a registration token (token mode): either
 * credential goes to S3 under a random name, never into the request,
 * start the task under the attempt's token, and record it. Every step is a lifecycle event. The
 * token moves on only after ECS said `failures[]`, and that is recorded before the next token is
 * used, so a RunTask whose answer was lost is always retried under its own token (ECS answers with
 * the task it started). A registration is never deleted after an ambiguous RunTask.
 */
export async function launchJob(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  deadlineAt: number,
  options: {
    /** Ask GitHub whether the job is still queued: always, only for a job queued long ago, or never (the caller just asked). */
    readonly checkQueued: 'late' | 'always' | 'never';
    /** The record as the caller just wrote or read it: the claim skips a read. */
    readonly record?: JobRecord | undefined;
    /** The caller claimed the attempt ({@link claimEvent}) in the write it just made: no claim here. */
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
  const claim =
    options.claimed && options.record
      ? { record: options.record, written: true }
      : await commit(ledger, plan.jobId, claimEvent(plan, deadlineAt, now()), {
          now,
          signal: signal(),
          known: options.record,
        });
  if (!claim.written || claim.record === undefined) return alreadyHandled(claim.record, now());
  let attempt: JobRecord = claim.record;
  const lease = leaseOf(attempt);
  const runnerName = attempt.runnerName ?? runnerNameFor(plan, attempt.attempt);

  /** Commits an event of this launcher's attempt; false when it lost the lease. */
  const advance = async (event: JobEvent): Promise<boolean> => {
    const result: CommitResult = await commit(ledger, plan.jobId, event, { now, known: attempt });
    if (result.written && result.record) attempt = result.record;
    return result.written;
  };
  // The instance the attempt's task is pinned to (owned capacity), and whether a RunTask named it.
  let pin: InstancePin | undefined;
  let pinSent = false;
  // The claimed instance's standby runner (JIT registration): the job writes its config for it
  // instead of starting a task (docs/capacity.md).
  let standby: Standby | undefined;
  const standbyOf = (instance: { readonly standby?: Standby | undefined }) =>
    config.registration === 'jit' && instance.standby?.taskArn !== undefined ? instance.standby : undefined;
  const holder = () => ({ jobId: plan.jobId, attempt: attempt.attempt, placement: attempt.placement ?? 0 });
  const unpin = async (reason: string) => {
    if (pin !== undefined && !pinSent) await deps.claims?.release(pin.instanceId, holder(), reason);
    pin = undefined;
  };
  const release = async (reason: string, fix: string | undefined): Promise<LaunchResult> => {
    await unpin(reason);
    await advance({ type: 'released', lease, reason }).catch((error: unknown) =>
      logger.warn('could not release the launch attempt; its lease runs out', {
        reason: errorMessage(error),
      }),
    );
    return { kind: 'failed', reason, setup: fix !== undefined, fix: fix ?? SETUP_FIX.retry };
  };
  const started = async (taskArn: string, existing: boolean, standby = false): Promise<LaunchResult> => {
    const recorded = await advance({
      type: 'task-started',
      lease,
      taskArn,
      ...(standby && { standby }),
    }).catch((error: unknown) => {
      // The task exists; the lease runs out and the next try of this attempt finds it by its token.
      logger.warn('task started but not recorded', { taskArn, reason: errorMessage(error) });
      return false;
    });
    return {
      kind: 'started',
      taskArn,
      existing: existing || !recorded,
      attempt: attempt.attempt,
      runnerName,
    };
  };
  const target = { cluster: plan.target.cluster, jobId: plan.jobId, attempt: attempt.attempt };

  // A RunTask of this attempt may have started a task no look-up has shown: no new token until it
  // is found, or the attempt is ended with a fresh registration (then the next attempt launches).
  if (attempt.taskUnknownSince !== undefined) {
    const found = await deps.launcher.findTask(target, deadlineAt).catch(() => undefined);
    if (found !== undefined) return started(found, true);
    if (now() - attempt.taskUnknownSince < TASK_LOOKUP_LAG_MS) {
      return release('a task of the attempt may exist; ECS does not list it yet', undefined);
    }
    if (!(await endUnseenAttempt(deps, plan, attempt, lease))) {
      return release('the unseen task of the attempt may run its runner; still looking', undefined);
    }
    return launchJob(deps, plan, deadlineAt, { checkQueued: 'never' });
  }

  const late =
    options.checkQueued === 'always' ||
    (options.checkQueued === 'late' && now() - attempt.queuedAt > config.jobQueuedCheckAfterSeconds * 1000);
  if (github && late) {
    const state = await jobState(deps, plan, signal());
    // Only a job that started or finished needs no runner (GitHub also says `pending`, `requested`, `waiting`).
    if (state !== undefined && (state.status === 'in_progress' || state.status === 'completed')) {
      // One write: the attempt given back, and what GitHub says of the job.
      await commit(
        ledger,
        plan.jobId,
        [
          { type: 'released', lease, reason: `the job is ${state.status} on GitHub` },
          { type: 'github-says', status: state.status, runnerName: state.runnerName },
        ],
        { now, known: attempt },
      ).catch((error: unknown) =>
        logger.warn('could not record what GitHub says of the job; its lease runs out', {
          reason: errorMessage(error),
        }),
      );
      return { kind: 'skipped', reason: `the job is ${state.status} on GitHub; nothing to launch` };
    }
  }

  // Owned capacity: the attempt's task goes to an instance it claimed, before anything is registered
  // for it (a job that waits for an instance holds no registration meanwhile).
  const group = deps.claims?.groupFor(plan.target.profile, attempt.capacityFallback === true);
  const claimInstance = async (): Promise<LaunchResult | undefined> => {
    if (group === undefined || deps.claims === undefined) return undefined;
    if (attempt.instanceId !== undefined) {
      pin = { instanceId: attempt.instanceId, capacityProvider: group.capacityProvider };
      // A try of the attempt after a lost answer: the RunTask may have named this instance.
      pinSent = true;
      let held: Awaited<ReturnType<InstanceClaims['get']>>;
      try {
        held = await deps.claims.get(attempt.instanceId, signal());
      } catch (error) {
        // Without the record the try cannot tell whether a standby holds the attempt's config: a
        // RunTask beside it would end the instance, the standby's runner with it. The next try reads again.
        return release(`could not read the claimed instance: ${errorMessage(error)}`, undefined);
      }
      const heldStandby = held?.claim?.jobId === plan.jobId && held ? standbyOf(held) : undefined;
      if (heldStandby && (attempt.configKey === undefined || attempt.configKey === heldStandby.configKey))
        standby = heldStandby;
      return undefined;
    }
    const instance = await deps.claims.claim(group, holder(), signal()).catch((error: unknown) => {
      logger.warn('could not claim an instance', { group: group.name, reason: errorMessage(error) });
      return undefined;
    });
    if (instance === undefined) {
      await deps.claims.want(group);
      const reason = `waiting for an instance of ${group.name}: the runner starts when one registers`;
      await advance({ type: 'released', lease, reason }).catch(() => false);
      return { kind: 'waiting', reason, group: group.name };
    }
    pin = { instanceId: instance.instanceId, capacityProvider: group.capacityProvider };
    pinSent = false;
    standby = standbyOf(instance);
    const recorded = await advance({
      type: 'instance-claimed',
      lease,
      instanceId: instance.instanceId,
      path: pathOf(instance, attempt.queuedAt),
    }).catch(() => false);
    if (!recorded) {
      await unpin('the launcher lost its lease');
      return { kind: 'skipped', reason: 'another launcher took the attempt over' };
    }
    return undefined;
  };
  const waited = await claimInstance();
  if (waited !== undefined) return waited;

  const store = deps.configStore;
  if (!github || !store) {
    return release('registration needs GitHub credentials and RUNNER_CONFIG_BUCKET', SETUP_FIX.registration);
  }
  // The attempt's object keeps its name for every try of the attempt: the RunTask request, and so
  // its clientToken's answer, stay the same.
  const configKey = standby?.configKey ?? attempt.configKey ?? runnerConfigKey();
  if (config.registration === 'token') {
    // A fresh token on every try (it lives an hour); the task reads it once, at its start.
    let token: string;
    try {
      token = (await github.createRegistrationToken(plan.scopeRef, signal())).token;
    } catch (error) {
      return release(
        `GitHub did not give a registration token: ${errorMessage(error)}`,
        classifyGitHubError(error) === 'setup' ? SETUP_FIX.github : undefined,
      );
    }
    const stored = await storeCredential(store, configKey, { kind: 'token', value: token }, signal());
    if (stored !== undefined) return release(stored.failure, stored.fix);
    if (attempt.configKey === undefined) {
      const recorded = await advance({ type: 'registered', lease, configKey }).catch(() => false);
      if (!recorded) {
        await store.delete(configKey).catch(() => undefined);
        return { kind: 'skipped', reason: 'another launcher took the attempt over' };
      }
    }
  } else if (attempt.runnerId === undefined) {
    const registered = await registerRunner(deps, plan, runnerName, signal);
    if ('failure' in registered) return release(registered.failure, registered.fix);
    const credential = { kind: 'jit', value: registered.encodedJitConfig } as const;
    // From the write on, the standby may read the config (even a write that answered an error):
    // its instance is this job's, never given back.
    if (standby !== undefined) pinSent = true;
    const stored = await storeCredential(store, configKey, credential, signal());
    if (stored !== undefined) {
      // No task was started with this registration (a standby may have read it: its runner then
      // fails to connect). A fresh bound: the deadline's signal may be what failed the write.
      await github
        .deleteRunner(plan.scopeRef, registered.runnerId, AbortSignal.timeout(5_000))
        .catch(() => undefined);
      if (standby !== undefined && pin !== undefined)
        await deps.claims?.retire(pin.instanceId, 'its standby may hold the config of a failed write');
      return release(stored.failure, stored.fix);
    }
    const recorded = await advance({
      type: 'registered',
      lease,
      runnerId: registered.runnerId,
      configKey,
    }).catch(() => false);
    if (!recorded) {
      // Another launcher took the attempt over before any task was started with this registration.
      await github.deleteRunner(plan.scopeRef, registered.runnerId, signal()).catch(() => undefined);
      await store.delete(configKey).catch(() => undefined);
      return { kind: 'skipped', reason: 'another launcher took the attempt over' };
    }
  }
  if (standby?.taskArn !== undefined && pin !== undefined) {
    // The standby's container reads the config just written and starts the runner: no RunTask.
    await deps.claims?.placed(pin.instanceId, plan.jobId, standby.taskArn);
    const result = await started(standby.taskArn, false, true);
    // No task starts, so no ECS event tells the capacity function a hot instance was taken: we do.
    if (group !== undefined) await deps.claims?.want(group);
    return result;
  }
  const registration: Registration = { kind: config.registration, environmentFileArn: store.arn(configKey) };

  for (let placements = 1; ; placements++) {
    let outcome: LaunchOutcome;
    try {
      const request = buildRunTaskRequest(
        plan,
        { number: attempt.attempt, runnerName, placement: attempt.placement ?? 0 },
        registration,
        pin,
      );
      if (pin !== undefined) pinSent = true;
      outcome = await deps.launcher.launch(request, deadlineAt);
    } catch (error) {
      // The request could not be built (overrides too long): only the operator can fix it.
      outcome = { kind: 'failed', reason: errorMessage(error), failure: 'setup' };
    }
    switch (outcome.kind) {
      case 'started':
        if (pin !== undefined) await deps.claims?.placed(pin.instanceId, plan.jobId, outcome.taskArn);
        return started(outcome.taskArn, false);
      case 'placement-failed': {
        // Recorded before the next token is used: a launcher after us starts from that token.
        const moved = await advance({ type: 'placement-failed', lease, reason: outcome.reason }).catch(
          () => false,
        );
        if (!moved) return { kind: 'skipped', reason: 'another launcher took the attempt over' };
        if (pin !== undefined) {
          // ECS would not place a task on the claimed instance (gone, agent down): it is ended.
          await deps.claims?.retire(pin.instanceId, `ECS placed no task on it: ${outcome.reason}`);
          pin = undefined;
          const waiting = await claimInstance();
          if (waiting !== undefined) return waiting;
        }
        if (placements < PLACEMENTS_PER_LAUNCH && deadlineAt - now() > 1000) continue;
        return release(outcome.reason, undefined);
      }
      case 'conflict': {
        const found = await deps.launcher.findTask(target, deadlineAt).catch(() => undefined);
        if (found !== undefined) {
          if (pin !== undefined) await deps.claims?.placed(pin.instanceId, plan.jobId, found);
          return started(found, true);
        }
        await advance({ type: 'task-unknown', lease, reason: outcome.reason }).catch(() => false);
        return { kind: 'failed', reason: outcome.reason, setup: false, fix: SETUP_FIX.retry };
      }
      case 'failed':
        return release(outcome.reason, outcome.failure === 'setup' ? SETUP_FIX.ecs : undefined);
    }
  }
}

/**
 * Ends an attempt whose task may exist unseen, with positive evidence that no runner of it can
 * take the job: its registration deleted (GitHub refuses to delete a runner at work). Returns
 * whether the attempt ended.
 */
async function endUnseenAttempt(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  attempt: JobRecord,
  lease: Lease,
): Promise<boolean> {
  const { github, ledger, now } = deps;
  const name = attempt.runnerName;
  try {
    const registered = name && github ? await github.findRunner(plan.scopeRef, name) : undefined;
    if (registered?.busy) return false;
    const id = registered?.id ?? attempt.runnerId;
    if (id !== undefined) await github?.deleteRunner(plan.scopeRef, id);
  } catch {
    return false;
  }
  if (attempt.configKey !== undefined)
    await deps.configStore?.delete(attempt.configKey).catch(() => undefined);
  const ended = await commit(
    ledger,
    plan.jobId,
    [
      { type: 'released', lease, reason: "the attempt's task was never seen" },
      {
        type: 'attempt-ended',
        attempt: attempt.attempt,
        reason: 'its task was never seen',
        relaunch: false,
        failed: false,
        maxAttempts: deps.config.reconcile.maxAttempts,
      },
    ],
    { now, known: attempt },
  );
  return ended.written;
}

/** Why a claim found nothing to do, from the record as it is. */
function alreadyHandled(record: JobRecord | undefined, now: number): LaunchResult {
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
  if (record.state === 'queued' && (record.retryAt ?? 0) > now) {
    return {
      kind: 'skipped',
      reason: `the next attempt waits until ${new Date(record.retryAt ?? 0).toISOString()}`,
    };
  }
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
    // Fail open for a launch: a runner too many is stopped by the reconciler; a job without one waits 24 h.
    deps.logger.warn('could not check whether the job is still queued; launching anyway', {
      reason: errorMessage(error),
    });
    return undefined;
  }
}

/** Writes the attempt's credential; the failure, when S3 refused it. */
async function storeCredential(
  store: RunnerConfigStore,
  key: string,
  credential: RunnerCredential,
  signal: AbortSignal,
): Promise<{ failure: string; fix: string | undefined } | undefined> {
  try {
    await store.put(key, credential, signal);
    return undefined;
  } catch (error) {
    return {
      failure: `could not write the runner's config to S3: ${errorMessage(error)}`,
      fix: classifyAwsError(error) === 'setup' ? SETUP_FIX.bucket : undefined,
    };
  }
}

/** Registers the attempt's runner (JIT) in its group; replaces an offline one of the same name. */
async function registerRunner(
  deps: LaunchDependencies,
  plan: RunnerPlan,
  runnerName: string,
  signal: () => AbortSignal,
): Promise<{ runnerId: number; encodedJitConfig: string } | { failure: string; fix: string | undefined }> {
  const github = deps.github as GitHubRunners;
  const repositoryId = plan.groupPerRepository ? plan.repositoryId : undefined;
  const { runnerGroupCreate: create, runnerGroupShared: shared } = deps.config;
  let groupId: number | undefined;
  try {
    groupId = await github.runnerGroupId(
      plan.scopeRef,
      plan.group,
      { create, allowPublicRepositories: deps.config.runnerGroupPublic, repositoryId, shared },
      signal(),
    );
  } catch (error) {
    return {
      failure: `could not look up runner group "${plan.group}": ${errorMessage(error)}`,
      fix: classifyGitHubError(error) === 'setup' ? SETUP_FIX.github : undefined,
    };
  }
  if (groupId === undefined) {
    // The group's name is ours (a template of safe values): it may be shown.
    const missing = `runner group "${plan.group}" does not exist`;
    const fix = !create
      ? `${missing}: create it on GitHub, or set RUNNER_GROUP_CREATE=true`
      : plan.groupPerRepository
        ? `${missing}, and the delivery names no repository id to restrict a new one to: create the group on GitHub, or set RUNNER_GROUP_SHARED=true to create it open to every repository`
        : `${missing}, and one made from RUNNER_GROUP_TEMPLATE would be open to every repository of the organisation: put <detail_repo_name> in the template, create the group on GitHub, or set RUNNER_GROUP_SHARED=true`;
    return { failure: missing, fix };
  }
  const runner = { name: runnerName, labels: plan.labels, runnerGroupId: groupId };
  const register = () => github.generateJitConfig(plan.scopeRef, runner, signal());
  try {
    return await register();
  } catch (error) {
    if (!(error instanceof RunnerExistsError)) {
      return {
        failure: `GitHub did not register the runner: ${errorMessage(error)}`,
        fix: classifyGitHubError(error) === 'setup' ? SETUP_FIX.github : undefined,
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
      fix: classifyGitHubError(error) === 'setup' ? SETUP_FIX.github : undefined,
    };
  }
}
