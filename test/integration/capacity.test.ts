/**
 * Owned capacity, end to end: a queued job's delivery to the webhook, the capacity function driven
 * by the events EC2 Auto Scaling, EC2 and ECS would send (through a test EventBridge), and the
 * reconciler, with the real SDK clients against stand-ins that behave like the services
 * (instances that take tens of seconds to boot and register, warm pools, Spot warnings) and both
 * ledgers on dynalite. Each scenario says what dies or lags, when, and the end state that must
 * hold; the end state is asserted as one object, so a failure shows all of it.
 */
import { describe, expect, it } from '@jest/globals';
import { type CapacityWorld, useCapacityWorlds } from '../support/capacity-world';
import type { Payload } from '../support/job-tasks';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_capacity_suite', firstJobId: 7_800_000_000 });

/** The virtual ms from the delivery until the job's first task ran. */
const timeToTask = (w: CapacityWorld, deliveredAt: number, payload: Payload) => {
  const task = w.tasksOf(payload)[0];
  return task?.startedAt === undefined ? undefined : task.startedAt - deliveredAt;
};

describe('a job and its instance', () => {
  it('gives a queued job a pristine instance, pins its task to it, and ends the instance after the task', async () => {
    // What lags: the instance takes 40 s to boot and 15 s more to register with the cluster.
    // End state: the job's one task ran on the instance launched for it, which ran no other task,
    // and which is terminated once the task stopped; nothing else was launched.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    const payload = w.queue();
    const answer = await w.deliver(payload);
    await w.settle();
    const desiredAtOnce = w.asg.desired('runners-default-asg');
    await w.advance(MINUTE);
    const [task] = w.tasksOf(payload);
    const instanceId = w.instanceOfTask(task);
    const record = await w.job(payload);
    const runTask = w.ecs.calls.find((call) => call.operation === 'RunTask');
    expect({
      status: answer.statusCode,
      desiredAtOnce,
      tasks: w.tasksOf(payload).length,
      live: w.liveTasksOf(payload).length,
      instanceLaunched: w.asg.instances.map((i) => i.instanceId),
      recordInstance: record?.instanceId,
      recordPath: record?.instancePath,
      violations: w.violations,
    }).toEqual({
      status: 202,
      desiredAtOnce: 1,
      tasks: 1,
      live: 1,
      instanceLaunched: [instanceId],
      recordInstance: instanceId,
      recordPath: 'cold',
      violations: [],
    });
    expect(runTask?.input.placementConstraints).toContainEqual({
      type: 'memberOf',
      expression: `ec2InstanceId == ${instanceId}`,
    });
    await w.startJob(payload);
    await w.advance(5 * MINUTE);
    await w.finishJob(payload);
    await w.advance(MINUTE);
    const instance = w.asg.instances.find((i) => i.instanceId === instanceId);
    expect({
      instanceState: instance?.lifecycleState,
      desired: w.asg.desired('runners-default-asg'),
      openInstanceRecords: (await w.instances()).length,
      live: w.liveTasksOf(payload).length,
      violations: w.violations,
    }).toEqual({ instanceState: 'Terminated', desired: 0, openInstanceRecords: 0, live: 0, violations: [] });
  });
});

describe('bursts', () => {
  it('bounds a burst by the group’s maxInstances and by the stack-wide ceiling', async () => {
    // What comes: 30 jobs at once for a group of at most 20 instances, then 30 more for a second
    // group under a ceiling of 25 across both. End state: the first group is set to 20; the
    // second gets what the ceiling leaves (5); never more instances than the ceiling.
    const w = await world({
      ceiling: 25,
      groups: [
        { name: 'small', maxInstances: 20, profiles: ['default'] },
        { name: 'large', maxInstances: 100, profiles: ['large'] },
      ],
      env: {
        RUNNER_PROFILES: JSON.stringify([
          {
            name: 'default',
            labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>'],
          },
          { name: 'large', labels: ['large-<wf_job_run_id>'] },
        ]),
      },
    });
    const small = Array.from({ length: 30 }, () => w.queue());
    await Promise.all(small.map((payload) => w.deliver(payload)));
    await w.settle();
    const large = Array.from({ length: 30 }, () => w.queue());
    for (const payload of large)
      payload.workflow_job.labels = [`large-${String(payload.workflow_job.run_id)}`];
    await Promise.all(large.map((payload) => w.deliver(payload)));
    await w.settle();
    await w.advance(MINUTE);
    expect({
      small: w.asg.desired('runners-small-asg'),
      large: w.asg.desired('runners-large-asg'),
      launched: w.asg.instances.length,
      jobsWithATask: [...small, ...large].filter((payload) => w.liveTasksOf(payload).length === 1).length,
      violations: w.violations,
    }).toEqual({ small: 20, large: 5, launched: 25, jobsWithATask: 25, violations: [] });
  });
});

describe('pools', () => {
  it('keeps a hot pool of two, gives a job one at once (path hot), and refills the pool', async () => {
    // What lags: nothing; the pool is made by the minute's tick before any job.
    // End state: the job's task started at its delivery (200) on a pool instance; without waiting
    // for another minute, two free instances are there again.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 2 }] });
    await w.minute();
    await w.advance(MINUTE);
    const pool = (await w.instances()).filter((r) => r.state === 'ready').map((r) => r.instanceId);
    const payload = w.queue();
    const deliveredAt = w.now();
    const answer = await w.deliver(payload);
    await w.settle();
    const record = await w.job(payload);
    await w.advance(MINUTE);
    const free = (await w.instances()).filter((r) => r.state === 'ready' && r.jobs === 0);
    expect({
      pool: pool.length,
      status: answer.statusCode,
      path: record?.instancePath,
      onAPoolInstance: pool.includes(w.instanceOfTask(w.liveTasksOf(payload)[0]) ?? ''),
      // The pool instance's standby ran before the job: what counts is when the job took it.
      startedWithinSeconds: (() => {
        const took = (record?.taskStartedAt ?? Number.POSITIVE_INFINITY) - deliveredAt;
        return took >= 0 && took < 5_000;
      })(),
      freeAfterAMinute: free.length,
      desired: w.asg.desired('runners-default-asg'),
      violations: w.violations,
    }).toEqual({
      pool: 2,
      status: 200,
      path: 'hot',
      onAPoolInstance: true,
      startedWithinSeconds: true,
      freeAfterAMinute: 2,
      desired: 3,
      violations: [],
    });
  });

  it('resumes an instance from the warm pool for a job (path warm), faster than a cold launch, and refills the warm pool', async () => {
    // What lags: a resume takes 10 s and the agent 4 s more (a cold launch: 40 s and 15 s).
    // End state: the job's task runs on the resumed instance within 20 s; the warm pool holds one
    // instance again.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, warm: 1 }] });
    const [warm] = w.asg.warm('runners-default-asg');
    const payload = w.queue();
    const deliveredAt = w.now();
    await w.deliver(payload);
    await w.settle();
    await w.advance(30_000);
    const record = await w.job(payload);
    expect({
      onTheWarmInstance: w.instanceOfTask(w.liveTasksOf(payload)[0]) === warm?.instanceId,
      path: record?.instancePath,
      within20s: (timeToTask(w, deliveredAt, payload) ?? Number.POSITIVE_INFINITY) <= 20_000,
      warmPool: w.asg.warm('runners-default-asg').length,
      launched: w.asg.instances.length,
      violations: w.violations,
    }).toEqual({
      onTheWarmInstance: true,
      path: 'warm',
      within20s: true,
      warmPool: 1,
      launched: 2,
      violations: [],
    });
  });
});
