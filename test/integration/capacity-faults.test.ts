/**
 * Owned capacity when something is lost, late, repeated or throttled: the world of
 * capacity.test.ts (the webhook, the capacity function on the events the services would send, the
 * reconciler; ECS and EC2 Auto Scaling stand-ins on the test's clock) with its EventBridge losing,
 * repeating, delaying and reordering events, an instance that never registers, Auto Scaling
 * throttling, Spot interruptions. Each scenario says what dies, when, and the end state that must
 * hold, with the lifecycle guarantees: exactly one live task per queued job, no busy runner's
 * task stopped, no task on an instance that ran one before.
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
  it('launches the job and ends its instance though Auto Scaling throttles the capacity function’s calls', async () => {
    // What dies: most Auto Scaling calls (a bucket of one request, refilled every two seconds):
    // the SDK's retries run out, a converge fails and is retried, a termination is left undone.
    // When: throughout; the minute's schedule runs. End state: the job ran on its own instance,
    // which is terminated after its task; the desired count never went past one.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    w.asg.throttle = { burst: 1, perSecond: 0.5 };
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(3 * MINUTE, { schedule: true });
    const ran = w.liveTasksOf(payload).length;
    await w.startJob(payload);
    await w.finishJob(payload);
    await w.advance(3 * MINUTE, { schedule: true });
    expect({
      throttled: w.asg.throttled() > 0,
      ran,
      launched: w.asg.instances.length,
      instance: w.asg.instances[0]?.lifecycleState,
      mostDesired: Math.max(...w.asg.desiredSets.map((set) => set.desired)),
      desired: w.asg.desired('runners-default-asg'),
      violations: w.violations,
    }).toEqual({
      throttled: true,
      ran: 1,
      launched: 1,
      instance: 'Terminated',
      mostDesired: 1,
      desired: 0,
      violations: [],
    });
  });
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

describe('Spot interruptions', () => {
  const groups = [
    { name: 'spot', maxInstances: 10, spot: true, onInterruption: 'on-demand' },
    { name: 'on-demand', maxInstances: 10 },
  ];

  it('moves a job whose runner has not started it to a new On-Demand instance when its Spot instance is warned', async () => {
    // What dies: the job's Spot instance (EC2's two-minute warning). When: its task runs, GitHub
    // has not given it the job yet. End state: the job's one live task runs on a pristine
    // instance of the On-Demand group; the Spot instance is terminated.
    const w = await world({ groups });
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(MINUTE);
    const spotHost = hostOf(w, payload) ?? '';
    const firstTask = w.liveTasksOf(payload)[0];
    w.asg.interruptSpot(spotHost);
    await w.settle();
    await w.advance(2 * MINUTE);
    const host = hostOf(w, payload);
    expect({
      firstTask: firstTask?.desiredStatus,
      live: w.liveTasksOf(payload).length,
      onDemand: w.asg.listed('runners-on-demand-asg').some((i) => i.instanceId === host),
      spot: w.asg.instances.find((i) => i.instanceId === spotHost)?.lifecycleState,
      fallback: (await w.job(payload))?.capacityFallback,
      violations: w.violations,
    }).toEqual({
      firstTask: 'STOPPED',
      live: 1,
      onDemand: true,
      spot: 'Terminated',
      fallback: true,
      violations: [],
    });
  });

  it('leaves a job that started on a warned Spot instance to run until EC2 takes the instance back', async () => {
    // What dies: the Spot instance of a job that is running. When: EC2 warns two minutes ahead;
    // the minute's schedule runs meanwhile. End state: until EC2 takes it, the instance is not
    // terminated by us and the busy runner's task is not stopped; no second task for the job.
    const w = await world({ groups });
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(MINUTE);
    await w.startJob(payload);
    const host = hostOf(w, payload) ?? '';
    w.asg.interruptSpot(host);
    await w.settle();
    await w.advance(110_000, { schedule: true });
    const terminatedByUs = w.asg.calls.filter(
      (call) => call.operation === 'TerminateInstanceInAutoScalingGroup' && call.input.InstanceId === host,
    ).length;
    expect({
      terminatedByUs,
      instance: w.asg.instances.find((i) => i.instanceId === host)?.lifecycleState,
      live: w.liveTasksOf(payload).length,
      tasks: w.tasksOf(payload).length,
      violations: w.violations,
    }).toEqual({ terminatedByUs: 0, instance: 'InService', live: 1, tasks: 1, violations: [] });
    // EC2 takes it back: the task stops with it, and the record of the instance closes.
    await w.advance(2 * MINUTE, { schedule: true });
    expect({
      instance: w.asg.instances.find((i) => i.instanceId === host)?.lifecycleState,
      recordOpen: (await w.instance(host))?.open,
      tasks: w.tasksOf(payload).length,
      violations: w.violations,
    }).toEqual({ instance: 'Terminated', recordOpen: false, tasks: 1, violations: [] });
  });
});
