/**
 * GitHub on the virtual clock: the jobs of the trace queued at their time, `workflow_job`
 * deliveries to the webhook, JIT runners that connect and are given a job (the oldest queued job
 * whose labels the runner has: a matrix's runners take its jobs in any order), and the runner API
 * the launch path calls, each call taking its time.
 */
import { type GitHubRunners, RunnerExistsError } from '../../shared/github/ports';
import type { WorkflowJobEvent } from '../../shared/runner/workflow-job';
import { type DelayName, draw } from './delays';
import type { TraceJob } from './job-trace';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export interface SimJob {
  readonly trace: TraceJob;
  readonly labels: readonly string[];
  /** The queued delivery, as the webhook parses it. */
  readonly queued: WorkflowJobEvent;
  status: 'queued' | 'in_progress' | 'completed';
  runnerName: string | undefined;
  startedAt: number | undefined;
  completedAt: number | undefined;
  /** How many runners took it (1: exactly once). */
  starts: number;
}

export interface SimRunner {
  readonly id: number;
  readonly name: string;
  readonly labels: readonly string[];
  /** Called when the runner is done: its job completed, or no job came within its idle timeout. */
  readonly exited: (reason: string) => void;
  /** The job it took. */
  job: SimJob | undefined;
}

export interface GitHub {
  readonly runners: GitHubRunners;
  readonly jobs: ReadonlyMap<number, SimJob>;
  /** Queues every job of the trace at its time. */
  schedule(jobs: readonly TraceJob[], eventOf: (job: TraceJob) => WorkflowJobEvent): void;
  /** A runner started from this JIT config connected: it takes a job, or waits for one. */
  connect(jitConfig: string, exited: (reason: string) => void): SimRunner | undefined;
  /** The runner's task was stopped (StopTask): it is gone. */
  disconnect(runner: SimRunner): void;
}

/** Seconds an idle ephemeral runner waits for a job before it gives up (RUNNER_IDLE_TIMEOUT's default). */
const RUNNER_IDLE_TIMEOUT_MS = 900_000;

