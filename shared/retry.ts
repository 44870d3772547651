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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt` until it succeeds, the error is not retryable, or the deadline leaves no room
 * for another try. Waits between tries use full jitter (a random share of an exponentially
 * growing cap), so many callers throttled together do not retry together. Each attempt gets a
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
  for (let attemptNumber = 1; ; attemptNumber++) {
    const remaining = deadlineAt - now();
    if (remaining <= 0) throw new DeadlineExceededError(attemptNumber - 1);
    try {
      return await attempt(AbortSignal.timeout(remaining), attemptNumber);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const delay = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attemptNumber - 1)));
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
