import { type CapacityGroupSettings, hotPoolAt } from './capacity-groups';
import type { GroupView } from './instance-groups';
import type { InstanceRecord } from './instance-record';

/** An instance that has not registered this long after we first knew of it is ended. */
export const REGISTER_TIMEOUT_MS = 10 * 60_000;
/** Auto Scaling's listing lags a launch: a record younger than this is not called gone for its absence. */
export const GROUP_LISTING_LAG_MS = 2 * 60_000;
/** A termination not seen through is sent again after this long. */
export const TERMINATE_RESEND_MS = 60_000;

/** What the capacity function knows of one group at one moment. */
export interface GroupFacts {
  readonly group: CapacityGroupSettings;
  /** The open records of the group's instances. */
  readonly records: readonly InstanceRecord[];
  readonly view: GroupView;
  /** Jobs of the group's profiles that want a runner now and hold no instance. */
  readonly waiting: number;
  /** Instances the stack-wide ceiling still allows beyond this group's desired count. */
  readonly room: number;
  readonly idleSeconds: number;
  readonly now: number;
}

/** What to do for one group: every step is safe to repeat and to lose (the next round recomputes). */
export interface GroupPlan {
  /** Set the group's desired count to this, after the terminations (only ever above what they leave). */
  readonly desired: number | undefined;
  /** Instances to retire (recorded first), then terminate. */
  readonly retire: ReadonlyArray<{ readonly instanceId: string; readonly reason: string }>;
  /** Retiring instances still in the group whose termination is (again) due. */
  readonly terminate: readonly string[];
  /** Instances of the group with no record (a launch event lost): recorded as launching. */
  readonly adopt: readonly string[];
  /** Records whose instance left the group: closed. */
  readonly gone: readonly string[];
  /** The counts the plan was made from, for the metrics and the log. */
  readonly counts: {
    readonly busy: number;
    readonly free: number;
    readonly launching: number;
    readonly waiting: number;
    readonly hot: number;
    readonly unseen: number;
  };
}

const LEAVING = /^(Terminating|Terminated|Detaching|Detached|Warmed:Terminat)/;

/**
 * One group's plan, pure. The group should hold every busy instance, plus enough free pristine
 * ones (ready, launching, or asked for and not listed yet) for the jobs waiting and the hot pool:
 * `busy + max(free, waiting + hot)`, within the group's maximum and the stack's ceiling. Capacity
 * is only raised here; an instance is only ended by name, once it is recorded retiring: one whose
 * task ran (pristine mode), one free beyond what is wanted and idle past its bound, one that never
 * registered.
 */
export function planGroup(facts: GroupFacts): GroupPlan {
  const { group, records, view, now } = facts;
  const listed = new Map(view.instances.map((instance) => [instance.instanceId, instance]));
  const inGroup = (id: string) => {
    const instance = listed.get(id);
    return instance !== undefined && !LEAVING.test(instance.lifecycleState);
  };
  const known = new Set(records.map((record) => record.instanceId));

  const gone = records
    .filter(
      (r) =>
        !listed.has(r.instanceId) && (r.state === 'retiring' || now - r.launchedAt > GROUP_LISTING_LAG_MS),
    )
    .map((r) => r.instanceId);
  const goneSet = new Set(gone);
  const live = records.filter((r) => !goneSet.has(r.instanceId));
  const adopt = view.instances
    .filter((instance) => !known.has(instance.instanceId) && !LEAVING.test(instance.lifecycleState))
    .map((instance) => instance.instanceId);

  const retire: Array<{ instanceId: string; reason: string }> = [];
  const retiring = new Set<string>();
  const retireOne = (instanceId: string, reason: string) => {
    if (retiring.has(instanceId)) return;
    retiring.add(instanceId);
    retire.push({ instanceId, reason });
  };

  const busy = live.filter((r) => r.state === 'claimed');
  const launching = live.filter((r) => r.state === 'launching');
  for (const record of launching) {
    if (now - record.launchedAt > REGISTER_TIMEOUT_MS)
      retireOne(
        record.instanceId,
        `never registered with the cluster in ${REGISTER_TIMEOUT_MS / 60_000} minutes`,
      );
  }
  const ready = live.filter((r) => r.state === 'ready');
  const reuseMs = group.reuseIdleMinutes === undefined ? undefined : group.reuseIdleMinutes * 60_000;
  // A used instance (reuse mode) past its idle bound is ended whatever is wanted: pools are pristine.
  for (const record of ready) {
    if (record.jobs > 0 && (reuseMs === undefined || now - (record.readyAt ?? now) > reuseMs))
      retireOne(
        record.instanceId,
        record.jobs > 0 && reuseMs !== undefined ? 'idle past reuseIdleMinutes' : 'it ran a job',
      );
  }

  const hot = hotPoolAt(group, now);
  const wanted = facts.waiting + hot;
  const stillLaunching = launching.filter((r) => !retiring.has(r.instanceId));
  const freeReady = ready.filter((r) => !retiring.has(r.instanceId));
  // Desired instances Auto Scaling has not listed yet: they come, and count as free.
  const listedLive = view.instances.filter((instance) => !LEAVING.test(instance.lifecycleState)).length;
  const unseen = Math.max(
    0,
    view.desired - Math.max(listedLive, live.filter((r) => r.state !== 'retiring').length),
  );
  let free = freeReady.length + stillLaunching.length + unseen + adopt.length;

  // Free instances beyond what is wanted, ready and idle past the bound: the longest idle first.
  const idleMs = facts.idleSeconds * 1000;
  const surplus = [...freeReady]
    // A used instance of a reusing group waits for the next job up to reuseIdleMinutes.
    .filter((r) => now - (r.readyAt ?? now) > (r.jobs > 0 && reuseMs !== undefined ? reuseMs : idleMs))
    .sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0));
  for (const record of surplus) {
    if (free <= wanted) break;
    retireOne(
      record.instanceId,
      `idle ${Math.round((now - (record.readyAt ?? now)) / 1000)} s beyond the jobs and the pool`,
    );
    free--;
  }

  const terminate = live
    .filter(
      (r) =>
        r.state === 'retiring' &&
        inGroup(r.instanceId) &&
        (r.terminateSentAt === undefined || now - r.terminateSentAt > TERMINATE_RESEND_MS),
    )
    .map((r) => r.instanceId);

  // Each termination we send lowers the desired count by one.
  const desiredAfter = view.desired - retire.filter((r) => inGroup(r.instanceId)).length - terminate.length;
  const extra = Math.max(0, Math.min(wanted - free, facts.room));
  const target = Math.min(group.maxInstances, view.max, desiredAfter + extra);
  return {
    // Set after the terminations (each lowers the count): only when it raises what they leave.
    desired: target > desiredAfter ? target : undefined,
    retire,
    terminate,
    adopt,
    gone,
    counts: {
      busy: busy.length,
      free,
      launching: stillLaunching.length,
      waiting: facts.waiting,
      hot,
      unseen,
    },
  };
}
