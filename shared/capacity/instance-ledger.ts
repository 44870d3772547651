import { type InstanceEvent, type InstanceRecord, instanceTransition } from './instance-record';

/**
 * The port to the instance ledger: one record per instance of an owned group. `put` writes only
 * over the version it read: a claim is such a write from `ready`, so one instance never has two
 * jobs.
 */
export interface InstanceLedger {
  get(instanceId: string, signal?: AbortSignal): Promise<InstanceRecord | undefined>;
  /** As the job ledger's `put`: `next` over `expectedVersion` (undefined: none may exist), or undefined. */
  put(
    next: InstanceRecord,
    expectedVersion: number | undefined,
    signal?: AbortSignal,
  ): Promise<InstanceRecord | undefined>;
  /** Open records, of one group or all. */
  listOpen(group?: string, signal?: AbortSignal): Promise<InstanceRecord[]>;
  /**
   * Instances of the group that are `ready`, longest-ready first, at most `limit`: eventually
   * consistent (an instance just claimed may still be listed; the claim's condition refuses it).
   */
  listFree(group: string, limit: number, signal?: AbortSignal): Promise<InstanceRecord[]>;
}

export interface InstanceCommitResult {
  readonly record: InstanceRecord | undefined;
  readonly written: boolean;
  readonly note: string;
}

/**
 * Applies one event to an instance's record under the version it read, reading again on a
 * conflict (a few times): each event names what it presumes, so a record that moved on refuses it.
 */
export async function commitInstance(
  ledger: InstanceLedger,
  instanceId: string,
  event: InstanceEvent,
  options: {
    readonly now: () => number;
    readonly known?: InstanceRecord | undefined;
    readonly signal?: AbortSignal;
  },
): Promise<InstanceCommitResult> {
  for (let tries = 0; tries < 5; tries++) {
    const record =
      tries === 0 && options.known !== undefined
        ? options.known
        : await ledger.get(instanceId, options.signal);
    const step = instanceTransition(record, event, instanceId, options.now());
    if (step.next === undefined) return { record, written: false, note: step.note };
    const written = await ledger.put(step.next, record?.version, options.signal);
    if (written) return { record: written, written: true, note: step.note };
    // A claim lost to another claim is final: the instance is not free any more.
    if (event.type === 'claimed')
      return { record: undefined, written: false, note: 'claimed by another job' };
  }
  throw new Error(`instance ${instanceId}: the ledger record kept changing under five writes in a row`);
}

/** The instance ledger of `npm start`, the simulation and the tests: in memory, same conditions. */
export function createMemoryInstanceLedger(): InstanceLedger & {
  readonly records: Map<string, InstanceRecord>;
} {
  const records = new Map<string, InstanceRecord>();
  return {
    records,
    async get(instanceId) {
      return records.get(instanceId);
    },
    async put(next, expectedVersion) {
      const stored = records.get(next.instanceId);
      if (stored?.version !== expectedVersion) return undefined;
      const written = Object.freeze({ ...next, version: (expectedVersion ?? 0) + 1 });
      records.set(next.instanceId, written);
      return written;
    },
    async listOpen(group) {
      return [...records.values()].filter((r) => r.open && (group === undefined || r.group === group));
    },
    async listFree(group, limit) {
      return [...records.values()]
        .filter((r) => r.open && r.group === group && r.state === 'ready')
        .sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0))
        .slice(0, limit);
    },
  };
}
