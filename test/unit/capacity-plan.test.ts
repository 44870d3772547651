import { describe, expect, it } from '@jest/globals';
import type { CapacityGroupSettings } from '../../shared/capacity/capacity-groups';
import { type GroupFacts, planGroup, REGISTER_TIMEOUT_MS } from '../../shared/capacity/capacity-plan';
import type { GroupView } from '../../shared/capacity/instance-groups';
import type { InstanceRecord } from '../../shared/capacity/instance-record';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const GROUP: CapacityGroupSettings = {
  name: 'default',
  autoScalingGroupName: 'runners-DefaultInstancesASG-1A2B3C4D5E6F',
  capacityProvider: 'runners-DefaultCapacityProvider-7G8H9I0J',
  profiles: ['default'],
  maxInstances: 100,
  hot: 0,
  warm: 0,
  standby: true,
  spot: false,
};

let serial = 0;
const instance = (state: InstanceRecord['state'], changes: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: `i-0${(++serial).toString(16).padStart(16, '0')}`,
  group: 'default',
  version: 1,
  state,
  origin: 'launch',
  launchedAt: NOW - 60_000,
  readyAt: state === 'launching' ? undefined : NOW - 30_000,
  jobs: 0,
  updatedAt: NOW,
  open: true,
  ...changes,
});

const viewOf = (records: readonly InstanceRecord[], desired = records.length): GroupView => ({
  desired,
  max: 100,
  instances: records.map((r) => ({ instanceId: r.instanceId, lifecycleState: 'InService' })),
  rebalanceSuspended: true,
});

const facts = (changes: Partial<GroupFacts>): GroupFacts => {
  const records = changes.records ?? [];
  return {
    group: GROUP,
    records,
    view: viewOf(records),
    waiting: 0,
    room: 200,
    idleSeconds: 120,
    now: NOW,
    ...changes,
  };
};

describe('planGroup', () => {
  it('asks for one instance per waiting job, all at once: a burst of 100 gets 100', () => {
    expect(planGroup(facts({ waiting: 100 })).desired).toBe(100);
  });

  it('counts instances launching, free, or asked for and not listed yet against the waiting jobs', () => {
    const records = [instance('launching'), instance('ready')];
    // Desired 5 with 2 listed: 3 more are coming.
    expect(planGroup(facts({ records, view: viewOf(records, 5), waiting: 5 })).desired).toBeUndefined();
    expect(planGroup(facts({ records, view: viewOf(records, 5), waiting: 7 })).desired).toBe(7);
  });

  it('keeps busy instances out of the count of free ones', () => {
    const records = [instance('claimed'), instance('claimed')];
    expect(planGroup(facts({ records, waiting: 1 })).desired).toBe(3);
  });

  it('stays within the group maximum and the stack-wide ceiling', () => {
    expect(planGroup(facts({ waiting: 500 })).desired).toBe(100);
    expect(planGroup(facts({ waiting: 50, room: 20 })).desired).toBe(20);
  });

  it('keeps the hot pool full, and refills it when a job takes one', () => {
    const hot = { ...GROUP, hot: 3 };
    expect(planGroup(facts({ group: hot })).desired).toBe(3);
    const records = [instance('ready'), instance('ready'), instance('claimed')];
    expect(planGroup(facts({ group: hot, records })).desired).toBe(4);
  });

  it('ends a free instance beyond the jobs and the pool once idle past the bound, never one within it', () => {
    const idle = instance('ready', { readyAt: NOW - 121_000 });
    const fresh = instance('ready', { readyAt: NOW - 60_000 });
    const plan = planGroup(facts({ records: [idle, fresh] }));
    expect(plan.retire).toEqual([{ instanceId: idle.instanceId, reason: expect.stringContaining('idle') }]);
    expect(planGroup(facts({ records: [idle, fresh], group: { ...GROUP, hot: 2 } })).retire).toEqual([]);
  });

  it('never ends a busy instance, whatever the counts', () => {
    const busy = instance('claimed', { readyAt: NOW - 3_600_000 });
    expect(planGroup(facts({ records: [busy] })).retire).toEqual([]);
  });

  it('ends an instance that never registered, and asks for a replacement when a job waits', () => {
    const stuck = instance('launching', { launchedAt: NOW - REGISTER_TIMEOUT_MS - 1 });
    const plan = planGroup(facts({ records: [stuck], waiting: 1 }));
    expect(plan.retire.map((r) => r.instanceId)).toEqual([stuck.instanceId]);
    // The termination lowers the count to 0; the waiting job gets a new one.
    expect(plan.desired).toBe(1);
  });

  it('in pristine mode ends a free-looking instance that ran a job; with reuse only past reuseIdleMinutes', () => {
    const used = instance('ready', { jobs: 1, readyAt: NOW - 5 * 60_000 });
    expect(planGroup(facts({ records: [used] })).retire.map((r) => r.instanceId)).toEqual([used.instanceId]);
    const reuse = { ...GROUP, reuseIdleMinutes: 10 };
    expect(planGroup(facts({ group: reuse, records: [used] })).retire).toEqual([]);
    const old = instance('ready', { jobs: 3, readyAt: NOW - 11 * 60_000 });
    expect(planGroup(facts({ group: reuse, records: [old] })).retire.map((r) => r.reason)).toEqual([
      'idle past reuseIdleMinutes',
    ]);
  });

  it('sends a termination again once a minute until the instance leaves the group', () => {
    const retiring = instance('retiring', { terminateSentAt: NOW - 61_000 });
    const recent = instance('retiring', { terminateSentAt: NOW - 10_000 });
    expect(planGroup(facts({ records: [retiring, recent] })).terminate).toEqual([retiring.instanceId]);
  });

  it('records an instance of the group it has no record of, and closes a record whose instance left', () => {
    const orphan = instance('ready');
    const left = instance('claimed', { launchedAt: NOW - 10 * 60_000 });
    const young = instance('launching', { launchedAt: NOW - 5_000 });
    const plan = planGroup(facts({ records: [left, young], view: viewOf([orphan]) }));
    expect(plan.adopt).toEqual([orphan.instanceId]);
    // Auto Scaling's list lags a launch: a young record is not called gone.
    expect(plan.gone).toEqual([left.instanceId]);
  });

  it('never lowers the desired count: surplus instances are ended by name', () => {
    const records = [instance('ready')];
    expect(planGroup(facts({ records, view: viewOf(records, 10) })).desired).toBeUndefined();
  });
});
