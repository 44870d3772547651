/**
 * The lifecycle suites' view of jobs and their tasks: a job of ours queued on the GitHub stand-in,
 * and the ECS stand-in's tasks of a job, found by `startedBy` as the functions read it.
 */
import { parseStartedBy } from '../../shared/ecs/run-task-input';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import type { EcsTask } from './ecs-stand-in';
import type { GitHubStandIn } from './github-stand-in';

export type Payload = ReturnType<typeof jobOfOurs>;

export const jobIdOf = (payload: Payload): number => payload.workflow_job.id as number;

/** The job a task (or a RunTask input) was started for, from its `startedBy`. */
export const jobOfStartedBy = (startedBy: unknown): number | undefined =>
  typeof startedBy === 'string' ? parseStartedBy(startedBy)?.jobId : undefined;

/** Every task ever started for the job, any attempt, stopped or not. */
export const tasksOfJob = (tasks: readonly EcsTask[], jobId: number): EcsTask[] =>
  tasks.filter((task) => jobOfStartedBy(task.startedBy) === jobId);

/** The tasks that still run or wait to run. */
export const liveOnly = (tasks: readonly EcsTask[]): EcsTask[] =>
  tasks.filter((task) => task.desiredStatus === 'RUNNING');

export const taskTag = (task: EcsTask | undefined, key: string): string | undefined =>
  task?.tags.find((t) => t.key === key)?.value;

/**
 * A maker of jobs of ours, queued now on GitHub (the stand-in knows each job's state and run): job
 * ids count up from `firstJobId`, runs from `firstRunId`.
 */
export function queuedJobs(github: () => GitHubStandIn, firstJobId: number, firstRunId: number) {
  let nextJob = firstJobId;
  return (variation: JobVariation = {}): Payload => {
    const payload = jobOfOurs({ jobId: nextJob++, runId: firstRunId + (nextJob % 1000), ...variation });
    payload.workflow_job.created_at = new Date().toISOString();
    const id = jobIdOf(payload);
    github().jobs.set(id, 'queued');
    github().jobRuns.set(id, {
      runId: payload.workflow_job.run_id as number,
      labels: payload.workflow_job.labels as string[],
    });
    return payload;
  };
}
