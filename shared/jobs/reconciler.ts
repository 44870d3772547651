import type { Dependencies } from '../dependencies';
import { isStopped, type TaskFacts } from '../ecs/runner-tasks';
import { errorMessage } from '../errors';
import type { JobState } from '../github/ports';
import { launchJob, settleFromGitHub } from '../launch/launch-job';
import { METRIC } from '../metrics';
import { decide } from '../runner/decide';
import type { RunnerPlan, RunnerScopeRef } from '../runner/runner-plan';
import { updateRecord } from './job-ledger';
import type { JobRecord } from './job-record';
import { isStuck, RECONCILE_TIMING, type ReconcileAction, reconcileDecision } from './reconcile-decision';

/** What one reconcile round did. */
export interface ReconcileSummary {
  open: number;
  launched: number;
  relaunched: number;
  stopped: number;
  closed: number;
  stuck: number;
  exhausted: number;
  orphansStopped: number;
  /** Jobs left for the next round: the round's time ran out. */
  deferred: number;
  readonly kept: Array<{ readonly jobId: number; readonly reason: string }>;
  readonly errors: Array<{ readonly jobId: number; readonly reason: string }>;
}

/** Time for one job's launch within a round. */
const LAUNCH_DEADLINE_MS = 20_000;
/** A round's time, under the schedule's minute and the function's timeout. */
export const ROUND_BUDGET_MS = 45_000;
/** No launch starts with less than this left in the round. */
const LAUNCH_MINIMUM_MS = 5_000;

const runKey = (job: JobRecord['job']) => `${job.repository.fullName}#${job.job.runId}#${job.job.runAttempt}`;

/** What {@link stopIfIdle} needs to know of a runner task. */
interface RunnerRef {
  readonly jobId: number;
  readonly runnerName: string | undefined;
  readonly runnerId: number | undefined;
  readonly scopeRef: RunnerScopeRef;
  readonly owner: string;
  readonly repo: string;
  readonly runId: number;
  /** Its labels name the run: only jobs of its run can take it. */
  readonly labelsBindRun: boolean;
}

/**
 * The reconciler: every minute it drives each open job of the ledger to its goal, beside what ECS
 * and GitHub say. A queued job without a live task gets one; a task lost before its job started is
 * replaced with a new attempt (bounded, then an alarm); a task waiting for capacity is kept while
 * its job waits, up to a bound; a runner that runs a job is never stopped, whatever `busy` says;
 * an idle runner whose job is done or went elsewhere is stopped once no job of its run waits;
 * tasks of ours that no open job knows are stopped once their runner is found idle.
 */
