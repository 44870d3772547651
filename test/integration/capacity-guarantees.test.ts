/**
 * Owned capacity and the lifecycle guarantees: Spot interruptions before and after a job started,
 * claims that race, an instance ECS will not place on, and half an hour of the minute's rounds
 * over jobs in every state, in the world of capacity.test.ts. Each scenario says what dies, when,
 * and the end state that must hold: exactly one live task per queued job, no busy runner's task
 * stopped, no task on an instance that ran one before, no instance left after its task.
 */
import { describe, expect, it } from '@jest/globals';
import { parseCapacitySettings } from '../../shared/capacity/capacity-groups';
import { createDynamoDbInstanceLedger } from '../../shared/capacity/dynamodb-instance-ledger';
import { createInstanceClaims } from '../../shared/capacity/instance-claims';
import { type CapacityWorld, useCapacityWorlds } from '../support/capacity-world';
import type { Payload } from '../support/job-tasks';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_capacity_guarantees_suite', firstJobId: 7_830_000_000 });

/** The EC2 instance the job's one live task runs on. */
const hostOf = (w: CapacityWorld, payload: Payload) => w.instanceOfTask(w.liveTasksOf(payload)[0]);

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

describe('claims', () => {
  it('never gives one instance to two jobs delivered at the same moment', async () => {
    // What races: two jobs' deliveries, handled at once, for a hot pool of one.
    // End state: one job runs on the pool instance (answered 200), the other waits (202) and runs
    // on an instance launched for it; no instance ran two tasks.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1 }] });
    await w.minute();
    await w.advance(MINUTE);
    const [pool] = (await w.instances()).filter((r) => r.state === 'ready');
    const payloads = [w.queue(), w.queue()];
    const answers = await Promise.all(payloads.map((payload) => w.deliver(payload)));
    await w.settle();
    await w.advance(MINUTE);
    const hosts = payloads.map((payload) => hostOf(w, payload));
    expect({
      answers: answers.map((answer) => answer.statusCode).sort(),
      onThePool: hosts.filter((host) => host === pool?.instanceId).length,
      distinctHosts: new Set(hosts.filter(Boolean)).size,
      live: payloads.map((payload) => w.liveTasksOf(payload).length),
      violations: w.violations,
    }).toEqual({ answers: [200, 202], onThePool: 1, distinctHosts: 2, live: [1, 1], violations: [] });
  });

  it('lets exactly one of twenty concurrent claims take a free instance', async () => {
    // What races: twenty claims (the conditional write from ready) on the instance ledger, at once.
    // End state: one holder; the record names it; the others found no free instance.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1 }] });
    await w.minute();
    await w.advance(MINUTE);
    const settings = parseCapacitySettings(w.env);
    const group = settings?.groups[0];
    if (settings === undefined || group === undefined) throw new Error('no capacity settings');
    const claims = createInstanceClaims({
      settings,
      ledger: createDynamoDbInstanceLedger(w.env.INSTANCES_TABLE ?? ''),
      now: w.now,
      ask: async () => undefined,
      warn: () => undefined,
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        claims.claim(group, { jobId: 1000 + i, attempt: 1, placement: 0 }),
      ),
    );
    const holders = results.filter((result) => result !== undefined);
    const [record] = (await w.instances()).filter((r) => r.state === 'claimed');
    expect({ holders: holders.length, recordHolder: record?.claim?.jobId }).toEqual({
      holders: 1,
      recordHolder: holders[0]?.claim?.jobId,
    });
  });

  it('retires an instance ECS will not place on (its agent gone, the event lost) and gives the job another', async () => {
    // What dies: the agent of the free pool instance; its `ECS Container Instance State Change` is
    // lost, so the ledger still says ready. When: before a job comes. End state: ECS answers the
    // pinned RunTask `AGENT`; the instance is retired and terminated; the job's one task runs on a
    // new instance. (No standby: a standby's container would outlive its agent and take the job.)
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1, standby: false }] });
    await w.minute();
    await w.advance(MINUTE);
    const [pool] = (await w.instances()).filter((r) => r.state === 'ready');
    w.bus.delivery = (event) =>
      event['detail-type'] === 'ECS Container Instance State Change' && event.detail.agentConnected === false
        ? 'never'
        : 'once';
    w.ecs.setAgentConnected(pool?.instanceId ?? '', false);
    w.bus.delivery = () => 'once';
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(2 * MINUTE);
    const failures = w.ecs.calls.filter((call) => call.operation === 'RunTask').length;
    expect({
      runTasks: failures,
      pool: w.asg.instances.find((i) => i.instanceId === pool?.instanceId)?.lifecycleState,
      live: w.liveTasksOf(payload).length,
      host: hostOf(w, payload) !== pool?.instanceId && hostOf(w, payload) !== undefined,
      violations: w.violations,
    }).toEqual({ runTasks: 2, pool: 'Terminated', live: 1, host: true, violations: [] });
  });
});

describe('the lifecycle guarantees', () => {
  it('keeps exactly one live task per queued job and never stops a busy runner over half an hour of rounds', async () => {
    // What runs: the minute's schedule (the capacity tick and the reconciler) for 30 minutes over
    // a long job (busy throughout), a job that finishes, and a job whose delivery comes twice.
    // End state: the long job's task and instance are untouched; the finished job's instance is
    // gone; the twice-delivered job has one task; every task ran on its own instance; only the
    // long job's instance is left.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    const [long, short, twice] = [w.queue(), w.queue(), w.queue()];
    if (long === undefined || short === undefined || twice === undefined) throw new Error('no jobs');
    for (const payload of [long, short, twice]) await w.deliver(payload);
    await w.settle();
    await w.advance(MINUTE, { schedule: true });
    await w.deliver(twice);
    await w.startJob(long);
    await w.startJob(short);
    await w.advance(5 * MINUTE, { schedule: true });
    await w.finishJob(short);
    await w.startJob(twice);
    await w.finishJob(twice);
    await w.advance(25 * MINUTE, { schedule: true });
    const longHost = hostOf(w, long);
    expect({
      longLive: w.liveTasksOf(long).length,
      longTasks: w.tasksOf(long).length,
      longInstance: w.asg.instances.find((i) => i.instanceId === longHost)?.lifecycleState,
      shortTasks: w.tasksOf(short).length,
      twiceTasks: w.tasksOf(twice).length,
      listed: w.asg.listed('runners-default-asg').map((i) => i.instanceId),
      tasksPerInstance:
        [...new Set(w.ecs.tasks.map((t) => t.containerInstanceArn))].length === w.ecs.tasks.length,
      violations: w.violations,
    }).toEqual({
      longLive: 1,
      longTasks: 1,
      longInstance: 'InService',
      shortTasks: 1,
      twiceTasks: 1,
      listed: [longHost],
      tasksPerInstance: true,
      violations: [],
    });
  });
});
