/**
 * Owned capacity when something is lost, late, repeated or throttled: the world of
 * capacity.test.ts (the webhook, the capacity function on the events the services would send, the
 * reconciler; ECS and EC2 Auto Scaling stand-ins on the test's clock) with its EventBridge losing,
 * repeating, delaying and reordering events, an instance that never registers, Auto Scaling
 * throttling. Each scenario says what dies, when, and the end state that must hold, with the
 * lifecycle guarantees: exactly one live task per queued job, no busy runner's task stopped, no
 * task on an instance that ran one before.
 */
import { describe, expect, it } from '@jest/globals';
import { type CapacityWorld, useCapacityWorlds } from '../support/capacity-world';
import type { Payload } from '../support/job-tasks';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_capacity_faults_suite', firstJobId: 7_820_000_000 });

/** The EC2 instance the job's one live task runs on. */
const hostOf = (w: CapacityWorld, payload: Payload) => w.instanceOfTask(w.liveTasksOf(payload)[0]);

describe('events lost', () => {
  it('launches the job though the container instance’s registration event was lost', async () => {
    // What dies: the `ECS Container Instance State Change` of the instance launched for the job.
    // When: 55 s after the delivery, as the instance registers. The minute's schedule runs.
    // End state: the job has one live task, on a pristine instance, within 3 minutes.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    let lost = 0;
    w.bus.delivery = (event) =>
      event['detail-type'] === 'ECS Container Instance State Change' && lost++ === 0 ? 'never' : 'once';
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(3 * MINUTE, { schedule: true });
    expect({
      lost: w.bus.dropped.length,
      live: w.liveTasksOf(payload).length,
      host: hostOf(w, payload) !== undefined,
      launched: w.asg.instances.length,
      violations: w.violations,
    }).toEqual({ lost: 1, live: 1, host: true, launched: 1, violations: [] });
  });
});

describe('instances that fail', () => {
  it('ends an instance that never registers after the timeout, and gives the job another', async () => {
    // What dies: the ECS agent of the first instance launched for the job (it never registers).
    // When: from its boot on; the minute's schedule runs for 13 minutes.
    // End state: that instance is terminated as never registered; the job's one live task runs on
    // a second, pristine instance; the group holds just that one.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    w.asg.registers = (instance) => w.asg.instances.indexOf(instance) !== 0;
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(13 * MINUTE, { schedule: true });
    const [first, second] = w.asg.instances;
    expect({
      first: first?.lifecycleState,
      host: hostOf(w, payload) === second?.instanceId,
      live: w.liveTasksOf(payload).length,
      launched: w.asg.instances.length,
      desired: w.asg.desired('runners-default-asg'),
      firstRecordOpen: (await w.instance(first?.instanceId ?? ''))?.open,
      violations: w.violations,
    }).toEqual({
      first: 'Terminated',
      host: true,
      live: 1,
      launched: 2,
      desired: 1,
      firstRecordOpen: false,
      violations: [],
    });
  });
});

describe('Auto Scaling throttled', () => {
  /** Every call refused (an empty bucket that never refills). */
  const throttledOut = { burst: 0, perSecond: 0 };
  /** A few calls a second pass; a burst past them is refused, and the SDK's retries mostly absorb it. */
  const tight = { burst: 3, perSecond: 1 };

  it('launches the job and ends its instance though Auto Scaling throttles the capacity function’s calls', async () => {
    // What dies: every Auto Scaling call for 90 s from the delivery (the SDK's retries run out,
    // the converge fails, is counted and logged, and the queue moves on: never blocked by a
    // failing event; the minute's round fails too, and a later one repairs it), a tight bucket
    // otherwise, and every call again for 90 s from the job's end (the termination
    // after its task fails and is left to a later round). End state: the job ran on its own
    // instance, which is terminated after its task; the desired count never went past one.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    w.asg.throttle = throttledOut;
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(90_000, { schedule: true });
    const whileThrottled = {
      desired: w.asg.desired('runners-default-asg'),
      failed: w.handled.filter(({ summary }) => summary.notes.some((note) => note.startsWith('failed:')))
        .length,
    };
    w.asg.throttle = tight;
    await w.advance(2 * MINUTE, { schedule: true });
    const ran = w.liveTasksOf(payload).length;
    await w.startJob(payload);
    w.asg.throttle = throttledOut;
    await w.finishJob(payload);
    await w.advance(90_000, { schedule: true });
    const instanceWhileThrottled = w.asg.instances[0]?.lifecycleState;
    w.asg.throttle = tight;
    await w.advance(3 * MINUTE, { schedule: true });
    expect({
      whileThrottled: { desired: whileThrottled.desired, failed: whileThrottled.failed > 0 },
      instanceWhileThrottled,
      ran,
      launched: w.asg.instances.length,
      instance: w.asg.instances[0]?.lifecycleState,
      mostDesired: Math.max(...w.asg.desiredSets.map((set) => set.desired)),
      desired: w.asg.desired('runners-default-asg'),
      violations: w.violations,
    }).toEqual({
      whileThrottled: { desired: 0, failed: true },
      instanceWhileThrottled: 'InService',
      ran: 1,
      launched: 1,
      instance: 'Terminated',
      mostDesired: 1,
      desired: 0,
      violations: [],
    });
  }, 60_000);
});

