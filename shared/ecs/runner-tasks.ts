import type { Task } from '@aws-sdk/client-ecs';
import type { Config } from '../config';
import type { EcsApi } from './ecs-api';
import { parseStartedBy, TASK_TAGS } from './run-task-input';

/** What ECS says of a runner task. */
export interface TaskFacts {
  readonly taskArn: string;
  /** PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED. */
  readonly lastStatus: string;
  readonly desiredStatus: string;
  readonly stoppedReason: string | undefined;
  /** The runner container's exit code, once it exited (`containers[].exitCode`). */
  readonly exitCode?: number | undefined;
  /** Epoch ms the task was RUNNING; undefined before. */
  readonly startedAt: number | undefined;
  readonly createdAt: number | undefined;
  /** The job it was started for (`startedBy`); undefined for a task that is not ours. */
  readonly jobId: number | undefined;
  /** The launch attempt it was started for (our tag). */
  readonly attempt: number | undefined;
  readonly runnerName: string | undefined;
  /** `owner/name` of the job's repository (our tag). */
  readonly repository: string | undefined;
  /** The workflow run of its job (our tag). */
  readonly runId: number | undefined;
}

/** The port to the runner tasks on the cluster. */
export interface RunnerTasks {
  /** The tasks ECS still knows, by ARN (a task ECS forgot, or not yet visible, is absent). */
  describe(taskArns: readonly string[], signal?: AbortSignal): Promise<Map<string, TaskFacts>>;
  /** Every task of a runner profile's family whose desired status is RUNNING. */
  listLive(signal?: AbortSignal): Promise<TaskFacts[]>;
  stop(taskArn: string, reason: string, signal?: AbortSignal): Promise<void>;
}

/** Whether a task is gone or going (it can never run a job again). */
export const isStopped = (task: TaskFacts): boolean =>
  task.desiredStatus === 'STOPPED' ||
  ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'].includes(task.lastStatus);

/** Whether a task still waits to run (for capacity, its image or its agent). */
export const isWaiting = (task: TaskFacts): boolean =>
  !isStopped(task) && ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(task.lastStatus);

const time = (value: Date | undefined) => (value instanceof Date ? value.getTime() : undefined);

const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));

export function toTaskFacts(task: Task): TaskFacts | undefined {
  if (!task.taskArn) return undefined;
  const tag = (key: string) => task.tags?.find((t) => t.key === key)?.value;
  // A runner task has one container: the runner's.
  const exitCode = task.containers?.find((container) => container.exitCode !== undefined)?.exitCode;
  return {
    taskArn: task.taskArn,
    lastStatus: task.lastStatus ?? 'PROVISIONING',
    desiredStatus: task.desiredStatus ?? 'RUNNING',
    stoppedReason: task.stoppedReason,
    ...(exitCode !== undefined && { exitCode }),
    startedAt: time(task.startedAt),
    createdAt: time(task.createdAt),
    jobId: parseStartedBy(task.startedBy)?.jobId,
    attempt: number(tag(TASK_TAGS.launchAttempt)),
    runnerName: tag(TASK_TAGS.runnerName),
    repository: tag(TASK_TAGS.repository),
    runId: number(tag(TASK_TAGS.runId)),
  };
}

/** The family of a task definition given as family, `family:revision` or ARN. */
export const familyOf = (taskDefinition: string): string =>
  taskDefinition.replace(/^arn:[^:]+:ecs:[^:]+:\d+:task-definition\//, '').replace(/:\d+$/, '');

/** The ECS adapter of {@link RunnerTasks}: DescribeTasks (100 a call, with tags), ListTasks per family. */
export function createEcsRunnerTasks(
  config: Pick<Config, 'ecs' | 'profiles'>,
  load: () => Promise<EcsApi>,
): RunnerTasks {
  const cluster = config.ecs.cluster;
  const families = [...new Set(config.profiles.map((profile) => familyOf(profile.taskDefinition)))];
  const options = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
  async function describe(taskArns: readonly string[], signal?: AbortSignal) {
    const { client, sdk } = await load();
    const found = new Map<string, TaskFacts>();
    for (let i = 0; i < taskArns.length; i += 100) {
      const { tasks = [] } = await client.send(
        new sdk.DescribeTasksCommand({ cluster, tasks: taskArns.slice(i, i + 100), include: ['TAGS'] }),
        options(signal),
      );
      for (const task of tasks) {
        const facts = toTaskFacts(task);
        if (facts) found.set(facts.taskArn, facts);
      }
    }
    return found;
  }
  return {
    describe,
    async listLive(signal) {
      const { client, sdk } = await load();
      const arns: string[] = [];
      for (const family of families) {
        let nextToken: string | undefined;
        do {
          const page = await client.send(
            new sdk.ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING', nextToken }),
            options(signal),
          );
          arns.push(...(page.taskArns ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
      }
      return [...(await describe(arns, signal)).values()];
    },
    async stop(taskArn, reason, signal) {
      const { client, sdk } = await load();
      // StopTask's reason is at most 255 characters.
      await client.send(
        new sdk.StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, 255) }),
        options(signal),
      );
    },
  };
}
