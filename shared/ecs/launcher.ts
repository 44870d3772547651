import type { FailureKind } from '../failure-kind';
import type { RunTaskRequest } from './run-task-input';

/** What became of one RunTask under one token. */
export type LaunchOutcome =
  /** A task exists under the token: started now, or started before and answered again. */
  | { readonly kind: 'started'; readonly taskArn: string }
  /** ECS answered `failures[]` (no capacity, no agent): no task under this token, ever. */
  | { readonly kind: 'placement-failed'; readonly reason: string }
  /**
   * The token was used before by another request (ConflictException): a task may exist under it
   * that only a look-up can find.
   */
  | { readonly kind: 'conflict'; readonly reason: string }
  /** No answer in time, or a refusal: `failure` says whether time (`retryable`, `unknown`) or the operator (`setup`) fixes it. */
  | { readonly kind: 'failed'; readonly reason: string; readonly failure: FailureKind };

/** Which attempt's task to look for. */
export interface AttemptTask {
  readonly cluster: string;
  readonly jobId: number;
  readonly attempt: number;
}

/** The port through which the core starts a runner task. */
export interface RunnerLauncher {
  /** One RunTask under the request's token, retried within `deadlineAt` while that is safe. */
  launch(request: RunTaskRequest, deadlineAt: number): Promise<LaunchOutcome>;
  /**
   * A live task of one attempt: listed by the attempt's `startedBy` and confirmed by DescribeTasks
   * (not stopped or stopping, with the attempt's tag), whatever ListTasks still lists.
   */
  findTask(attempt: AttemptTask, deadlineAt: number): Promise<string | undefined>;
}

/**
 * The launcher of `npm start`: prints the exact RunTask request it would send and pretends the
 * task started, so a user can see what a delivery would do without an AWS account.
 */
export function createDryRunLauncher(print: (line: string) => void): RunnerLauncher {
  return {
    async launch(request) {
      print(`[dry run] ECS RunTask request:\n${JSON.stringify(request.input, null, 2)}`);
      return {
        kind: 'started',
        taskArn: `arn:aws:ecs:dry-run:000000000000:task/dry-run/${request.input.clientToken.slice(0, 32)}`,
      };
    },
    async findTask() {
      return undefined;
    },
  };
}
