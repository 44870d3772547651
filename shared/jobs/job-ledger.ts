import { type JobEvent, transition } from './job-lifecycle';
import type { JobRecord } from './job-record';

/**
 * The port to the job ledger: one record per job of ours. `put` is the per-job lock: it writes
 * only over the version it read, so two launchers (the webhook, the overflow launcher, the
 * reconciler) never both claim one attempt.
 */
export interface JobLedger {
  get(jobId: number, signal?: AbortSignal): Promise<JobRecord | undefined>;
  /**
   * Writes `next` (its version bumped) if the stored record is still at `expectedVersion`
   * (undefined: no record may exist). Returns what was written, or undefined when another writer
   * got there first. A write that landed but whose answer was lost (the client's retry then meets
   * its own write) returns what it wrote: each write carries a `writeId` of its own.
   */
  put(
    next: JobRecord,
    expectedVersion: number | undefined,
    signal?: AbortSignal,
  ): Promise<JobRecord | undefined>;
  /** Every record the reconciler still has work on. */
  listOpen(signal?: AbortSignal): Promise<JobRecord[]>;
}

/** What {@link commit} came to: the record now stored, whether this call wrote it, and its first event's note. */
export interface CommitResult {
  readonly record: JobRecord | undefined;
  readonly written: boolean;
  /** What the last event did, or why it changed nothing. */
  readonly note: string;
}

export interface CommitOptions {
  readonly now: () => number;
  readonly signal?: AbortSignal | undefined;
  /** The record as the caller just wrote or read it: spares the first read (the write's condition still checks it). */
  readonly known?: JobRecord | undefined;
  /**
   * Apply only over this version: the caller decided from that record (the reconciler's plan), so
   * a record that changed since is left for the next look instead of re-deciding here.
   */
  readonly ifVersion?: number | undefined;
}

/**
 * The one write path of the lifecycle: reads the record, applies the events with
 * {@link transition} (in order; one refused is skipped), and writes the result under the version
 * it read. On a conflict it reads again and re-applies, a few times: each event names what it
 * presumes, so a record that moved on refuses it.
 */
export async function commit(
  ledger: JobLedger,
  jobId: number,
  events: JobEvent | readonly JobEvent[],
  options: CommitOptions,
): Promise<CommitResult> {
  const list: readonly JobEvent[] = Array.isArray(events) ? events : [events as JobEvent];
  for (let tries = 0; tries < 5; tries++) {
    const record =
      tries === 0 && options.known !== undefined ? options.known : await ledger.get(jobId, options.signal);
    if (options.ifVersion !== undefined && record?.version !== options.ifVersion) {
      return { record, written: false, note: 'the record changed since it was read' };
    }
    let next: JobRecord | undefined;
    let note: string | undefined;
    for (const event of list) {
      const step = transition(next ?? record, event, options.now());
      // The first event's note says what happened to the job (a claim after it is the launch's).
      note ??= step.note;
      if (step.next) next = step.next;
    }
    note ??= '';
    if (next === undefined) return { record, written: false, note };
    const written = await ledger.put(next, record?.version, options.signal);
    if (written) return { record: written, written: true, note };
    if (options.ifVersion !== undefined) {
      return { record: undefined, written: false, note: 'the record changed since it was read' };
    }
  }
  throw new Error(`job ${jobId}: the ledger record kept changing under five writes in a row`);
}

/**
 * The ledger of `npm start` and of tests: in memory, with the same conditional writes. Records are
 * frozen when stored (every change makes a new one), so they are shared without copies.
 */
export function createMemoryJobLedger(): JobLedger & { readonly records: Map<number, JobRecord> } {
  const records = new Map<number, JobRecord>();
  return {
    records,
    async get(jobId) {
      return records.get(jobId);
    },
    async put(next, expectedVersion) {
      const stored = records.get(next.jobId);
      if (stored?.version !== expectedVersion) return undefined;
      const written = Object.freeze({ ...next, version: (expectedVersion ?? 0) + 1 });
      records.set(next.jobId, written);
      return written;
    },
    async listOpen() {
      return [...records.values()].filter((record) => record.open);
    },
  };
}
