import type { ECSClient, RunTaskCommandInput, RunTaskCommandOutput } from '@aws-sdk/client-ecs';
import { boundedRequestHandler } from '../call-timeout';
import { retryWithinDeadline } from '../retry';
import type { LaunchOptions, LaunchOutcome, RunnerLauncher } from './launcher';
import type { RunTaskRequest } from './run-task-input';

type EcsModule = typeof import('@aws-sdk/client-ecs');

/** The ECS client and its commands, loaded on first use (most deliveries never need them). */
export interface EcsApi {
  readonly client: ECSClient;
  readonly sdk: Pick<
    EcsModule,
    'RunTaskCommand' | 'ListTasksCommand' | 'DescribeTasksCommand' | 'StopTaskCommand'
  >;
}

/**
 * Loads the ECS SDK once, on first call. Our retry loop owns retries (it knows GitHub's 10 s), so
 * the SDK's own are off. The endpoint comes only from the SDK's settings (`AWS_ENDPOINT_URL_ECS`).
 */
export function lazyEcsApi(): () => Promise<EcsApi> {
  let api: Promise<EcsApi> | undefined;
  return () => {
    api ??= import('@aws-sdk/client-ecs').then((sdk) => ({
      client: new sdk.ECSClient({ maxAttempts: 1, requestHandler: boundedRequestHandler }),
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

/** ECS errors that only the operator can fix: a missing cluster or task definition, access denied. */
const SETUP_ERRORS = new Set([
  'ClusterNotFoundException',
  'ClientException',
  'InvalidParameterException',
  'AccessDeniedException',
  'PlatformUnknownException',
  'UnsupportedFeatureException',
]);

/** Whether an ECS error needs the operator rather than time. */
export const isEcsSetupError = (error: unknown): boolean =>
  SETUP_ERRORS.has((error as { name?: string }).name ?? '');

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `unexpected error: ${String(error)}`;

/**
 * The ECS adapter of {@link RunnerLauncher}. One RunTask call on the usual path. When ECS answers
 * `failures[]` (no capacity, no agent) the request's token may now hold that answer for 24 h; when
 * it answers ConflictException the token was used by another request for the same job (another
 * JIT config). Either way the token is spent: the launcher looks for a task of the job
 * (`ListTasks` by `startedBy`) and otherwise tries once more under a token shared by every attempt
 * in the same retry window, so two attempts racing for one job still share a token.
 */
/**
 * Attempts after a spent token within one window share a token. Short, so a later retry gets a
 * fresh placement; attempts racing for one job (the same delivery twice at once) still fall in one
 * window, and ListTasks catches the sequential ones.
 */
export const RETRY_WINDOW_MS = 2_000;

export function createEcsLauncher(options: {
  readonly ecs: () => Promise<EcsApi>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Default {@link RETRY_WINDOW_MS}. */
  readonly retryWindowMs?: number;
}): RunnerLauncher {
  const now = options.now ?? Date.now;
  const retryWindowMs = options.retryWindowMs ?? RETRY_WINDOW_MS;

  const retry = <T>(deadlineAt: number, call: (signal: AbortSignal) => Promise<T>) =>
    retryWithinDeadline(call, {
      deadlineAt,
      isRetryable: isRetryableEcsError,
      now,
      ...(options.sleep && { sleep: options.sleep }),
    });

  async function findTask(request: RunTaskRequest, deadlineAt: number): Promise<string | undefined> {
    const { client, sdk } = await options.ecs();
    const { cluster, startedBy } = request.input;
    const listed = await retry(deadlineAt, (abortSignal) =>
      client.send(new sdk.ListTasksCommand({ cluster, startedBy, desiredStatus: 'RUNNING' }), {
        abortSignal,
      }),
    );
    return listed.taskArns?.[0];
  }

  /** One RunTask under a token: the task, or why there is none (`spent` when the token can't start it). */
  async function runTask(
    input: RunTaskCommandInput,
    deadlineAt: number,
  ): Promise<{ taskArn: string } | { spent: string }> {
    const { client, sdk } = await options.ecs();
    try {
      const output = await retry(deadlineAt, (abortSignal) =>
        client.send(new sdk.RunTaskCommand(input), { abortSignal }),
      );
      const taskArn = output.tasks?.[0]?.taskArn;
      return taskArn === undefined
        ? { spent: `ECS could not place the task: ${failures(output)}` }
        : { taskArn };
    } catch (error) {
      if ((error as { name?: string }).name === 'ConflictException') return { spent: describeError(error) };
      throw error;
    }
  }

  return {
    async launch(
      request: RunTaskRequest,
      deadlineAt: number,
      launchOptions: LaunchOptions = {},
    ): Promise<LaunchOutcome> {
      try {
        const first = await runTask(request.input, deadlineAt);
        if ('taskArn' in first) return { kind: 'started', taskArn: first.taskArn, existing: false };

        const existing = await findTask(request, deadlineAt);
        if (existing !== undefined) return { kind: 'started', taskArn: existing, existing: true };
        if (launchOptions.stillWanted && !(await launchOptions.stillWanted())) {
          return { kind: 'not-needed', reason: `${first.spent}; the job is no longer queued` };
        }

        const second = await runTask(
          request.withToken(`retry-${Math.floor(now() / retryWindowMs)}`),
          deadlineAt,
        );
        if ('taskArn' in second) return { kind: 'started', taskArn: second.taskArn, existing: false };
        const raced = await findTask(request, deadlineAt);
        if (raced !== undefined) return { kind: 'started', taskArn: raced, existing: true };
        return { kind: 'failed', reason: second.spent, retryable: true };
      } catch (error) {
        return {
          kind: 'failed',
          reason: `ECS did not start the task: ${describeError(error)}`,
          retryable: !isEcsSetupError(error),
        };
      }
    },
  };
}

const failures = (output: RunTaskCommandOutput) =>
  (output.failures ?? []).map((f) => [f.reason, f.detail].filter(Boolean).join(': ')).join('; ') ||
  'ECS returned no task and no failure';
