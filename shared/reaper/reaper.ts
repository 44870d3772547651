import type { GitHubRunners, RegisteredRunner, RunJob } from '../github/ports';
import { runnerCoversJob } from '../runner/label-coverage';
import { type ReapDecision, type RunnerTask, reapDecision } from './reap-decision';
import type { RunnerTasks } from './runner-tasks';

/** What one sweep did. */
export interface ReapSummary {
  readonly checked: number;
  readonly stopped: Array<{ readonly taskArn: string; readonly runnerName: string; readonly reason: string }>;
  kept: number;
  /** Tasks that could not be checked or stopped this time (and why). */
  readonly errors: Array<{ readonly taskArn: string; readonly reason: string }>;
}

export interface Reaper {
  /** Checks every runner task (or only those of one workflow run) and stops the idle ones. */
  sweep(options?: { readonly runId?: number; readonly signal?: AbortSignal }): Promise<ReapSummary>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Stops runner tasks nobody needs: it asks GitHub about each task's runner and job, decides with
 * {@link reapDecision}, deletes the runner's registration first (GitHub refuses to delete a busy
 * runner, so a runner that took a job a moment ago survives), then stops the task.
 */
export function createReaper(deps: {
  readonly tasks: RunnerTasks;
  readonly github: GitHubRunners;
  readonly idleTimeoutMs: number;
  readonly now?: () => number;
}): Reaper {
  const now = deps.now ?? Date.now;
  return {
    async sweep(options = {}) {
      const all = await deps.tasks.list(options.signal);
      const tasks = options.runId === undefined ? all : all.filter((task) => task.runId === options.runId);
      const summary: ReapSummary = { checked: tasks.length, stopped: [], kept: 0, errors: [] };
      const runnersByScope = new Map<string, Promise<Map<string, RegisteredRunner>>>();
      const runnersOf = (task: RunnerTask) => {
        const key = JSON.stringify(task.scopeRef);
        let runners = runnersByScope.get(key);
        if (!runners) {
          runners = deps.github
            .listRunners(task.scopeRef, options.signal)
            .then((list) => new Map(list.map((runner) => [runner.name, runner])));
          runnersByScope.set(key, runners);
        }
        return runners;
      };
      const jobsByRun = new Map<string, Promise<RunJob[]>>();
      const jobsOf = (task: RunnerTask) => {
        const key = `${task.repository}#${task.runId}`;
        let jobs = jobsByRun.get(key);
        if (!jobs) {
          const [owner = '', repo = ''] = task.repository.split('/');
          jobs = deps.github.runJobs(task.scopeRef, owner, repo, task.runId, options.signal);
          jobsByRun.set(key, jobs);
        }
        return jobs;
      };
      for (const task of tasks) {
        let decision: ReapDecision;
        let runner: RegisteredRunner | undefined;
        try {
          runner = (await runnersOf(task)).get(task.runnerName);
          const jobs = runner?.busy ? [] : await jobsOf(task);
          const job = jobs.find((candidate) => candidate.id === task.jobId);
          const queuedJobsItCanTake = jobs.filter(
            (candidate) => candidate.status === 'queued' && runnerCoversJob(task.labels, candidate.labels),
          ).length;
          decision = reapDecision(task, { runner, job, queuedJobsItCanTake }, now(), deps.idleTimeoutMs);
        } catch (error) {
          summary.errors.push({ taskArn: task.taskArn, reason: `could not check: ${message(error)}` });
          continue;
        }
        if (decision.kind === 'keep') {
          summary.kept++;
          continue;
        }
        try {
          if (runner) await deps.github.deleteRunner(task.scopeRef, runner.id);
        } catch (error) {
          // 422: the runner took a job since we looked. It stays.
          summary.kept++;
          summary.errors.push({
            taskArn: task.taskArn,
            reason: `kept: GitHub did not delete the runner (${message(error)})`,
          });
          continue;
        }
        try {
          await deps.tasks.stop(task.taskArn, `github-runners reaper: ${decision.reason}`);
          summary.stopped.push({
            taskArn: task.taskArn,
            runnerName: task.runnerName,
            reason: decision.reason,
          });
        } catch (error) {
          summary.errors.push({ taskArn: task.taskArn, reason: `could not stop: ${message(error)}` });
        }
      }
      return summary;
    },
  };
}
