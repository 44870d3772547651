/**
 * The capacity function as Lambda runs it. As designed (issue 18): reserved concurrency 1, invoked
 * asynchronously (EventBridge's rules and schedule, the functions' `Invoke` with `InvocationType:
 * Event`); an event that finds the function busy is throttled and returned to Lambda's queue, and
 * tried again after 1 s, 2 s, 4 s… up to 5 minutes, as Lambda documents. For comparison, `fifo`:
 * the same one-at-a-time function fed by an SQS FIFO queue of one message group, which hands it
 * the next event as soon as it is free, in order, with no throttling.
 */
import type { CapacityEvent } from '../../shared/capacity/capacity-events';
import { draw, LAMBDA_THROTTLE_RETRY } from './delays';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export type CapacityQueue = 'lambda-async' | 'fifo';

export interface CapacityFunctionStats {
  invocations: number;
  throttles: number;
  errors: number;
  /** The longest an event waited from its arrival at Lambda (or the queue) to its handler, ms. */
  longestWaitMs: number;
  /** Milliseconds the handler ran, summed. */
  busyMs: number;
  readonly byKind: Record<string, number>;
  /** Milliseconds the handler ran, by event kind. */
  readonly busyByKind: Record<string, number>;
}

export interface CapacityFunction {
  /** An event arrives at Lambda's queue (or the SQS queue) after `delayMs`. */
  send(event: CapacityEvent, delayMs: number): void;
  readonly stats: CapacityFunctionStats;
}

export function createCapacityFunction(deps: {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly queue: CapacityQueue;
  readonly handle: (event: CapacityEvent) => Promise<unknown>;
  readonly onError: (error: unknown, event: CapacityEvent) => void;
}): CapacityFunction {
  const { clock, random } = deps;
  const stats: CapacityFunctionStats = {
    invocations: 0,
    throttles: 0,
    errors: 0,
    longestWaitMs: 0,
    busyMs: 0,
    byKind: {},
    busyByKind: {},
  };
  let running = false;
  const fifo: Array<{ event: CapacityEvent; arrivedAt: number }> = [];

  const invoke = (event: CapacityEvent, arrivedAt: number) => {
    running = true;
    stats.invocations++;
    stats.byKind[event.kind] = (stats.byKind[event.kind] ?? 0) + 1;
    stats.longestWaitMs = Math.max(stats.longestWaitMs, clock.now() - arrivedAt);
    const started = clock.now();
    void (async () => {
      try {
        await clock.sleep(draw(random, 'lambdaOverhead'));
        await deps.handle(event);
      } catch (error) {
        stats.errors++;
        deps.onError(error, event);
      } finally {
        const ran = clock.now() - started;
        stats.busyMs += ran;
        stats.busyByKind[event.kind] = (stats.busyByKind[event.kind] ?? 0) + ran;
        running = false;
        const next = fifo.shift();
        if (next !== undefined) invoke(next.event, next.arrivedAt);
      }
    })();
  };

  const attempt = (event: CapacityEvent, arrivedAt: number, tries: number) => {
    if (!running) {
      invoke(event, arrivedAt);
      return;
    }
    if (deps.queue === 'fifo') {
      fifo.push({ event, arrivedAt });
      return;
    }
    stats.throttles++;
    const backoff = Math.min(
      LAMBDA_THROTTLE_RETRY.maxSeconds,
      LAMBDA_THROTTLE_RETRY.firstSeconds * 2 ** tries,
    );
    clock.after(backoff * 1000, () => attempt(event, arrivedAt, tries + 1));
  };

  return {
    stats,
    send(event, delayMs) {
      const hop = deps.queue === 'fifo' ? draw(random, 'sqsToLambda') : 0;
      clock.after(delayMs + hop, () => attempt(event, clock.now(), 0));
    },
  };
}
