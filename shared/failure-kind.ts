/**
 * What a failed call to a service means for the caller, sorted once per service and used by every
 * path (the webhook's launch, the overflow launcher, the reconciler):
 * - `retryable`: the call did nothing (throttled, refused for now): the same call later may work.
 * - `setup`: only the operator can fix it (credentials, permissions, a missing resource).
 * - `unknown`: the call may have done its work: its answer was lost, late, or a 5xx after the
 *   write. The caller must not act as if nothing happened (no new RunTask token, no "not queued").
 */
export type FailureKind = 'retryable' | 'setup' | 'unknown';

interface ErrorFields {
  readonly name?: string;
  readonly code?: string;
  readonly status?: number;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const fields = (error: unknown): ErrorFields =>
  typeof error === 'object' && error !== null ? (error as ErrorFields) : {};

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'SlowDown',
]);

/** No answer came at all: the request may or may not have reached the service. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** AWS errors that only the operator can fix. */
const AWS_SETUP = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'ClusterNotFoundException',
  'ClientException',
  'InvalidParameterException',
  'PlatformUnknownException',
  'UnsupportedFeatureException',
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ResourceNotFoundException',
  'ValidationException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);

/**
 * Sorts an AWS SDK error (ECS, S3, SQS, DynamoDB). ECS's ConflictException (a clientToken used
 * before by another request) is `unknown`: the first request under that token may have started a
 * task. Our own deadline (AbortError) is `unknown` too: the request may be in flight.
 */
export function classifyAwsError(error: unknown): FailureKind {
  const { name, code, $metadata } = fields(error);
  if (name !== undefined && THROTTLING.has(name)) return 'retryable';
  if (name !== undefined && AWS_SETUP.has(name)) return 'setup';
  if (name === 'ConflictException' || name === 'AbortError' || name === 'TimeoutError') return 'unknown';
  if (code !== undefined && NETWORK_CODES.has(code)) return 'unknown';
  const status = $metadata?.httpStatusCode;
  if (status === 429) return 'retryable';
  if (status === undefined || status >= 500) return 'unknown';
  return 'setup';
}

/** GitHub statuses no retry can change: the credentials, the permissions or the request are wrong. */
const GITHUB_SETUP = new Set([401, 403, 404, 422]);

/**
 * Sorts a GitHub (Octokit) error. A rate limit (429, or 403 saying so) is `retryable`; 401, 403,
 * 404 and 422 are `setup`; a 5xx, a timeout or no answer is `unknown` (a write may have landed, and
 * a read says nothing about the job).
 */
export function classifyGitHubError(error: unknown): FailureKind {
  const { status, message, name } = fields(error);
  if (status === 429 || (status === 403 && /rate limit/i.test(message ?? ''))) return 'retryable';
  if (status !== undefined && GITHUB_SETUP.has(status)) return 'setup';
  if (status !== undefined && status < 500 && name !== 'AbortError') return 'setup';
  return 'unknown';
}
