/**
 * A test's EventBridge: the events the stand-ins emit (and our functions' requests) go in, and
 * reach one target, one at a time (the capacity function's reserved concurrency of one), as
 * awkward as EventBridge and Lambda's asynchronous invocation may be: an event delivered twice
 * (at-least-once), late, out of order, or never. A target that throws gets the event again after
 * a minute, then after two more (Lambda's two retries of an asynchronous invocation).
 */
import type { EventBridgeEvent } from './ecs-stand-in';

/** What happens to one event on its way. */
export type Delivery =
  | 'once'
  | 'twice'
  | 'never'
  /** Held back this long: events put after it overtake it. */
  | { readonly lateMs: number };

/** The shape of every event that goes in: AWS's envelope, or a function's request with its detail. */
export type BusEvent = Pick<EventBridgeEvent, 'source' | 'detail-type' | 'detail'> &
  Partial<EventBridgeEvent>;

export interface EventBus {
  put(event: BusEvent): void;
  /** Hands every due event to the target, in the order the bus holds them, until none is due. */
  drain(): Promise<void>;
  /** What happens to each event put from now on (default: delivered once). */
  delivery: (event: BusEvent) => Delivery;
  /** `reverse`: the events due at one drain reach the target last first. */
  order: 'fifo' | 'reverse';
  /** Every event handed to the target, in order. */
  readonly delivered: BusEvent[];
  readonly dropped: BusEvent[];
  /** What the target threw, per event. */
  readonly failures: Array<{ readonly event: BusEvent; readonly error: unknown }>;
  /** Events held for later (late, or to be retried). */
  pending(): number;
}

/** Lambda retries a failed asynchronous invocation twice: after about one minute, then two. */
const RETRY_DELAYS_MS = [60_000, 120_000];

export function createEventBus(options: {
  readonly now: () => number;
  readonly target: (event: BusEvent) => Promise<unknown>;
}): EventBus {
  const held: Array<{ event: BusEvent; dueAt: number; tries: number }> = [];
  let draining: Promise<void> | undefined;
  const bus: EventBus = {
    delivery: () => 'once',
    order: 'fifo',
    delivered: [],
    dropped: [],
    failures: [],
    pending: () => held.length,
    put(event) {
      const delivery = bus.delivery(event);
      if (delivery === 'never') {
        bus.dropped.push(event);
        return;
      }
      const dueAt = options.now() + (typeof delivery === 'object' ? delivery.lateMs : 0);
      held.push({ event, dueAt, tries: 0 });
      if (delivery === 'twice') held.push({ event, dueAt, tries: 0 });
    },
    drain() {
      // One target invocation at a time, however many callers drain.
      draining ??= (async () => {
        // Past the assignment first: a drain that finds nothing due must not leave itself behind.
        await Promise.resolve();
        try {
          for (;;) {
            const due = held.filter((entry) => entry.dueAt <= options.now());
            if (due.length === 0) return;
            const next = (bus.order === 'reverse' ? due.at(-1) : due[0]) as (typeof held)[number];
            held.splice(held.indexOf(next), 1);
            bus.delivered.push(next.event);
            try {
              await options.target(next.event);
            } catch (error) {
              bus.failures.push({ event: next.event, error });
              const delay = RETRY_DELAYS_MS[next.tries];
              if (delay !== undefined)
                held.push({ event: next.event, dueAt: options.now() + delay, tries: next.tries + 1 });
            }
          }
        } finally {
          draining = undefined;
        }
      })();
      return draining;
    },
  };
  return bus;
}
