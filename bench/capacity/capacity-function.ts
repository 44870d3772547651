/**
 * The capacity function as Lambda runs it: reserved concurrency 1 (one writer of desired counts).
 * As built (`fifo`): fed by an SQS FIFO queue of one message group, which hands it the next batch
 * of up to 10 events as soon as it is free, in order, with no throttling (`handleBatch`). The first
 * design, for comparison (`lambda-async`): invoked asynchronously, an event that finds the function
 * busy is throttled and returned to Lambda's queue, and tried again after 1 s, 2 s, 4 s… up to 5
 * minutes, as Lambda documents.
 */
import type { CapacityEvent } from '../../shared/capacity/capacity-events';
import { draw, LAMBDA_THROTTLE_RETRY } from './delays';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export type CapacityQueue = 'lambda-async' | 'fifo';

/** Messages per batch of Lambda's SQS event source (its default batch size is 10). */
const FIFO_BATCH = 10;

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
  /** The FIFO queue's batches (up to 10 messages, as Lambda's SQS event source hands them over). */
  readonly handleBatch: (events: readonly CapacityEvent[]) => Promise<unknown>;
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

  const invoke = (batch: ReadonlyArray<{ event: CapacityEvent; arrivedAt: number }>) => {
    running = true;
    stats.invocations++;
    for (const { event, arrivedAt } of batch) {
      stats.byKind[event.kind] = (stats.byKind[event.kind] ?? 0) + 1;
      stats.longestWaitMs = Math.max(stats.longestWaitMs, clock.now() - arrivedAt);
    }
    const started = clock.now();
    const kind = batch.length === 1 ? (batch[0]?.event.kind ?? 'batch') : 'batch';
    void (async () => {
      try {
        await clock.sleep(draw(random, 'lambdaOverhead'));
        const events = batch.map((item) => item.event);
        if (deps.queue === 'fifo') await deps.handleBatch(events);
        else await deps.handle(events[0] as CapacityEvent);
      } catch (error) {
        stats.errors++;
        deps.onError(error, batch[0]?.event as CapacityEvent);
      } finally {
        const ran = clock.now() - started;
        stats.busyMs += ran;
        stats.busyByKind[kind] = (stats.busyByKind[kind] ?? 0) + ran;
        running = false;
        // Lambda's SQS event source hands over up to 10 messages of the group at a time.
        const next = fifo.splice(0, FIFO_BATCH);
        if (next.length > 0) invoke(next);
      }
    })();
  };

  const attempt = (event: CapacityEvent, arrivedAt: number, tries: number) => {
    if (!running) {
      invoke([{ event, arrivedAt }]);
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