describe('events repeated and reordered', () => {
  it('changes nothing when every event comes twice and the newest first', async () => {
    // What lags: EventBridge delivers every event twice (at least once), and each drain hands the
    // newest due event over first. When: throughout two jobs' lives.
    // End state: as with one delivery in order: each job's one task on its own instance, two
    // instances launched, both ended after their tasks, the desired count back to 0.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    w.bus.delivery = () => 'twice';
    w.bus.order = 'reverse';
    const payloads = [w.queue(), w.queue()];
    for (const payload of payloads) await w.deliver(payload);
    await w.settle();
    await w.advance(2 * MINUTE);
    const hosts = payloads.map((payload) => hostOf(w, payload));
    const live = payloads.map((payload) => w.liveTasksOf(payload).length);
    for (const payload of payloads) {
      await w.startJob(payload);
      await w.finishJob(payload);
    }
    await w.advance(2 * MINUTE);
    expect({
      live,
      distinctHosts: new Set(hosts.filter(Boolean)).size,
      tasks: payloads.map((payload) => w.tasksOf(payload).length),
      launched: w.asg.instances.length,
      states: w.asg.instances.map((i) => i.lifecycleState),
      desired: w.asg.desired('runners-default-asg'),
      mostDesired: Math.max(...w.asg.desiredSets.map((set) => set.desired)),
      violations: w.violations,
    }).toEqual({
      live: [1, 1],
      distinctHosts: 2,
      tasks: [1, 1],
      launched: 2,
      states: ['Terminated', 'Terminated'],
      desired: 0,
      mostDesired: 2,
      violations: [],
    });
  });
});

describe('events late', () => {
  it('launches the job and ends its instance when Auto Scaling’s events come three minutes late and ECS’s task events a minute late', async () => {
    // What lags: every Auto Scaling event (launch, termination) by 3 minutes, past the
    // instance's registration; every ECS task event by a minute. End state: the job ran on its
    // own instance from its registration on; the instance is ended after the task; one instance.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    w.bus.delivery = (event) =>
      event.source === 'aws.autoscaling'
        ? { lateMs: 3 * MINUTE }
        : event['detail-type'] === 'ECS Task State Change'
          ? { lateMs: MINUTE }
          : 'once';
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(MINUTE);
    const ranBeforeTheLaunchEvent = w.liveTasksOf(payload).length;
    await w.advance(3 * MINUTE);
    await w.startJob(payload);
    await w.finishJob(payload);
    await w.advance(5 * MINUTE);
    expect({
      ranBeforeTheLaunchEvent,
      tasks: w.tasksOf(payload).length,
      launched: w.asg.instances.length,
      instance: w.asg.instances[0]?.lifecycleState,
      open: (await w.instances()).length,
      desired: w.asg.desired('runners-default-asg'),
      violations: w.violations,
    }).toEqual({
      ranBeforeTheLaunchEvent: 1,
      tasks: 1,
      launched: 1,
      instance: 'Terminated',
      open: 0,
      desired: 0,
      violations: [],
    });
  });
});
