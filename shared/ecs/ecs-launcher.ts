import type { ECSClient, RunTaskCommandInput, RunTaskCommandOutput } from '@aws-sdk/client-ecs';
import { retryWithinDeadline } from '../retry';
import type { LaunchOutcome, RunnerLauncher } from './launcher';
import type { RunTaskRequest } from './run-task-input';

type EcsModule = typeof import('@aws-sdk/client-ecs');

/** The ECS client and its commands, loaded on first use (most deliveries never need them). */
export interface EcsApi {
  readonly client: ECSClient;
  readonly sdk: Pick<EcsModule, 'RunTaskCommand' | 'ListTasksCommand'>;
}

/**
 * Loads the ECS SDK once, on first call. Our retry loop owns retries (it knows GitHub's 10 s), so
 * the SDK's own are off. The endpoint comes only from the SDK's settings (`AWS_ENDPOINT_URL_ECS`).
 */
export function lazyEcsApi(): () => Promise<EcsApi> {
  let api: Promise<EcsApi> | undefined;
  return () => {
    api ??= import('@aws-sdk/client-ecs').then((sdk) => ({
      client: new sdk.ECSClient({ maxAttempts: 1 }),
      sdk,
    }));
    return api;
  };
}

const THROTTLING = new Set(['ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * Throttling, ECS's 5xx and transport failures (no HTTP answer at all: reset, hang-up, refused)
 * are worth another try: the clientToken makes a retry of a request ECS did run harmless.
 * A refused request (4xx) or our own deadline is not.
 */
export function isRetryableEcsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code, $metadata } = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (name === 'AbortError') return false;
  if (name !== undefined && THROTTLING.has(name)) return true;
  if (name === 'TimeoutError' || (code !== undefined && NETWORK_CODES.has(code))) return true;
  if ($metadata === undefined) return false;
  const status = $metadata.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `unexpected error: ${String(error)}`;

/**
 * The ECS adapter of {@link RunnerLauncher}. One RunTask call on the usual path. When ECS answers
 * `failures[]` (no capacity, no agent), the request's token may now hold that answer for 24 h, so
 * it looks for a task another attempt started for the same job (`startedBy`) and otherwise tries
 * once more under a token shared by every attempt in the same retry window: two attempts racing
 * for one job still share a token, and a later attempt gets a fresh placement.
 */
export function createEcsLauncher(options: {
  readonly ecs: () => Promise<EcsApi>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Attempts after a `failures[]` answer within one window share a token (default 10 s). */
  readonly retryWindowMs?: number;
}): RunnerLauncher {
  const now = options.now ?? Date.now;
  const retryWindowMs = options.retryWindowMs ?? 10_000;
  return {
    async launch(request: RunTaskRequest, deadlineAt: number): Promise<LaunchOutcome> {
      const { client, sdk } = await options.ecs();
      const retry = <T>(call: (signal: AbortSignal) => Promise<T>) =>
        retryWithinDeadline(call, {
          deadlineAt,
          isRetryable: isRetryableEcsError,
          now,
          ...(options.sleep && { sleep: options.sleep }),
        });
      const runTask = (input: RunTaskCommandInput) =>
        retry((abortSignal) => client.send(new sdk.RunTaskCommand(input), { abortSignal }));
      const started = (output: RunTaskCommandOutput): LaunchOutcome | undefined => {
        const taskArn = output.tasks?.[0]?.taskArn;
        return taskArn === undefined ? undefined : { kind: 'started', taskArn, existing: false };
      };
      const failures = (output: RunTaskCommandOutput) =>
        (output.failures ?? []).map((f) => [f.reason, f.detail].filter(Boolean).join(': ')).join('; ') ||
        'ECS returned no task and no failure';

      try {
        const first = await runTask(request.input);
        const outcome = started(first);
        if (outcome) return outcome;

        const { cluster, startedBy } = request.input;
        const listed = await retry((abortSignal) =>
          client.send(new sdk.ListTasksCommand({ cluster, startedBy, desiredStatus: 'RUNNING' }), {
            abortSignal,
          }),
        );
        const existing = listed.taskArns?.[0];
        if (existing !== undefined) return { kind: 'started', taskArn: existing, existing: true };

        const second = await runTask(request.withToken(`retry-${Math.floor(now() / retryWindowMs)}`));
        return (
          started(second) ?? { kind: 'failed', reason: `ECS could not place the task: ${failures(second)}` }
        );
      } catch (error) {
        return { kind: 'failed', reason: `ECS did not start the task: ${describeError(error)}` };
      }
    },
  };
}
