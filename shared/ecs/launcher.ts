import type { RunTaskRequest } from './run-task-input';

/** What became of a launch: a task exists for the job, or it could not be started in time. */
export type LaunchOutcome =
  | { readonly kind: 'started'; readonly taskArn: string; readonly existing: boolean }
  /** `retryable`: time can fix it (throttling, capacity, 5xx, network); else the setup is wrong. */
  | { readonly kind: 'failed'; readonly reason: string; readonly retryable: boolean }
  /** No task was started because `stillWanted` said the job no longer needs one. */
  | { readonly kind: 'not-needed'; readonly reason: string };

/** Options of one launch. */
export interface LaunchOptions {
  /**
   * Asked before a second placement attempt (after `failures[]` or a token conflict), when no task
   * of the job is running: false means the job no longer needs a runner.
   */
  readonly stillWanted?: () => Promise<boolean>;
}

/** The port through which the core starts a runner task. */
export interface RunnerLauncher {
  /** Starts the task of a request (or finds the one already started for that job) by `deadlineAt`. */
  launch(request: RunTaskRequest, deadlineAt: number, options?: LaunchOptions): Promise<LaunchOutcome>;
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
        existing: false,
      };
    },
  };
}
