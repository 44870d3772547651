import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Config } from '../config';
import { versionRefused } from '../ecs/runner-exit';
import { isStopped, type RunnerTasks, type TaskFacts } from '../ecs/runner-tasks';
import { errorMessage } from '../errors';
import { classifyGitHubError } from '../failure-kind';
import type { GitHubRunners, RunJob } from '../github/ports';
import { commit } from '../jobs/job-ledger';
import { type JobRecord, wantsRunner } from '../jobs/job-record';
import { type LaunchDependencies, launchJob } from '../launch/launch-job';
import { METRIC } from '../metrics';
import { decide } from '../runner/decide';
import type { RunnerPlan, RunnerScopeRef } from '../runner/runner-plan';
import {
  asksGitHub,
  type GitHubWord,
  type JobPlan,
  type PlanContext,
  planJob,
  RECONCILE_TIMING,
} from './reconcile-plan';

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
  /** Attempts whose runner GitHub refused for its release (exit 78): the image is out of date. */
  versionRefused: number;
  /** Jobs (and orphan tasks) left for the next round: the round's time or GitHub budget ran out. */
  deferred: number;
  /** GitHub API requests the round made (its ceiling: `RECONCILE_GITHUB_REQUESTS`). */
  githubRequests: number;
  readonly kept: Array<{ readonly jobId: number; readonly reason: string }>;
  readonly errors: Array<{ readonly jobId: number; readonly reason: string }>;
}

/** What the reconciler needs: the launch path's dependencies, ECS's runner tasks, metrics. */
export interface ReconcilerDependencies extends Omit<LaunchDependencies, 'config'> {
  readonly config: Config;
  readonly tasks: RunnerTasks;
  readonly metrics: Metrics;
  /** GitHub HTTP requests made since the cold start (every request, retries included). */
  readonly githubRequests?: (() => number) | undefined;
}

/** Time for one job's launch within a round. */
const LAUNCH_DEADLINE_MS = 20_000;
/** A round's time, under the schedule's minute and the function's timeout. */
export const ROUND_BUDGET_MS = 45_000;
/** No launch starts with less than this left in the round. */
const LAUNCH_MINIMUM_MS = 5_000;
/** GitHub requests a launch may make (runner group, registration, a replaced registration). */
const LAUNCH_GITHUB_REQUESTS = 4;
/** No GitHub call or task stop starts with less than this left in the round. */
const STEP_MINIMUM_MS = 1_000;

/** The round's GitHub budget is spent: the question waits for the next round. */
class GitHubBudgetSpentError extends Error {
  constructor() {
    super("the round's GitHub request budget is spent");
    this.name = 'GitHubBudgetSpentError';
  }
}

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
 * and GitHub say, in three phases. **Gather**: the open records, their tasks (DescribeTasks), and
 * GitHub's word on the jobs whose plan needs it and whose check is due (one `runs/{id}/jobs` call
 * per run, within the round's request budget). **Plan**: {@link planJob}, pure, per job.
 * **Apply**: each plan's steps in order, within the round's time; a runner task is stopped only
 * on positive evidence that its runner is idle. Then tasks of ours that no open job knows are
 * stopped the same way, within what is left of the round.
 */
