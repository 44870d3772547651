/** Options for {@link retryWithinDeadline}. */
export interface RetryOptions {
  /** Epoch milliseconds by which the last attempt must have ended. */
  readonly deadlineAt: number;
  readonly isRetryable: (error: unknown) => boolean;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** The least cap near the deadline, so the last tries still spread out. */
const MIN_CAP_MS = 10;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt` until it succeeds, the error is not retryable, or the deadline leaves no room
 * for another try. Waits between tries use full jitter (a random share of an exponentially
 * growing cap), so many callers throttled together do not retry together. The cap also shrinks
 * with the square of the share of time left: when many callers share one rate limit (ECS
 * RunTask's bucket in a burst), those nearest their deadline retry most and get the tokens first,
 * where plain exponential backoff would starve them for the newest callers. Each attempt gets a
 * signal that aborts at the deadline.
 */
export async function retryWithinDeadline<T>(
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { deadlineAt, isRetryable, baseDelayMs = 50, maxDelayMs = 1000 } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const windowMs = deadlineAt - now();
  // One signal for every try: each must end by the same deadline (a timer per try costs on the hot path).
  let signal: AbortSignal | undefined;
  let lastError: unknown;
  for (let attemptNumber = 1; ; attemptNumber++) {
    const remaining = deadlineAt - now();
    // After a failed try, its error says more than the deadline does (e.g. ThrottlingException).
    if (remaining <= 0) throw attemptNumber > 1 ? lastError : new DeadlineExceededError(0);
    signal ??= AbortSignal.timeout(remaining);
    try {
      return await attempt(signal, attemptNumber);
    } catch (error) {
      // The deadline cut this try short: the error before it says why we were still trying.
      if (signal.aborted && lastError !== undefined) throw lastError;
      if (!isRetryable(error)) throw error;
      lastError = error;
      const timeLeft = Math.max(0, (deadlineAt - now()) / windowMs);
      const cap = Math.min(
        maxDelayMs,
        baseDelayMs * 2 ** (attemptNumber - 1),
        Math.max(MIN_CAP_MS, maxDelayMs * timeLeft ** 2),
      );
      const delay = Math.floor(random() * cap);
      if (now() + delay >= deadlineAt) throw error;
      await sleep(delay);
    }
  }
}

/** The deadline passed before an attempt could be made. */
export class DeadlineExceededError extends Error {
  constructor(readonly attempts: number) {
    super(`the deadline passed after ${attempts} attempt(s)`);
    this.name = 'DeadlineExceededError';
  }
}
