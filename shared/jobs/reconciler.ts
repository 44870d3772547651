import type { Dependencies } from '../dependencies';
import { isStopped, type TaskFacts } from '../ecs/runner-tasks';
import { errorMessage } from '../errors';
import { launchJob, settleFromGitHub } from '../launch/launch-job';
import { METRIC } from '../metrics';
import { decide } from '../runner/decide';
import type { RunnerPlan, RunnerScopeRef } from '../runner/runner-plan';
import { updateRecord } from './job-ledger';
import type { JobRecord } from './job-record';
import { isStuck, type ReconcileAction, reconcileDecision } from './reconcile-decision';

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
  readonly kept: Array<{ readonly jobId: number; readonly reason: string }>;
  readonly errors: Array<{ readonly jobId: number; readonly reason: string }>;
}

/** How long a recorded task may be invisible to DescribeTasks before it counts as lost. */
const MISSING_GRACE_MS = 2 * 60_000;
/** How long an ephemeral runner has to exit after its job. */
const EXIT_GRACE_MS = 5 * 60_000;
/** Time for one job's launch within a round. */
const LAUNCH_DEADLINE_MS = 20_000;

const runKey = (job: JobRecord['job']) => `${job.repository.fullName}#${job.job.runId}#${job.job.runAttempt}`;

/**
 * The reconciler: every minute it drives each open job of the ledger to its goal, beside what ECS
 * and GitHub say. A queued job without a live task gets one; a task lost before its job started is
 * replaced with a new attempt (bounded, then an alarm); a task waiting for capacity is kept while
 * its job waits, up to a bound; a runner that runs a job is never stopped, whatever `busy` says;
 * an idle runner whose job is done or went elsewhere is stopped once no job of its run waits;
 * tasks of ours that no open job knows are stopped once their runner is found idle.
 */
