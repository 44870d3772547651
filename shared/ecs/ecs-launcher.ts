import type { RunTaskCommandOutput } from '@aws-sdk/client-ecs';
import { classifyAwsError } from '../failure-kind';
import { retryWithinDeadline } from '../retry';
import type { EcsApi } from './ecs-api';
import type { AttemptTask, LaunchOutcome, RunnerLauncher } from './launcher';
import { parseStartedBy, type RunTaskRequest, startedByForAttempt, TASK_TAGS } from './run-task-input';
import { isStopped, toTaskFacts } from './runner-tasks';

/**
 * A retry under the same token is always safe (ECS answers a token it ran with the same task), so
 * throttling and every call without an answer are retried; a refusal (setup) and a token conflict
 * are not.
 */
const isRetryable = (error: unknown) =>
  (error as { name?: string }).name !== 'ConflictException' && classifyAwsError(error) !== 'setup';

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `unexpected error: ${String(error)}`;

/**
 * The ECS adapter of {@link RunnerLauncher}: one RunTask under the request's token (retried under
 * the same token within the deadline), and the look-up of an attempt's live task.
 */
export function createEcsLauncher(options: {
  readonly ecs: () => Promise<EcsApi>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}): RunnerLauncher {
  const now = options.now ?? Date.now;
  const retry = <T>(deadlineAt: number, call: (signal: AbortSignal) => Promise<T>) =>
    retryWithinDeadline(call, {
      deadlineAt,
      isRetryable,
      now,
      ...(options.sleep && { sleep: options.sleep }),
    });

  return {
    async launch(request: RunTaskRequest, deadlineAt: number): Promise<LaunchOutcome> {
      const { client, sdk } = await options.ecs();
      try {
        const output = await retry(deadlineAt, (abortSignal) =>
          client.send(new sdk.RunTaskCommand(request.input), { abortSignal }),
        );
        const taskArn = output.tasks?.[0]?.taskArn;
        if (taskArn !== undefined) return { kind: 'started', taskArn };
        return { kind: 'placement-failed', reason: `ECS could not place the task: ${failures(output)}` };
      } catch (error) {
        if ((error as { name?: string }).name === 'ConflictException') {
          return { kind: 'conflict', reason: describeError(error) };
        }
        return {
          kind: 'failed',
          reason: `ECS did not start the task: ${describeError(error)}`,
          failure: classifyAwsError(error),
        };
      }
    },

    async findTask(attempt: AttemptTask, deadlineAt: number): Promise<string | undefined> {
      const { client, sdk } = await options.ecs();
      const { cluster } = attempt;
      const startedBy = startedByForAttempt(attempt.jobId, attempt.attempt);
      const listed = await retry(deadlineAt, (abortSignal) =>
        client.send(new sdk.ListTasksCommand({ cluster, startedBy, desiredStatus: 'RUNNING' }), {
          abortSignal,
        }),
      );
      const arns = listed.taskArns ?? [];
      if (arns.length === 0) return undefined;
      // ListTasks is eventually consistent: it still lists a task stopped seconds ago.
      const described = await retry(deadlineAt, (abortSignal) =>
        client.send(new sdk.DescribeTasksCommand({ cluster, tasks: arns.slice(0, 100), include: ['TAGS'] }), {
          abortSignal,
        }),
      );
      const live = (described.tasks ?? []).find((task) => {
        const facts = toTaskFacts(task);
        const tag = task.tags?.find((t) => t.key === TASK_TAGS.launchAttempt)?.value;
        return (
          facts !== undefined &&
          !isStopped(facts) &&
          tag === String(attempt.attempt) &&
          parseStartedBy(task.startedBy)?.jobId === attempt.jobId
        );
      });
      return live?.taskArn;
    },
  };
}

const failures = (output: RunTaskCommandOutput) =>
  (output.failures ?? []).map((f) => [f.reason, f.detail].filter(Boolean).join(': ')).join('; ') ||
  'ECS returned no task and no failure';