export function createReconciler(deps: ReconcilerDependencies, options: { readonly budgetMs?: number } = {}) {
  const { config, ledger, tasks, logger, metrics, now } = deps;
  const labelsBindRun = config.profiles.every((profile) =>
    profile.labels.some((template) => template.includes('<wf_job_run_id>')),
  );
  const planContext = (): PlanContext => ({
    now: now(),
    capacityWaitMs: config.reconcile.capacityWaitSeconds * 1000,
    stuckAfterMs: config.reconcile.stuckAfterSeconds * 1000,
    unknownRelaunchMs: config.reconcile.unknownRelaunchSeconds * 1000,
    maxAttempts: config.reconcile.maxAttempts,
    timing: RECONCILE_TIMING,
  });

  async function reconcile(signal?: AbortSignal): Promise<ReconcileSummary> {
    const roundEnd = now() + (options.budgetMs ?? ROUND_BUDGET_MS);
    const timeLeft = () => roundEnd - now();
    const summary: ReconcileSummary = {
      open: 0,
      launched: 0,
      relaunched: 0,
      stopped: 0,
      closed: 0,
      stuck: 0,
      exhausted: 0,
      orphansStopped: 0,
      versionRefused: 0,
      deferred: 0,
      githubRequests: 0,
      kept: [],
      errors: [],
    };
    const budget = budgeted(deps.github, config.reconcile.githubRequestsPerRound, summary);
    const github = budget?.port;

    // Gather.
    const records = await ledger.listOpen(signal);
    summary.open = records.length;
    const arns = records.flatMap((record) => (record.taskArn ? [record.taskArn] : []));
    const facts = await tasks.describe(arns, signal);
    const taskOf = (record: JobRecord) => (record.taskArn ? facts.get(record.taskArn) : undefined);
    const context = planContext();
    const words = await askGitHub(
      github,
      records.filter((record) => asksGitHub(record, taskOf(record), context)),
      timeLeft,
    );
    // Runners that run a job, as the ledger knows from `in_progress` deliveries: never stopped.
    const runnersAtWork = new Set(
      records.filter((r) => r.state === 'running' && r.jobRunner).map((r) => r.jobRunner as string),
    );
    // Runs with a job still waiting for a runner: any idle runner of the run may take it.
    const runsWaiting = new Set(records.filter(wantsRunner).map((r) => runKey(r.job)));

    // Plan and apply, job by job.
    const planned = records.map((record) => ({
      record,
      task: taskOf(record),
      plan: planJob(
        {
          record,
          task: taskOf(record),
          github: words.get(record.jobId),
          runWaits: runsWaiting.has(runKey(record.job)),
        },
        context,
      ),
    }));
    summary.stuck = planned.filter((p) => p.plan.stuck).length;
    // Counted before any step runs: a round cut short still reports its stuck jobs.
    metrics.addMetric(METRIC.stuck, 'Count', summary.stuck);
    for (const { record, task, plan } of planned) {
      if (plan.steps.length === 0) continue;
      if (timeLeft() <= STEP_MINIMUM_MS || signal?.aborted) {
        summary.deferred++;
        continue;
      }
      try {
        await apply(record, task, plan, summary, {
          github,
          runnersAtWork,
          timeLeft,
          budgetLeft: () => budget?.left() ?? Infinity,
        });
      } catch (error) {
        if (error instanceof GitHubBudgetSpentError) {
          summary.deferred++;
          continue;
        }
        summary.errors.push({ jobId: record.jobId, reason: errorMessage(error) });
        logger.warn('could not reconcile a job', {
          jobId: record.jobId,
          plan: plan.reason,
          reason: errorMessage(error),
        });
      }
    }
    await stopOrphans(
      records,
      facts,
      summary,
      { github, runnersAtWork, timeLeft, budgetLeft: () => budget?.left() ?? Infinity },
      signal,
    ).catch((error: unknown) =>
      summary.errors.push({ jobId: 0, reason: `orphan sweep: ${errorMessage(error)}` }),
    );
    metrics.addMetric(METRIC.relaunched, 'Count', summary.relaunched);
    metrics.addMetric(METRIC.attemptsExhausted, 'Count', summary.exhausted);
    metrics.addMetric(METRIC.runnersStopped, 'Count', summary.stopped + summary.orphansStopped);
    metrics.addMetric(METRIC.reconcilerGitHubRequests, 'Count', summary.githubRequests);
    metrics.addMetric(METRIC.runnerVersionRefused, 'Count', summary.versionRefused);
    return summary;
  }

  /**
   * GitHub's word on each job asked about: one `runs/{id}/jobs` call per run (it lists every job
   * of the run's latest attempt), a job look-up only for a job that list does not show. No answer
   * is `unknown`; a spent budget or a round out of time leaves the job unasked.
   */
  async function askGitHub(
    github: GitHubRunners | undefined,
    asked: readonly JobRecord[],
    timeLeft: () => number,
  ): Promise<Map<number, GitHubWord>> {
    const words = new Map<number, GitHubWord>();
    if (!github) return words;
    const byRun = new Map<string, JobRecord[]>();
    for (const record of asked) {
      const key = runKey(record.job);
      byRun.set(key, [...(byRun.get(key) ?? []), record]);
    }
    for (const [, jobs] of byRun) {
      const first = jobs[0] as JobRecord;
      const scopeRef =
        planOf(first)?.scopeRef ?? scopeOf(first.job.repository.owner, first.job.repository.name);
      if (!scopeRef || timeLeft() <= STEP_MINIMUM_MS) continue;
      const { owner, name } = first.job.repository;
      let listed: RunJob[] | undefined;
      try {
        listed = await github.runJobs(scopeRef, owner, name, first.job.job.runId);
      } catch (error) {
        if (error instanceof GitHubBudgetSpentError) break;
        for (const record of jobs) words.set(record.jobId, { status: 'unknown' });
        continue;
      }
      for (const record of jobs) {
        const found = listed.find((job) => job.id === record.jobId);
        if (found) {
          words.set(record.jobId, wordOf(found.status, found.runnerName));
          continue;
        }
        // Not in the latest attempt's list (the run was re-run): asked on its own.
        try {
          const state = await github.job(scopeRef, owner, name, record.jobId);
          words.set(record.jobId, state ? wordOf(state.status, state.runnerName) : { status: 'gone' });
        } catch (error) {
          if (error instanceof GitHubBudgetSpentError) return words;
          words.set(record.jobId, { status: classifyGitHubError(error) === 'setup' ? 'other' : 'unknown' });
        }
      }
    }
    return words;
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

  interface ApplyContext {
    readonly github: GitHubRunners | undefined;
    readonly runnersAtWork: ReadonlySet<string>;
    readonly timeLeft: () => number;
    /** GitHub requests the round may still make. */
    readonly budgetLeft: () => number;
  }

  /** Carries out one job's plan, step by step, each write over the record the plan was made from. */
  async function apply(
    planned: JobRecord,
    task: TaskFacts | undefined,
    plan: JobPlan,
    summary: ReconcileSummary,
    context: ApplyContext,
  ): Promise<void> {
    let record = planned;
    let runner = planOf(record);
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'commit': {
          const result = await commit(ledger, record.jobId, step.event, {
            now,
            known: record,
            ifVersion: record.version,
          });
          if (!result.written || !result.record) {
            summary.kept.push({ jobId: record.jobId, reason: `${plan.reason}: ${result.note}` });
            return;
          }
          const before = record;
          record = result.record;
          // Planned again after a write: an attempt ended after a wait for capacity launches on the fallback.
          runner = planOf(record);
          if (step.event.type === 'closed') summary.closed++;
          if (step.event.type === 'task-running') {
            metrics.addMetric(
              METRIC.timeToTaskRunning,
              'Milliseconds',
              Math.max(0, step.event.startedAt - record.queuedAt),
            );
          }
          if (step.event.type === 'attempt-ended' && versionRefused(task)) {
            summary.versionRefused++;
            logger.error(
              'GitHub refused the runner release of the image: rebuild it (docs/runner-image.md)',
              {
                jobId: record.jobId,
                attempt: before.attempt,
                taskArn: task?.taskArn,
              },
            );
          }
          if (step.event.type === 'attempt-ended') {
            logger.warn('launch attempt ended', {
              jobId: record.jobId,
              attempt: before.attempt,
              reason: step.event.reason,
              relaunch: step.event.relaunch,
            });
            if (record.exhausted && !before.exhausted) {
              summary.exhausted++;
              logger.error('every launch attempt of a job was lost; it is retried at the longest backoff', {
                jobId: record.jobId,
                failedAttempts: record.failedAttempts,
              });
            }
          }
          break;
        }
        case 'launch': {
          if (!runner) {
            // Said in the log: a job recorded as ours that this configuration refuses (an opt-in
            // removed, a record from before visibility was recorded) closes without a runner.
            logger.warn('job no longer ours under this configuration: its record closes', {
              jobId: record.jobId,
              repository: record.job.repository.fullName,
            });
            await commit(
              ledger,
              record.jobId,
              { type: 'no-longer-ours', reason: 'no longer ours under this configuration' },
              { now, known: record },
            );
            return;
          }
          // A launch may register a runner (a few GitHub requests): it waits when the round has not those left.
          if (context.timeLeft() < LAUNCH_MINIMUM_MS || context.budgetLeft() < LAUNCH_GITHUB_REQUESTS) {
            summary.deferred++;
            return;
          }
          const deadline = now() + Math.min(LAUNCH_DEADLINE_MS, context.timeLeft() - 1000);
          const result = await launchJob({ ...deps, github: context.github }, runner, deadline, {
            checkQueued: step.checkQueued,
            record,
          });
          if (result.kind === 'failed') {
            metrics.addMetric(result.setup ? METRIC.setupErrors : METRIC.runTaskFailures, 'Count', 1);
            summary.errors.push({ jobId: record.jobId, reason: result.reason });
          }
          if (result.kind === 'started' && !result.existing) {
            if (plan.relaunch) summary.relaunched++;
            else summary.launched++;
          }
          return;
        }
        case 'stop-runner': {
          if (!runner) return;
          const stopped = step.finished
            ? await stopFinished(task, step.reason)
            : await stopIfIdle(refOf(record, runner), task, step.reason, summary, context);
          if (!stopped) return;
          if (task && !isStopped(task)) summary.stopped++;
          break;
        }
        case 'clean-up':
          if (runner && record.runnerId !== undefined)
            await context.github?.deleteRunner(runner.scopeRef, record.runnerId);
          if (record.configKey !== undefined) await deps.configStore?.delete(record.configKey);
          break;
        case 'delete-config':
          if (record.configKey !== undefined) await deps.configStore?.delete(record.configKey);
          break;
      }
    }
  }

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

  /**
   * Stops a live task only on positive evidence that its runner runs no job. A task that never got
   * to RUNNING has no runner at work, unless ECS's view lags its container: its registration is
   * deleted first (GitHub refuses that for a runner at work), then it is stopped. A running one:
   * its runner must be found on GitHub (a runner lists leave out is kept: lists lag), not busy, not
   * in the ledger's view of runners at work, not named by a job in progress of its run, and GitHub
   * must accept its deletion (it refuses for a runner at work). A runner whose labels do not name
   * its run could be running another run's job, which its run's list cannot show: while it is
   * online it is left to its own idle timeout. Returns whether the task is stopped (or was gone).
   */
  async function stopIfIdle(
    runner: RunnerRef,
    task: TaskFacts | undefined,
    reason: string,
    summary: ReconcileSummary,
    context: ApplyContext,
  ): Promise<boolean> {
    const keep = (why: string) => {
      summary.kept.push({ jobId: runner.jobId, reason: why });
      return false;
    };
    const { github } = context;
    const name = runner.runnerName ?? task?.runnerName;
    if (!task || isStopped(task)) return true;
    if (name && context.runnersAtWork.has(name)) return keep(`runner ${name} runs a job (ledger)`);
    // Read again: the round's snapshot may be old, and a task that ran since may have a job.
    const fresh = (await tasks.describe([task.taskArn])).get(task.taskArn) ?? task;
    if (isStopped(fresh)) return true;
    // The registration to delete first: GitHub refuses that for a runner at work, so it is the veto.
    let registrationId = runner.runnerId;
    if (fresh.lastStatus === 'RUNNING') {
      if (!github || !name) return keep('without GitHub, a running runner cannot be told idle');
      const registered = await github.findRunner(runner.scopeRef, name);
      if (!registered) return keep(`runner ${name} is not listed by GitHub (lists lag): kept`);
      if (registered.busy) return keep(`runner ${name} is busy`);
      if (registered.status === 'online' && !runner.labelsBindRun) {
        return keep(
          `runner ${name} is online and other runs may ask for its labels: its own idle timeout ends it`,
        );
      }
      const jobs = await github.runJobs(runner.scopeRef, runner.owner, runner.repo, runner.runId);
      if (jobs.some((job) => job.status === 'in_progress' && job.runnerName === name)) {
        return keep(`runner ${name} runs a job of its run (GitHub)`);
      }
      registrationId = registered.id;
    }
    // Not RUNNING: ECS reports RUNNING seconds after the container starts, and a runner may already
    // have taken a job; the deletion vetoes that too.
    if (github && registrationId !== undefined) {
      try {
        await github.deleteRunner(runner.scopeRef, registrationId);
      } catch (error) {
        if (error instanceof GitHubBudgetSpentError) throw error;
        // 422: the runner took a job since we looked. It stays.
        return keep(`GitHub did not delete runner ${name ?? registrationId}: ${errorMessage(error)}`);
      }
    }
    return stopTask(fresh.taskArn, runner.jobId, name, reason);
  }

  /** Stops one runner task, and says so. */
  async function stopTask(
    taskArn: string,
    jobId: number | undefined,
    runnerName: string | undefined,
    reason: string,
  ) {
    await tasks.stop(taskArn, `github-runners reconciler: ${reason}`);
    logger.info('runner task stopped', { jobId, taskArn, runnerName, reason });
    return true;
  }

  /** Stops the task of an ephemeral runner that ran its job to the end (it can take no other). */
  async function stopFinished(task: TaskFacts | undefined, reason: string): Promise<boolean> {
    if (!task || isStopped(task)) return true;
    return stopTask(task.taskArn, task.jobId, task.runnerName, reason);
  }

  /** Tasks of our families that no open job knows (a ledger lost, a duplicate): stopped once idle, within the round's time. */
  async function stopOrphans(
    records: readonly JobRecord[],
    facts: ReadonlyMap<string, TaskFacts>,
    summary: ReconcileSummary,
    context: ApplyContext,
    signal?: AbortSignal,
  ) {
    if (context.timeLeft() <= LAUNCH_MINIMUM_MS || signal?.aborted) return;
    const known = new Set(facts.keys());
    const byJob = new Map(records.map((record) => [record.jobId, record]));
    const idleMs = config.runnerIdleTimeoutSeconds * 1000;
    for (const task of await tasks.listLive(signal)) {
      if (known.has(task.taskArn) || task.jobId === undefined) continue;
      if (context.timeLeft() <= STEP_MINIMUM_MS || signal?.aborted) {
        summary.deferred++;
        continue;
      }
      try {
        if (await stopOrphan(task, byJob.get(task.jobId), idleMs, summary, context)) summary.orphansStopped++;
      } catch (error) {
        if (error instanceof GitHubBudgetSpentError) {
          summary.deferred++;
          continue;
        }
        summary.errors.push({ jobId: task.jobId, reason: `orphan task: ${errorMessage(error)}` });
      }
    }
  }

  /** Stops one task no open job knows, if its runner is idle; returns whether it did. */
  async function stopOrphan(
    task: TaskFacts,
    record: JobRecord | undefined,
    idleMs: number,
    summary: ReconcileSummary,
    context: ApplyContext,
  ): Promise<boolean> {
    // A second task of a job still waiting for its runner may yet take it: left alone for now.
    if (record && (wantsRunner(record) || record.state === 'waiting')) return false;
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
      record ? 'a second runner task of a job that has its runner' : 'a runner task no job knows, idle',
      summary,
      context,
    );
  }

  /** The scope a runner of a repository registers in, from the configuration. */
  function scopeOf(owner: string | undefined, repo: string | undefined): RunnerScopeRef | undefined {
    if (!owner || !repo) return undefined;
    if (config.scope === 'repo') return { kind: 'repo', owner, repo };
    if (config.scope === 'org') return { kind: 'org', org: owner };
    return config.enterprise ? { kind: 'enterprise', enterprise: config.enterprise } : undefined;
  }

  /**
   * The GitHub port within the round's request budget: each call first checks what the round has
   * spent (every HTTP request, retries included, when the client counts them; else one a call).
   */
  function budgeted(
    github: GitHubRunners | undefined,
    ceiling: number,
    summary: ReconcileSummary,
  ): { readonly port: GitHubRunners; readonly left: () => number } | undefined {
    if (!github) return undefined;
    const counter = deps.githubRequests;
    const start = counter?.() ?? 0;
    let calls = 0;
    const spent = () => (counter ? counter() - start : calls);
    const wrap =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        if (spent() >= ceiling) throw new GitHubBudgetSpentError();
        calls++;
        try {
          return await call(...args);
        } finally {
          summary.githubRequests = spent();
        }
      };
    return {
      left: () => ceiling - spent(),
      port: {
        runnerGroupId: wrap(github.runnerGroupId.bind(github)),
        generateJitConfig: wrap(github.generateJitConfig.bind(github)),
        createRegistrationToken: wrap(github.createRegistrationToken.bind(github)),
        rerunJob: wrap(github.rerunJob.bind(github)),
        findRunner: wrap(github.findRunner.bind(github)),
        deleteRunner: wrap(github.deleteRunner.bind(github)),
        job: wrap(github.job.bind(github)),
        runJobs: wrap(github.runJobs.bind(github)),
        listRunners: wrap(github.listRunners.bind(github)),
      },
    };
  }

  return { reconcile };
}

/** Moves GitHub's status of a job to the words the plan reads. */
function wordOf(status: string, runnerName: string | null): GitHubWord {
  const known = ['queued', 'waiting', 'in_progress', 'completed'] as const;
  const word = (known as readonly string[]).includes(status) ? (status as GitHubWord['status']) : 'other';
  return { status: word, runnerName };
}

export type Reconciler = ReturnType<typeof createReconciler>;