export function createReconciler(deps: Dependencies) {
  const { config, ledger, tasks, github, logger, metrics, now } = deps;

  async function reconcile(signal?: AbortSignal): Promise<ReconcileSummary> {
    const summary: ReconcileSummary = {
      open: 0,
      launched: 0,
      relaunched: 0,
      stopped: 0,
      closed: 0,
      stuck: 0,
      exhausted: 0,
      orphansStopped: 0,
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

    for (const record of records) {
      const task = record.taskArn ? facts.get(record.taskArn) : undefined;
      if (isStuck(record, task, now(), config.reconcile.stuckAfterSeconds * 1000)) summary.stuck++;
      const action = reconcileDecision(record, task, {
        now: now(),
        capacityWaitMs: config.reconcile.capacityWaitSeconds * 1000,
        missingGraceMs: MISSING_GRACE_MS,
        exitGraceMs: EXIT_GRACE_MS,
      });
      try {
        await act(record, task, action, summary, { runnersAtWork, runsWaiting });
      } catch (error) {
        summary.errors.push({ jobId: record.jobId, reason: errorMessage(error) });
        logger.warn('could not reconcile a job', {
          jobId: record.jobId,
          action: action.kind,
          reason: errorMessage(error),
        });
      }
    }
    await stopOrphans(records, facts, summary, runnersAtWork, signal).catch((error: unknown) =>
      summary.errors.push({ jobId: 0, reason: `orphan sweep: ${errorMessage(error)}` }),
    );
    metrics.addMetric(METRIC.stuck, 'Count', summary.stuck);
    metrics.addMetric(METRIC.relaunched, 'Count', summary.relaunched);
    metrics.addMetric(METRIC.attemptsExhausted, 'Count', summary.exhausted);
    metrics.addMetric(METRIC.reaped, 'Count', summary.stopped + summary.orphansStopped);
    return summary;
  }

  const planOf = (record: JobRecord): RunnerPlan | undefined => {
    const decision = decide(config, { ...record.job, action: 'queued' });
    return decision.kind === 'ours' ? decision.plan : undefined;
  };

  async function act(
    record: JobRecord,
    task: TaskFacts | undefined,
    action: ReconcileAction,
    summary: ReconcileSummary,
    context: { readonly runnersAtWork: Set<string>; readonly runsWaiting: Set<string> },
  ): Promise<void> {
    const plan = planOf(record);
    switch (action.kind) {
      case 'none':
        return;
      case 'close':
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
        const result = await launchJob(deps, plan, now() + LAUNCH_DEADLINE_MS, { checkQueued: 'always' });
        if (result.kind === 'started' && !result.existing) summary.launched++;
        if (result.kind === 'failed') {
          metrics.addMetric(result.setup ? METRIC.setupErrors : METRIC.runTaskFailures, 'Count', 1);
          summary.errors.push({ jobId: record.jobId, reason: result.reason });
        }
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
        if (state) await settleFromGitHub(deps, record.jobId, state);
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
        if (!plan || !(await stopIdle(record, task, plan, context.runnersAtWork, action.reason, summary)))
          return;
        await write(record, {
          attemptEnded: true,
          lastStop: action.reason,
          ...(record.state === 'done' && { open: false }),
        });
        summary.stopped++;
        return;
      }
      case 'end-attempt': {
        if (!plan) return;
        if (action.verifyJob) {
          const state = await jobOnGitHub(record, plan);
          if (state && state.status !== 'queued') {
            await settleFromGitHub(deps, record.jobId, state);
            return;
          }
        }
        if (
          task &&
          !isStopped(task) &&
          !(await stopIdle(record, task, plan, context.runnersAtWork, action.reason, summary))
        ) {
          return;
        }
        await cleanUp(record, plan);
        const exhausted = action.next === 'relaunch' && record.attempt >= config.reconcile.maxAttempts;
        const written = await write(record, {
          attemptEnded: true,
          lastStop: action.reason,
          ...(action.next === 'relaunch' && { state: 'queued', leaseUntil: undefined, exhausted }),
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
        await launchJob(deps, plan, now() + LAUNCH_DEADLINE_MS, { checkQueued: 'late' });
        return;
      }
    }
  }

  /** Writes changes over the record as read, unless someone else changed it since. */
  async function write(record: JobRecord, changes: Partial<JobRecord>): Promise<boolean> {
    const result = await updateRecord(ledger, record.jobId, (current) =>
      current && current.version === record.version
        ? { ...current, ...changes, updatedAt: now() }
        : undefined,
    );
    return result.written;
  }

  async function jobOnGitHub(record: JobRecord, plan: RunnerPlan) {
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

  /** Deletes a finished attempt's registration and config object (its task is gone). */
  async function cleanUp(record: JobRecord, plan: RunnerPlan) {
    if (record.runnerId !== undefined) await github?.deleteRunner(plan.scopeRef, record.runnerId);
    if (record.configKey !== undefined) await deps.configStore?.delete(record.configKey);
  }

  /**
   * Stops a live task only when its runner runs no job: not in the ledger's view, not `busy`, and
   * GitHub agrees to delete its registration (it refuses for a runner at work). A runner GitHub no
   * longer lists is checked against its run's jobs. Returns whether the task was stopped.
   */
  async function stopIdle(
    record: Pick<JobRecord, 'jobId' | 'runnerName' | 'runnerId' | 'job'>,
    task: TaskFacts | undefined,
    scope: { readonly scopeRef: RunnerScopeRef },
    runnersAtWork: ReadonlySet<string>,
    reason: string,
    summary: ReconcileSummary,
  ): Promise<boolean> {
    const keep = (why: string) => {
      summary.kept.push({ jobId: record.jobId, reason: why });
      return false;
    };
    const name = record.runnerName ?? task?.runnerName;
    if (!task || isStopped(task)) return true;
    const waitingForCapacity = task.lastStatus !== 'RUNNING';
    if (name && runnersAtWork.has(name)) return keep(`runner ${name} runs a job (ledger)`);
    if (!waitingForCapacity) {
      if (!github || !name) return keep('without GitHub, a running runner cannot be told idle');
      const runner = await github.findRunner(scope.scopeRef, name);
      if (runner?.busy) return keep(`runner ${name} is busy`);
      if (runner === undefined) {
        const jobs = await github.runJobs(
          scope.scopeRef,
          record.job.repository.owner,
          record.job.repository.name,
          record.job.job.runId,
        );
        if (jobs.some((job) => job.status === 'in_progress' && job.runnerName === name)) {
          return keep(`runner ${name} runs a job of its run (GitHub)`);
        }
      }
      const id = runner?.id ?? record.runnerId;
      if (id !== undefined) {
        try {
          await github.deleteRunner(scope.scopeRef, id);
        } catch (error) {
          // 422: the runner took a job since we looked. It stays.
          return keep(`GitHub did not delete runner ${name}: ${errorMessage(error)}`);
        }
      }
    } else if (github && record.runnerId !== undefined) {
      await github.deleteRunner(scope.scopeRef, record.runnerId);
    }
    await tasks.stop(task.taskArn, `github-runners reconciler: ${reason}`);
    logger.info('runner task stopped', {
      jobId: record.jobId,
      taskArn: task.taskArn,
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
    if (
      record &&
      (record.state === 'queued' || record.state === 'launching' || record.state === 'task-started')
    ) {
      return false;
    }
    if (!record) {
      if (now() - (task.createdAt ?? now()) < idleMs + EXIT_GRACE_MS) return false;
      // Without a record there is no job to ask GitHub about; only an idle or missing runner goes.
      const scopeRef = scopeOfOrphan(task);
      if (!github || !task.runnerName || !scopeRef || runnersAtWork.has(task.runnerName)) return false;
      const runner = await github.findRunner(scopeRef, task.runnerName);
      if (runner?.busy) return false;
      if (runner) await github.deleteRunner(scopeRef, runner.id);
      await tasks.stop(task.taskArn, 'github-runners reconciler: a runner task no job knows, idle');
      logger.info('orphan runner task stopped', { taskArn: task.taskArn, runnerName: task.runnerName });
      return true;
    }
    const plan = planOf(record);
    if (!plan) return false;
    return stopIdle(
      { jobId: record.jobId, runnerName: task.runnerName, runnerId: undefined, job: record.job },
      task,
      plan,
      runnersAtWork,
      'a second runner task of a job that has its runner',
      summary,
    );
  }

  /** The scope an orphan's runner registered in, from the configuration (the task names its repository). */
  function scopeOfOrphan(task: TaskFacts): RunnerScopeRef | undefined {
    const [owner, repo] = (task.repository ?? '').split('/');
    if (!owner || !repo) return undefined;
    if (config.scope === 'repo') return { kind: 'repo', owner, repo };
    if (config.scope === 'org') return { kind: 'org', org: owner };
    return config.enterprise ? { kind: 'enterprise', enterprise: config.enterprise } : undefined;
  }

  return { reconcile };
}

export type Reconciler = ReturnType<typeof createReconciler>;
