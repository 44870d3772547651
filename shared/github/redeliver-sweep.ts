import { errorMessage } from '../errors';
import type { HookDeliveries, HookDelivery } from './hook-deliveries';

/** Settings of one sweep over a webhook's delivery log. */
export interface SweepOptions {
  /** Look at attempts delivered in the last `sinceMs` milliseconds (GitHub keeps 3 days). */
  readonly sinceMs: number;
  /** Redeliver at most this many deliveries in one sweep. */
  readonly max: number;
  /** Give up on a delivery after this many failed redeliveries (a refusal that no retry fixes). */
  readonly maxRedeliveries: number;
  readonly dryRun: boolean;
  readonly now?: () => number;
  /** The job's status for a payload (undefined when unknown): a job no longer queued is skipped. */
  readonly jobStatus?: (payload: unknown) => Promise<string | undefined>;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a sweep found and did, for the log and the CLI's table. */
export interface SweepSummary {
  /** Distinct deliveries (guids) of `workflow_job` in the window. */
  readonly found: number;
  /** Of those, how many have no successful attempt. */
  readonly failed: number;
  /** The guids redelivered (or, in a dry run, that would be). */
  readonly redelivered: string[];
  readonly skipped: Array<{ readonly guid: string; readonly reason: string }>;
}

/** An attempt whose answer we still wait for: a redelivery with no status yet, or made within a minute. */
const IN_FLIGHT_MS = 60_000;

const succeeded = (attempt: HookDelivery) => attempt.statusCode >= 200 && attempt.statusCode < 300;

/**
 * Redelivers every `workflow_job` delivery of the window whose every attempt failed, once per
 * sweep and at most `max` of them; never one with a successful attempt or a redelivery in flight,
 * and never one whose job is no longer queued (GitHub never retries a failed delivery itself, so a
 * missed `queued` is a job that waits 24 h and is cancelled).
 */
export async function sweepFailedDeliveries(
  deliveries: HookDeliveries,
  options: SweepOptions,
): Promise<SweepSummary> {
  const now = options.now ?? Date.now;
  const attempts = await deliveries.list(now() - options.sinceMs);
  const byGuid = new Map<string, HookDelivery[]>();
  for (const attempt of attempts) {
    if (attempt.event !== 'workflow_job') continue;
    const list = byGuid.get(attempt.guid) ?? [];
    list.push(attempt);
    byGuid.set(attempt.guid, list);
  }

  const failed = [...byGuid].filter(([, list]) => !list.some(succeeded));
  const summary: SweepSummary = { found: byGuid.size, failed: failed.length, redelivered: [], skipped: [] };
  const skip = (guid: string, reason: string) => summary.skipped.push({ guid, reason });
  let done = 0;
  for (const [guid, list] of failed) {
    options.onProgress?.(done++, failed.length);
    const newest = [...list].sort(
      (a, b) => Date.parse(b.deliveredAt) - Date.parse(a.deliveredAt),
    )[0] as HookDelivery;
    const redeliveries = list.filter((attempt) => attempt.redelivery);
    if (redeliveries.some((a) => a.statusCode === 0 || now() - Date.parse(a.deliveredAt) < IN_FLIGHT_MS)) {
      skip(guid, 'a redelivery is in flight');
      continue;
    }
    if (newest.action !== null && newest.action !== 'queued') {
      skip(guid, `action "${newest.action}" needs no runner`);
      continue;
    }
    if (redeliveries.length >= options.maxRedeliveries) {
      skip(guid, `gave up after ${redeliveries.length} redeliveries (last answer: ${newest.status})`);
      continue;
    }
    if (summary.redelivered.length >= options.max) {
      skip(guid, `sweep limit of ${options.max} reached; next sweep`);
      continue;
    }
    if (options.jobStatus) {
      try {
        const status = await options.jobStatus(await deliveries.payload(newest.id));
        if (status !== undefined && status !== 'queued') {
          skip(guid, `job is ${status}`);
          continue;
        }
      } catch {
        // Unknown status: redeliver; the webhook checks again before it launches.
      }
    }
    try {
      if (!options.dryRun) await deliveries.redeliver(newest.id);
      summary.redelivered.push(guid);
    } catch (error) {
      skip(guid, `GitHub refused the redelivery: ${errorMessage(error)}`);
    }
  }
  options.onProgress?.(done, failed.length);
  return summary;
}