export function createReconciler(deps: Dependencies, options: { readonly budgetMs?: number } = {}) {
  const { config, ledger, tasks, github, logger, metrics, now } = deps;
  const labelsBindRun = config.profiles.every((profile) =>
    profile.labels.some((template) => template.includes('<wf_job_run_id>')),
  );

  async function reconcile(signal?: AbortSignal): Promise<ReconcileSummary> {
    const roundEnd = now() + (options.budgetMs ?? ROUND_BUDGET_MS);
    const summary: ReconcileSummary = {
      open: 0,
      launched: 0,
      relaunched: 0,
      stopped: 0,
      closed: 0,
      stuck: 0,
      exhausted: 0,
      orphansStopped: 0,
      deferred: 0,
      kept: [],
      errors: [],
    };
    const records = await ledger.listOpen(signal);
    summary.open = records.length;
    const arns = records.flatMap((record) => (record.taskArn ? [record.taskArn] : []));
    const facts = await tasks.describe(arns, signal);

    // Runners that run a job, as the ledger knows from `in_progress` deliveries: never stopped.
    const runnersAtWork = new Set(
      records.filter((r) => r.state === 'running' && r.jobRunner).map((r) => r.jobRunner as string),
    );
    // Runs with a job still waiting for a runner: any idle runner of the run may take it.
    const runsWaiting = new Set(
      records
        .filter((r) => r.state === 'queued' || r.state === 'launching' || r.state === 'task-started')
        .map((r) => runKey(r.job)),
    );
    const timeLeft = () => roundEnd - now();

    for (const record of records) {
      const task = record.taskArn ? facts.get(record.taskArn) : undefined;
      if (isStuck(record, task, now(), config.reconcile.stuckAfterSeconds * 1000)) summary.stuck++;
      if (timeLeft() <= 0 || signal?.aborted) {
        summary.deferred++;
        continue;
      }
      const action = reconcileDecision(record, task, {
        now: now(),
        capacityWaitMs: config.reconcile.capacityWaitSeconds * 1000,
        ...RECONCILE_TIMING,
      });
      try {
        await act(record, task, action, summary, { runnersAtWork, runsWaiting, timeLeft });
      } catch (error) {
        summary.errors.push({ jobId: record.jobId, reason: errorMessage(error) });
        logger.warn('could not reconcile a job', {
          jobId: record.jobId,
          action: action.kind,
          reason: errorMessage(error),
        });
      }
    }
    if (timeLeft() > LAUNCH_MINIMUM_MS && !signal?.aborted) {
      await stopOrphans(records, facts, summary, runnersAtWork, signal).catch((error: unknown) =>
        summary.errors.push({ jobId: 0, reason: `orphan sweep: ${errorMessage(error)}` }),
      );
    }
    metrics.addMetric(METRIC.stuck, 'Count', summary.stuck);
    metrics.addMetric(METRIC.relaunched, 'Count', summary.relaunched);
    metrics.addMetric(METRIC.attemptsExhausted, 'Count', summary.exhausted);
    metrics.addMetric(METRIC.runnersStopped, 'Count', summary.stopped + summary.orphansStopped);
    return summary;
  }

  /** The job's plan; after a wait for capacity, on its profile's fallback capacity (Spot → On-Demand). */
  const planOf = (record: JobRecord): RunnerPlan | undefined => {
    const decision = decide(config, { ...record.job, action: 'queued' });
    if (decision.kind !== 'ours') return undefined;
    const fallback = config.profiles.find(
      (p) => p.name === decision.plan.target.profile,
    )?.fallbackCapacityProviderStrategy;
    if (!record.capacityFallback || fallback === undefined) return decision.plan;
    return { ...decision.plan, target: { ...decision.plan.target, capacityProviderStrategy: fallback } };
  };
  const refOf = (record: JobRecord, plan: RunnerPlan): RunnerRef => ({
    jobId: record.jobId,
    runnerName: record.runnerName,
    runnerId: record.runnerId,
    scopeRef: plan.scopeRef,
    owner: record.job.repository.owner,
    repo: record.job.repository.name,
    runId: record.job.job.runId,
    labelsBindRun: plan.labelsBindRun,
  });

  async function act(
    record: JobRecord,
    task: TaskFacts | undefined,
    action: ReconcileAction,
    summary: ReconcileSummary,
    context: {
      readonly runnersAtWork: Set<string>;
      readonly runsWaiting: Set<string>;
      readonly timeLeft: () => number;
    },
  ): Promise<void> {
    const plan = planOf(record);
    const launchWith = async (planned: RunnerPlan | undefined, checkQueued: 'always' | 'late') => {
      if (!planned) return undefined;
      if (context.timeLeft() < LAUNCH_MINIMUM_MS) {
        summary.deferred++;
        return undefined;
      }
      const deadline = now() + Math.min(LAUNCH_DEADLINE_MS, context.timeLeft() - 1000);
      const result = await launchJob(deps, planned, deadline, { checkQueued });
      if (result.kind === 'failed') {
        metrics.addMetric(result.setup ? METRIC.setupErrors : METRIC.runTaskFailures, 'Count', 1);
        summary.errors.push({ jobId: record.jobId, reason: result.reason });
      }
      return result;
    };
    const launch = (checkQueued: 'always' | 'late') => launchWith(plan, checkQueued);
    switch (action.kind) {
      case 'none':
        return;
      case 'close':
        await cleanUp(record, plan);
        await write(record, { open: false });
        summary.closed++;
        return;
      case 'launch': {
        if (!plan) {
          await write(record, {
            state: 'done',
            open: false,
            lastError: 'no longer ours under this configuration',
          });
          return;
        }
        const result = await launch('always');
        if (result?.kind === 'started' && !result.existing) summary.launched++;
        return;
      }
      case 'observe-running': {
        if (record.configKey) await deps.configStore?.delete(record.configKey);
        const written = await write(record, { taskRunningAt: action.startedAt, configKey: undefined });
        if (written) {
          metrics.addMetric(
            METRIC.timeToTaskRunning,
            'Milliseconds',
            Math.max(0, action.startedAt - record.queuedAt),
          );
        }
        return;
      }
      case 'check-job': {
        const state = plan && (await jobOnGitHub(record, plan));
        if (state?.status === 'in_progress' || state?.status === 'completed') {
          await settleFromGitHub(deps, record.jobId, state);
        } else if (record.state === 'waiting' && state?.status === 'queued') {
          // A `waiting` delivery that came after the approval: the job is queued, and gets its runner.
          if (await write(record, { state: 'queued', leaseUntil: undefined })) await launch('late');
        } else {
          await write(record, {});
        }
        return;
      }
      case 'stop-spare': {
        if (context.runsWaiting.has(runKey(record.job))) {
          summary.kept.push({
            jobId: record.jobId,
            reason: `${action.reason}, but a job of its run still waits`,
          });
          return;
        }
        if (
          !plan ||
          !(await stopIfIdle(refOf(record, plan), task, context.runnersAtWork, action.reason, summary))
        ) {
          return;
        }
        await cleanUp(record, plan);
        await write(record, {
          attemptEnded: true,
          lastStop: action.reason,
          configKey: undefined,
          ...(record.state === 'done' && { open: false }),
        });
        summary.stopped++;
        return;
      }
      case 'end-attempt': {
        if (!plan) return;
        if (action.verifyJob) {
          const state = await jobOnGitHub(record, plan);
          if (state?.status === 'in_progress' || state?.status === 'completed') {
            await settleFromGitHub(deps, record.jobId, state);
            return;
          }
          if (action.next === 'wait') {
            if (state?.status === 'queued' && task && !isStopped(task)) {
              // A `waiting` delivery that came late: the job is queued and its task is there.
              await write(record, { state: 'task-started' });
              return;
            }
            // Without GitHub's word that the job waits, its runner is left alone.
            if (state?.status !== 'waiting') return;
          }
        }
        if (
          task &&
          !isStopped(task) &&
          !(await stopIfIdle(refOf(record, plan), task, context.runnersAtWork, action.reason, summary))
        ) {
          return;
        }
        await cleanUp(record, plan);
        const exhausted = action.next === 'relaunch' && record.attempt >= config.reconcile.maxAttempts;
        const written = await write(record, {
          attemptEnded: true,
          lastStop: action.reason,
          configKey: undefined,
          ...(action.next === 'relaunch' && { state: 'queued', leaseUntil: undefined, exhausted }),
          ...(action.capacity && { capacityFallback: true }),
          ...(record.state === 'done' && { open: false }),
        });
        if (!written) return;
        logger.warn('launch attempt ended', {
          jobId: record.jobId,
          attempt: record.attempt,
          reason: action.reason,
          next: action.next,
        });
        if (action.next !== 'relaunch') return;
        if (exhausted) {
          summary.exhausted++;
          logger.error('every launch attempt of a job was lost', {
            jobId: record.jobId,
            attempts: record.attempt,
            reason: action.reason,
          });
          return;
        }
        summary.relaunched++;
        // Read the plan again: after a wait for capacity, the next attempt takes the fallback capacity.
        await launchWith(action.capacity ? planOf({ ...record, capacityFallback: true }) : plan, 'late');
        return;
      }
    }
  }

  /** Writes changes over the record as read, unless someone else changed it since (no read first: the write's condition checks). */
  async function write(record: JobRecord, changes: Partial<JobRecord>): Promise<boolean> {
    const result = await updateRecord(
      ledger,
      record.jobId,
      (current) =>
        current && current.version === record.version
          ? { ...current, ...changes, updatedAt: now() }
          : undefined,
      undefined,
      record,
    );
    return result.written;
  }

  async function jobOnGitHub(record: JobRecord, plan: RunnerPlan): Promise<JobState | undefined> {
    if (!github) return undefined;
    try {
      return await github.job(
        plan.scopeRef,
        record.job.repository.owner,
        record.job.repository.name,
        record.jobId,
      );
    } catch (error) {
      logger.warn('could not ask GitHub about a job', { jobId: record.jobId, reason: errorMessage(error) });
      return undefined;
    }
  }

  /** Deletes a finished attempt's registration and config object (its task is gone or stopped). */
  async function cleanUp(record: JobRecord, plan: RunnerPlan | undefined) {
    if (plan && record.runnerId !== undefined) await github?.deleteRunner(plan.scopeRef, record.runnerId);
    if (record.configKey !== undefined) await deps.configStore?.delete(record.configKey);
  }

  /**
   * Stops a live task only when its runner runs no job. A task still waiting to run has no runner
   * process yet. A running one: not in the ledger's view of runners at work, not `busy`, not named
   * by a job in progress of its run; and GitHub must agree to delete its registration (it refuses
   * for a runner at work). A runner whose labels do not name its run could be running another run's
   * job, which its run's list cannot show: while it is online it is left to its own idle timeout.
   * Returns whether the task was stopped.
   */
  async function stopIfIdle(
    runner: RunnerRef,
    task: TaskFacts | undefined,
    runnersAtWork: ReadonlySet<string>,
    reason: string,
    summary: ReconcileSummary,
  ): Promise<boolean> {
    const keep = (why: string) => {
      summary.kept.push({ jobId: runner.jobId, reason: why });
      return false;
    };
    const name = runner.runnerName ?? task?.runnerName;
    if (!task || isStopped(task)) return true;
    if (name && runnersAtWork.has(name)) return keep(`runner ${name} runs a job (ledger)`);
    // Read again: the round's snapshot may be old, and a task that ran since may have a job.
    const fresh = (await tasks.describe([task.taskArn])).get(task.taskArn) ?? task;
    if (isStopped(fresh)) return true;
    if (fresh.lastStatus === 'RUNNING') {
      if (!github || !name) return keep('without GitHub, a running runner cannot be told idle');
      const registered = await github.findRunner(runner.scopeRef, name);
      if (registered?.busy) return keep(`runner ${name} is busy`);
      if (registered?.status === 'online' && !runner.labelsBindRun) {
        return keep(
          `runner ${name} is online and other runs may ask for its labels: its own idle timeout ends it`,
        );
      }
      const jobs = await github.runJobs(runner.scopeRef, runner.owner, runner.repo, runner.runId);
      if (jobs.some((job) => job.status === 'in_progress' && job.runnerName === name)) {
        return keep(`runner ${name} runs a job of its run (GitHub)`);
      }
      const id = registered?.id ?? runner.runnerId;
      if (id !== undefined) {
        try {
          await github.deleteRunner(runner.scopeRef, id);
        } catch (error) {
          // 422: the runner took a job since we looked. It stays.
          return keep(`GitHub did not delete runner ${name}: ${errorMessage(error)}`);
        }
      }
    } else if (github && runner.runnerId !== undefined) {
      await github.deleteRunner(runner.scopeRef, runner.runnerId);
    }
    await tasks.stop(fresh.taskArn, `github-runners reconciler: ${reason}`);
    logger.info('runner task stopped', {
      jobId: runner.jobId,
      taskArn: fresh.taskArn,
      runnerName: name,
      reason,
    });
    return true;
  }

  /** Tasks of our families that no open job knows (a ledger lost, a duplicate): stopped once idle. */
  async function stopOrphans(
    records: readonly JobRecord[],
    facts: ReadonlyMap<string, TaskFacts>,
    summary: ReconcileSummary,
    runnersAtWork: ReadonlySet<string>,
    signal?: AbortSignal,
  ) {
    const known = new Set(facts.keys());
    const byJob = new Map(records.map((record) => [record.jobId, record]));
    const idleMs = config.runnerIdleTimeoutSeconds * 1000;
    for (const task of await tasks.listLive(signal)) {
      if (known.has(task.taskArn) || task.jobId === undefined) continue;
      try {
        if (await stopOrphan(task, byJob.get(task.jobId), idleMs, runnersAtWork, summary))
          summary.orphansStopped++;
      } catch (error) {
        summary.errors.push({ jobId: task.jobId, reason: `orphan task: ${errorMessage(error)}` });
      }
    }
  }

  /** Stops one task no open job knows, if its runner is idle; returns whether it did. */
  async function stopOrphan(
    task: TaskFacts,
    record: JobRecord | undefined,
    idleMs: number,
    runnersAtWork: ReadonlySet<string>,
    summary: ReconcileSummary,
  ): Promise<boolean> {
    // A second task of a job still waiting for its runner may yet take it: left alone for now.
    if (record && ['queued', 'launching', 'task-started', 'waiting'].includes(record.state)) return false;
    if (!record && now() - (task.createdAt ?? now()) < idleMs + RECONCILE_TIMING.exitGraceMs) return false;
    const [owner, repo] = (task.repository ?? '').split('/');
    const scopeRef = scopeOf(owner, repo);
    if (!scopeRef || !owner || !repo || task.runId === undefined) return false;
    return stopIfIdle(
      {
        jobId: task.jobId ?? 0,
        runnerName: task.runnerName,
        runnerId: undefined,
        scopeRef,
        owner,
        repo,
        runId: task.runId,
        labelsBindRun,
      },
      task,
      runnersAtWork,
      record ? 'a second runner task of a job that has its runner' : 'a runner task no job knows, idle',
      summary,
    );
  }

  /** The scope a runner of a repository registers in, from the configuration. */
  function scopeOf(owner: string | undefined, repo: string | undefined): RunnerScopeRef | undefined {
    if (!owner || !repo) return undefined;
    if (config.scope === 'repo') return { kind: 'repo', owner, repo };
    if (config.scope === 'org') return { kind: 'org', org: owner };
    return config.enterprise ? { kind: 'enterprise', enterprise: config.enterprise } : undefined;
  }

  return { reconcile };
}

export type Reconciler = ReturnType<typeof createReconciler>;
