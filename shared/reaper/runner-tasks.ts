import type { Task } from '@aws-sdk/client-ecs';
import type { EcsSettings } from '../config';
import { RUNNER_ENV } from '../defaults';
import type { EcsApi } from '../ecs/ecs-launcher';
import { TASK_TAGS } from '../ecs/run-task-input';
import type { RunnerScopeRef } from '../github/ports';
import type { RunnerTask } from './reap-decision';

/** The port to the runner tasks on the cluster. */
export interface RunnerTasks {
  /** Every running or starting task of the runner task definition that we started for a job. */
  list(signal?: AbortSignal): Promise<RunnerTask[]>;
  stop(taskArn: string, reason: string): Promise<void>;
}

/** Reads a task we started (tags and the scope variable of its override); undefined for any other task. */
export function toRunnerTask(task: Task, containerName: string): RunnerTask | undefined {
  const tag = (key: string) => task.tags?.find((t) => t.key === key)?.value;
  const jobId = Number(tag(TASK_TAGS.jobId));
  const runId = Number(tag(TASK_TAGS.runId));
  const repository = tag(TASK_TAGS.repository);
  const runnerName = tag(TASK_TAGS.runnerName);
  if (
    !task.taskArn ||
    !Number.isSafeInteger(jobId) ||
    !Number.isSafeInteger(runId) ||
    !repository ||
    !runnerName
  ) {
    return undefined;
  }
  const environment =
    task.overrides?.containerOverrides?.find((o) => o.name === containerName)?.environment ?? [];
  const value = (name: string) => environment.find((e) => e.name === name)?.value;
  const [owner = '', repo = ''] = repository.split('/');
  const organization = value(RUNNER_ENV.organization);
  const enterprise = value(RUNNER_ENV.enterprise);
  const scopeRef: RunnerScopeRef =
    organization !== undefined
      ? { kind: 'org', org: organization }
      : enterprise !== undefined
        ? { kind: 'enterprise', enterprise }
        : { kind: 'repo', owner, repo };
  const labels = (value(RUNNER_ENV.labels) ?? '').split(',').filter((label) => label !== '');
  return {
    taskArn: task.taskArn,
    jobId,
    runId,
    repository,
    runnerName,
    labels,
    scopeRef,
    createdAt: task.createdAt instanceof Date ? task.createdAt.getTime() : Date.now(),
  };
}

/** The ECS adapter of {@link RunnerTasks}: ListTasks by family, DescribeTasks with tags (100 a call). */
export function createEcsRunnerTasks(ecs: EcsSettings, load: () => Promise<EcsApi>): RunnerTasks {
  const family = ecs.taskDefinition
    .replace(/^arn:aws:ecs:[^:]+:\d+:task-definition\//, '')
    .replace(/:\d+$/, '');
  return {
    async list(signal) {
      const { client, sdk } = await load();
      const options = signal ? { abortSignal: signal } : {};
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListTasksCommand({ cluster: ecs.cluster, family, desiredStatus: 'RUNNING', nextToken }),
          options,
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const tasks: RunnerTask[] = [];
      for (let i = 0; i < arns.length; i += 100) {
        const { tasks: described = [] } = await client.send(
          new sdk.DescribeTasksCommand({
            cluster: ecs.cluster,
            tasks: arns.slice(i, i + 100),
            include: ['TAGS'],
          }),
          options,
        );
        for (const task of described) {
          const runnerTask = toRunnerTask(task, ecs.containerName);
          if (runnerTask) tasks.push(runnerTask);
        }
      }
      return tasks;
    },
    async stop(taskArn, reason) {
      const { client, sdk } = await load();
      // StopTask's reason is at most 255 characters.
      await client.send(
        new sdk.StopTaskCommand({ cluster: ecs.cluster, task: taskArn, reason: reason.slice(0, 255) }),
      );
    },
  };
}
