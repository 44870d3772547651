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
   * got there first.
   */
  put(
    next: JobRecord,
    expectedVersion: number | undefined,
    signal?: AbortSignal,
  ): Promise<JobRecord | undefined>;
  /** Every record the reconciler still has work on. */
  listOpen(signal?: AbortSignal): Promise<JobRecord[]>;
}

/** What {@link updateRecord} came to: the record now stored, and whether this call wrote it. */
export interface UpdateResult {
  readonly record: JobRecord | undefined;
  readonly written: boolean;
}

/**
 * Reads a record, computes its next version with `change` (undefined: leave it), and writes it
 * conditionally; on a conflict reads again and recomputes, a few times. A caller that has just
 * written the record passes it as `known`, to spare the first read (the write's condition still
 * checks it is current).
 */
export async function updateRecord(
  ledger: JobLedger,
  jobId: number,
  change: (record: JobRecord | undefined) => JobRecord | undefined,
  signal?: AbortSignal,
  known?: JobRecord,
): Promise<UpdateResult> {
  for (let tries = 0; tries < 5; tries++) {
    const record = tries === 0 && known !== undefined ? known : await ledger.get(jobId, signal);
    const next = change(record);
    if (next === undefined) return { record, written: false };
    const written = await ledger.put(next, record?.version, signal);
    if (written) return { record: written, written: true };
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