export function createGitHub(deps: {
  readonly clock: VirtualClock;
  readonly random: Random;
  /** A `workflow_job` delivery reaches the webhook. */
  readonly deliver: (event: WorkflowJobEvent) => void;
}): GitHub {
  const { clock, random } = deps;
  const wait = (name: DelayName) => draw(random, name);
  const call = () => clock.sleep(wait('githubApi'));
  const jobs = new Map<number, SimJob>();
  const queue: SimJob[] = [];
  const idle: SimRunner[] = [];
  /** JIT registrations by config, and the registered runners by name (online once connected). */
  const registrations = new Map<string, { id: number; name: string; labels: readonly string[] }>();
  const registered = new Map<
    string,
    { id: number; name: string; labels: readonly string[]; runner?: SimRunner }
  >();
  let runnerIds = 1;
  const groups = new Set<string>();

  const byRun = new Map<number, SimJob[]>();
  const describeRunner = (r: {
    id: number;
    name: string;
    labels: readonly string[];
    runner?: SimRunner;
  }) => ({
    id: r.id,
    name: r.name,
    status: r.runner === undefined ? 'offline' : 'online',
    busy: r.runner?.job !== undefined,
    labels: r.labels,
  });

  const covers = (runner: SimRunner, job: SimJob) =>
    job.labels.every((label) => runner.labels.includes(label));

  const deliver = (job: SimJob, action: 'queued' | 'in_progress' | 'completed') => {
    const event: WorkflowJobEvent =
      action === 'queued'
        ? job.queued
        : {
            ...job.queued,
            action,
            job: {
              ...job.queued.job,
              status: action,
              startedAt: new Date(job.startedAt ?? clock.now()).toISOString(),
              runnerName: job.runnerName,
              ...(action === 'completed' && { conclusion: 'success' }),
            },
          };
    clock.after(wait('webhookDelivery'), () => deps.deliver(event));
  };

  const assign = (runner: SimRunner, job: SimJob) => {
    queue.splice(queue.indexOf(job), 1);
    runner.job = job;
    job.status = 'in_progress';
    job.runnerName = runner.name;
    clock.after(wait('jobAssignment'), () => {
      job.startedAt = clock.now();
      job.starts++;
      deliver(job, 'in_progress');
      clock.after(job.trace.durationMs, () => {
        job.status = 'completed';
        job.completedAt = clock.now();
        deliver(job, 'completed');
        // An ephemeral runner is removed once its job is done.
        registered.delete(runner.name);
        runner.exited('Essential container in task exited');
      });
    });
  };

  const offer = (runner: SimRunner) => {
    const job = queue.find((candidate) => covers(runner, candidate));
    if (job !== undefined) {
      assign(runner, job);
      return;
    }
    idle.push(runner);
    clock.after(RUNNER_IDLE_TIMEOUT_MS, () => {
      const i = idle.indexOf(runner);
      if (i < 0) return;
      idle.splice(i, 1);
      registered.delete(runner.name);
      runner.exited('the runner found no job in its idle timeout');
    });
  };

  const runners: GitHubRunners = {
    async rerunJob() {
      await call();
    },
    async runnerGroupId(_scope, name) {
      // The real adapter caches group ids per cold start: one look-up per group.
      if (!groups.has(name)) {
        await call();
        groups.add(name);
      }
      return 1;
    },
    async generateJitConfig(_scope, runner) {
      await call();
      if (registered.has(runner.name)) throw new RunnerExistsError(runner.name);
      const runnerId = runnerIds++;
      const encodedJitConfig = `jit-${runnerId}`;
      const registration = { id: runnerId, name: runner.name, labels: runner.labels };
      registrations.set(encodedJitConfig, registration);
      registered.set(runner.name, { ...registration });
      return { runnerId, encodedJitConfig };
    },
    async createRegistrationToken() {
      await call();
      return { token: 'sim-registration-token', expiresAt: new Date(clock.now() + 3_600_000).toISOString() };
    },
    async findRunner(_scope, name) {
      await call();
      const found = registered.get(name);
      return found === undefined ? undefined : describeRunner(found);
    },
    async deleteRunner(_scope, runnerId) {
      await call();
      const found = [...registered.values()].find((r) => r.id === runnerId);
      if (found === undefined) return;
      if (found.runner?.job !== undefined)
        throw Object.assign(new Error(`Runner ${found.name} is still running a job`), { status: 422 });
      registered.delete(found.name);
      const runner = found.runner;
      if (runner === undefined) return;
      // Its session is gone: the runner exits.
      const i = idle.indexOf(runner);
      if (i >= 0) idle.splice(i, 1);
      runner.exited('its registration was deleted');
    },
    async job(_scope, _owner, _repo, jobId) {
      await call();
      const job = jobs.get(jobId);
      return job === undefined ? undefined : { status: job.status, runnerName: job.runnerName ?? null };
    },
    async runJobs(_scope, _owner, _repo, runId) {
      await call();
      return [...(byRun.get(runId) ?? [])].map((job) => ({
        id: job.trace.jobId,
        labels: job.labels,
        status: job.status,
        runnerName: job.runnerName ?? null,
      }));
    },
    async listRunners() {
      await call();
      return [...registered.values()].map(describeRunner);
    },
  };

  return {
    runners,
    jobs,
    schedule(trace, eventOf) {
      for (const traceJob of trace) {
        const queued = eventOf(traceJob);
        const job: SimJob = {
          trace: traceJob,
          labels: queued.job.labels,
          queued,
          status: 'queued',
          runnerName: undefined,
          startedAt: undefined,
          completedAt: undefined,
          starts: 0,
        };
        jobs.set(traceJob.jobId, job);
        byRun.set(traceJob.runId, [...(byRun.get(traceJob.runId) ?? []), job]);
        clock.at(traceJob.queuedAt, () => {
          const runner = idle.find((candidate) => covers(candidate, job));
          queue.push(job);
          if (runner !== undefined) {
            idle.splice(idle.indexOf(runner), 1);
            assign(runner, job);
          }
          deliver(job, 'queued');
        });
      }
    },
    connect(jitConfig, exited) {
      const registration = registrations.get(jitConfig);
      const entry = registration && registered.get(registration.name);
      if (registration === undefined || entry === undefined || entry.id !== registration.id) return undefined;
      const runner: SimRunner = { ...registration, exited, job: undefined };
      entry.runner = runner;
      offer(runner);
      return runner;
    },
    disconnect(runner) {
      const i = idle.indexOf(runner);
      if (i >= 0) idle.splice(i, 1);
      if (registered.get(runner.name)?.runner === runner) registered.delete(runner.name);
    },
  };
}
