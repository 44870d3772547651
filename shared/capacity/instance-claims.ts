import type { CapacityGroupSettings, CapacitySettings } from './capacity-groups';
import { groupOfProfile } from './capacity-groups';
import { commitInstance, type InstanceLedger } from './instance-ledger';
import type { InstanceRecord } from './instance-record';

/** How a job got its instance: one waiting for it (hot), a resume from the warm pool, or a new launch. */
export type InstancePath = 'hot' | 'warm' | 'cold';

/** The attempt (and RunTask token) a claim is for. */
export interface ClaimHolder {
  readonly jobId: number;
  readonly attempt: number;
  readonly placement: number;
}

/** What the launch path needs of owned capacity: claim an instance, pin a task to it, give it back. */
export interface InstanceClaims {
  /** The owned group a job of the profile runs on (`fallback`: after its Spot instance was interrupted); undefined: not owned. */
  groupFor(profile: string, fallback: boolean): CapacityGroupSettings | undefined;
  /** A free instance of the group, claimed for the holder by a conditional write; undefined when none is free. */
  claim(
    group: CapacityGroupSettings,
    holder: ClaimHolder,
    signal?: AbortSignal,
  ): Promise<InstanceRecord | undefined>;
  /** The instance's record (a retry of an attempt looks for the standby its claim took). */
  get(instanceId: string, signal?: AbortSignal): Promise<InstanceRecord | undefined>;
  /** The holder's task runs on the instance (recorded so a stop can tell which instance it ended). */
  placed(instanceId: string, jobId: number, taskArn: string): Promise<void>;
  /** Gives back an instance no task ran on (the holder lost its lease, or needs none). */
  release(instanceId: string, holder: ClaimHolder, reason: string): Promise<void>;
  /** ECS refused to place a task on it: it is ended, and the job claims another. */
  retire(instanceId: string, reason: string): Promise<void>;
  /** Asks the capacity function for an instance of the group now (bounded; losing it only delays). */
  want(group: CapacityGroupSettings): Promise<void>;
}

/** How many free instances a claim tries before it says none is free (the free list lags claims). */
const CLAIM_CANDIDATES = 5;

/** The path of a job queued at `queuedAt` that claimed `instance`. */
export const pathOf = (instance: InstanceRecord, queuedAt: number): InstancePath =>
  (instance.readyAt ?? Number.POSITIVE_INFINITY) <= queuedAt || instance.jobs > 0
    ? 'hot'
    : instance.origin === 'warm-pool'
      ? 'warm'
      : 'cold';

export function createInstanceClaims(deps: {
  readonly settings: CapacitySettings;
  readonly ledger: InstanceLedger;
  readonly now: () => number;
  /** Sends the capacity function a request for an instance of the group. */
  readonly ask: (group: string) => Promise<void>;
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
}): InstanceClaims {
  const { settings, ledger, now } = deps;
  const byName = new Map(settings.groups.map((group) => [group.name, group]));
  return {
    groupFor(profile, fallback) {
      const group = groupOfProfile(settings, profile);
      if (group === undefined || !fallback || group.onInterruption === undefined) return group;
      return byName.get(group.onInterruption) ?? group;
    },
    async claim(group, holder, signal) {
      const reuse = group.reuseIdleMinutes !== undefined;
      const candidates = await ledger.listFree(group.name, CLAIM_CANDIDATES, signal);
      for (const candidate of candidates) {
        if (candidate.jobs > 0 && !reuse) continue;
        const result = await commitInstance(
          ledger,
          candidate.instanceId,
          { type: 'claimed', ...holder, reuse },
          { now, known: candidate, ...(signal && { signal }) },
        );
        if (result.written && result.record) return result.record;
      }
      return undefined;
    },
    get: (instanceId, signal) => ledger.get(instanceId, signal),
    async placed(instanceId, jobId, taskArn) {
      await commitInstance(ledger, instanceId, { type: 'task-placed', jobId, taskArn }, { now }).catch(
        (error: unknown) =>
          deps.warn('could not record the task on its instance', { instanceId, error: String(error) }),
      );
    },
    async release(instanceId, holder, reason) {
      await commitInstance(
        ledger,
        instanceId,
        { type: 'released', jobId: holder.jobId, attempt: holder.attempt, reason },
        { now },
      ).catch((error: unknown) =>
        deps.warn('could not give the instance back; the capacity function retires it', {
          instanceId,
          error: String(error),
        }),
      );
    },
    async retire(instanceId, reason) {
      await commitInstance(ledger, instanceId, { type: 'retire', reason }, { now }).catch((error: unknown) =>
        deps.warn('could not retire the instance', { instanceId, error: String(error) }),
      );
    },
    async want(group) {
      await deps.ask(group.name).catch((error: unknown) =>
        deps.warn('could not ask the capacity function for an instance; its next round sees the job', {
          group: group.name,
          error: String(error),
        }),
      );
    },
  };
}
