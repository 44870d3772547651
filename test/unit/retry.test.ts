import { describe, expect, it } from '@jest/globals';
import { retryWithinDeadline } from '../../shared/retry';

/** A clock that advances only when the code under test sleeps. */
const fakeClock = () => {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
};

describe('retryWithinDeadline', () => {
  it('returns the first success', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await retryWithinDeadline(
      async () => {
        calls++;
        if (calls < 3) throw new Error('throttled');
        return 'ok';
      },
      { deadlineAt: 10_000, isRetryable: () => true, ...clock, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([25, 50]);
  });

  it('does not retry an error that is not retryable', async () => {
    let calls = 0;
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          throw new Error('refused');
        },
        { deadlineAt: 10_000, isRetryable: () => false, ...fakeClock() },
      ),
    ).rejects.toThrow('refused');
    expect(calls).toBe(1);
  });

  it('gives up with the last error when the next wait would pass the deadline', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          clock.advance(448);
          throw new Error(`throttled ${calls}`);
        },
        { deadlineAt: 1000, isRetryable: () => true, ...clock, random: () => 0.99, baseDelayMs: 100 },
      ),
    ).rejects.toThrow('throttled 2');
    expect(clock.now()).toBe(995);
  });

  it('gives up with the last error when a late timer wakes it past the deadline', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          throw new Error(`throttled ${calls}`);
        },
        {
          deadlineAt: 100,
          isRetryable: () => true,
          now: clock.now,
          sleep: (ms) => clock.sleep(ms + 60),
          random: () => 0.99,
        },
      ),
    ).rejects.toThrow('throttled 1');
  });

  it('gives up with the error before the last try when the deadline aborts that try', async () => {
    let calls = 0;
    await expect(
      retryWithinDeadline(
        (signal) => {
          calls++;
          if (calls === 1) return Promise.reject(new Error('throttled'));
          return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        },
        {
          deadlineAt: Date.now() + 30,
          isRetryable: (e) => (e as Error).message === 'throttled',
          random: () => 0,
        },
      ),
    ).rejects.toThrow('throttled');
    expect(calls).toBe(2);
  });

  it('waits less as the deadline nears, so callers sharing a rate limit serve the oldest first', async () => {
    const clock = fakeClock();
    await expect(
      retryWithinDeadline(
        async () => {
          clock.advance(1000);
          throw new Error('throttled');
        },
        { deadlineAt: 8000, isRetryable: () => true, ...clock, random: () => 0.999, baseDelayMs: 1000 },
      ),
    ).rejects.toThrow('throttled');
    // The cap is 1000 ms × (share of the 8 s left)²: 7/8 left after the first try, 5.24/8 after the second…
    expect(clock.sleeps.slice(0, 2)).toEqual([764, 427]);
    expect(clock.sleeps).toEqual([...clock.sleeps].sort((a, b) => b - a));
    expect(clock.sleeps.at(-1)).toBeLessThan(50);
  });

  it('caps each wait at maxDelayMs', async () => {
    const clock = fakeClock();
    await expect(
      retryWithinDeadline(
        async () => {
          throw new Error('x');
        },
        { deadlineAt: 5000, isRetryable: () => true, ...clock, random: () => 0.999, maxDelayMs: 300 },
      ),
    ).rejects.toThrow('x');
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(300);
  });

  it('hands each attempt a signal that aborts at the deadline', async () => {
    let signal: AbortSignal | undefined;
    await retryWithinDeadline(
      async (s) => {
        signal = s;
      },
      { deadlineAt: Date.now() + 20, isRetryable: () => true },
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal?.aborted).toBe(true);
  });
});
