/**
 * A discrete-event clock: a priority queue of timed callbacks. `now()` is virtual time (epoch ms);
 * nothing sleeps for real. The code under simulation awaits {@link VirtualClock.sleep}, whose
 * promise the clock resolves when its time comes; between two events every promise continuation
 * runs (the microtask queue is drained), so each callback sees the world its predecessors left.
 */
export interface VirtualClock {
  now(): number;
  /** Runs `callback` at `time` (not before now); callbacks of one instant run in the order they were set. */
  at(time: number, callback: () => void): void;
  after(ms: number, callback: () => void): void;
  /** A promise that resolves `ms` of virtual time from now. */
  sleep(ms: number): Promise<void>;
  /** Runs events until none is left before `until` (the clock then stands at `until`). Returns the events run. */
  run(until: number): Promise<number>;
}

interface Entry {
  readonly time: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Before `b` in the queue: earlier, or set first at the same instant. */
const before = (a: Entry, b: Entry) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

/** Every promise continuation queued so far, and those they queue, run before this resolves. */
const drainMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createVirtualClock(start: number): VirtualClock {
  let current = start;
  let seq = 0;
  const heap: Entry[] = [];

  const push = (entry: Entry) => {
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  };
  const pop = (): Entry | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left] as Entry, heap[smallest] as Entry)) smallest = left;
      if (right < heap.length && before(heap[right] as Entry, heap[smallest] as Entry)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry];
      i = smallest;
    }
    return top;
  };

  const clock: VirtualClock = {
    now: () => current,
    at(time, callback) {
      push({ time: Math.max(time, current), seq: seq++, callback });
    },
    after(ms, callback) {
      clock.at(current + ms, callback);
    },
    sleep(ms) {
      return new Promise((resolve) => clock.after(ms, resolve));
    },
    async run(until) {
      let events = 0;
      await drainMicrotasks();
      for (let next = heap[0]; next !== undefined && next.time <= until; next = heap[0]) {
        pop();
        current = next.time;
        next.callback();
        events++;
        await drainMicrotasks();
      }
      current = Math.max(current, until);
      return events;
    },
  };
  return clock;
}
