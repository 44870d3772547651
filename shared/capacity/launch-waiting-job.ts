import type { Config } from '../config';
import type { JobRecord } from '../jobs/job-record';
import { type LaunchDependencies, type LaunchResult, launchJob } from '../launch/launch-job';
import type { OverflowQueue } from '../queue/overflow-queue';
import { decide } from '../runner/decide';

/** Time for one waiting job's launch from the capacity function. */
const LAUNCH_DEADLINE_MS = 20_000;

/**
 * Launches a job that waited for an instance, from its ledger record: its plan is decided again
 * from the delivery it recorded (a configuration changed since may no longer serve it), and the
 * launch path claims the free instance and pins the task to it.
 */
export async function launchWaitingJob(
  deps: Omit<LaunchDependencies, 'config'> & { readonly config: Config },
  record: JobRecord,
): Promise<LaunchResult> {
  const decision = decide(deps.config, { ...record.job, action: 'queued' });
  if (decision.kind !== 'ours') return { kind: 'skipped', reason: `no longer ours: ${decision.reason}` };
  return launchJob(deps, decision.plan, deps.now() + LAUNCH_DEADLINE_MS, { checkQueued: 'late', record });
}

/**
 * Hands a waiting job to the launcher (the overflow queue and its function, which runs many
 * launches at once) now that an instance is free for it: the launch claims it there.
 */
export async function handOffToLauncher(
  queue: OverflowQueue,
  record: JobRecord,
  now: () => number,
): Promise<LaunchResult> {
  await queue.send({
    version: 1,
    deliveryId: undefined,
    job: record.job,
    reason: 'an instance is free for it',
    enqueuedAt: new Date(now()).toISOString(),
  });
  return { kind: 'skipped', reason: 'handed to the launcher' };
}
