/**
 * Standby runners on the hot pool, end to end: the capacity function starts a runner task on each
 * free pristine instance of a hot group before any job; a job that claims the instance writes its
 * JIT config for it instead of starting a task. The world's standby containers poll their
 * presigned URLs against the S3 server (a real GET, then the DELETE), as the entry point does. Each
 * scenario says what dies or lags, when, and the end state that must hold.
 */
import { describe, expect, it } from '@jest/globals';
import { parseStandbyStartedBy } from '../../shared/ecs/run-task-input';
import { type CapacityWorld, useCapacityWorlds } from '../support/capacity-world';
import type { EcsTask } from '../support/ecs-stand-in';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_standby_suite', firstJobId: 7_900_000_000 });

const live = (tasks: readonly EcsTask[]) => tasks.filter((task) => task.desiredStatus === 'RUNNING');
const standbyRunTasks = (w: CapacityWorld) =>
  w.ecs.calls
    .filter((call) => call.operation === 'RunTask')
    .map((call) => call.input as Record<string, unknown>)
    .filter((input) => parseStandbyStartedBy(input.startedBy as string) !== undefined);
const jobRunTasks = (w: CapacityWorld) =>
  w.ecs.calls.filter(
    (call) =>
      call.operation === 'RunTask' &&
      parseStandbyStartedBy((call.input as { startedBy?: string }).startedBy) === undefined,
  ).length;

describe('standby runners', () => {
  it('runs a standby on each free hot instance, its URLs in an environment file, and a job takes one without a RunTask', async () => {
    // What lags: nothing; the pool and its standbys are made by the minute's tick before any job.
    // End state: two standbys, pinned, no presigned URL in any request; the job's runner is a
    // standby's (no RunTask of its own), it read its config and deleted it; the job runs and ends
    // on that instance, which is terminated; the pool is two free instances with standbys again.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 2 }] });
    await w.minute();
    await w.advance(MINUTE);
    const standbys = live(w.standbyTasks());
    const requests = standbyRunTasks(w);
    const payload = w.queue();
    const answer = await w.deliver(payload);
    await w.settle();
    const record = await w.job(payload);
    const [task] = w.liveTasksOf(payload);
    const pool = w.instanceOfTask(task);
    await w.startJob(payload);
    await w.finishJob(payload);
    await w.advance(MINUTE);
    const free = (await w.instances()).filter((r) => r.state === 'ready' && r.jobs === 0);
    expect({
      standbys: standbys.length,
      pinned: requests.every((input) =>
        JSON.stringify(input.placementConstraints).includes('ec2InstanceId == i-'),
      ),
      urlsInRequests: requests.some((input) => JSON.stringify(input).includes('X-Amz-Signature')),
      environmentFiles: requests.every((input) =>
        /\.urls\.env$/.test(
          (input.overrides as { containerOverrides: { environmentFiles: { value: string }[] }[] })
            .containerOverrides[0]?.environmentFiles[0]?.value ?? '',
        ),
      ),
      status: answer.statusCode,
      jobRunTasks: jobRunTasks(w),
      standbyTaken: standbys.some((standby) => standby.taskArn === task?.taskArn),
      record: { standby: record?.standby, path: record?.instancePath, taskArn: record?.taskArn },
      configLeft: record?.configKey !== undefined && (await w.configExists(record.configKey)),
      poolInstanceGone: w.asg.instances.find((i) => i.instanceId === pool)?.lifecycleState,
      freeWithStandby: free.filter((r) => r.standby?.taskArn !== undefined).length,
      violations: w.violations,
    }).toEqual({
      standbys: 2,
      pinned: true,
      urlsInRequests: false,
      environmentFiles: true,
      status: 200,
      jobRunTasks: 0,
      standbyTaken: true,
      record: { standby: true, path: 'hot', taskArn: task?.taskArn },
      configLeft: false,
      poolInstanceGone: 'Terminated',
      freeWithStandby: 2,
      violations: [],
    });
  });

  it('replaces a standby past its time on the same instance, which stays pristine and takes the next job', async () => {
    // What ends: the standby stops by itself at its time (10 minutes). End state: a new standby
    // on the same instance, which ran no job; a job then takes the new standby, no RunTask of its own.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1 }] });
    await w.minute();
    await w.advance(MINUTE);
    const [instance] = (await w.instances()).filter((r) => r.state === 'ready');
    const [first] = live(w.standbyTasks());
    await w.advance(11 * MINUTE, { schedule: true });
    const now = live(w.standbyTasks());
    const after = await w.instance(instance?.instanceId ?? '');
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    expect({
      firstStopped: w.standbyTasks().find((t) => t.taskArn === first?.taskArn)?.lastStatus,
      liveStandbys: now.length,
      sameInstance: w.instanceOfTask(now[0]) === instance?.instanceId,
      pristine: { jobs: after?.jobs, failures: after?.standbyFailures ?? 0 },
      jobOnTheNewStandby: w.liveTasksOf(payload)[0]?.taskArn === now[0]?.taskArn,
      jobRunTasks: jobRunTasks(w),
      violations: w.violations,
    }).toEqual({
      firstStopped: 'STOPPED',
      liveStandbys: 1,
      sameInstance: true,
      pristine: { jobs: 0, failures: 0 },
      jobOnTheNewStandby: true,
      jobRunTasks: 0,
      violations: [],
    });
  });

  it('stops a standby that does not read its job config, and gives the job a runner on another instance', async () => {
    // What dies: the standby's reads (its URLs stop working), before the job comes. When: the job
    // claims it. End state: within two minutes the deaf standby is stopped, its instance ended, and
    // the job has exactly one live task on another instance, in a new attempt.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1 }] });
    await w.minute();
    await w.advance(MINUTE);
    const [pool] = (await w.instances()).filter((r) => r.state === 'ready');
    w.deafenStandbys();
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(3 * MINUTE, { schedule: true });
    const record = await w.job(payload);
    const tasks = w.liveTasksOf(payload);
    expect({
      live: tasks.length,
      onAnotherInstance: w.instanceOfTask(tasks[0]) !== pool?.instanceId,
      attempt: record?.attempt,
      poolInstance: w.asg.instances.find((i) => i.instanceId === pool?.instanceId)?.lifecycleState,
      violations: w.violations,
    }).toEqual({ live: 1, onAnotherInstance: true, attempt: 2, poolInstance: 'Terminated', violations: [] });
  });

  it('starts a new standby after one dies, none after three, and the instance still takes a job with its own task', async () => {
    // What dies: the standby's container, three times (exit 1), before any job. End state: the
    // instance stays ready and pristine with three failures and no standby; a job then runs on
    // it with a pinned RunTask of its own.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10, hot: 1 }] });
    await w.minute();
    await w.advance(MINUTE);
    const [pool] = (await w.instances()).filter((r) => r.state === 'ready');
    for (let i = 0; i < 3; i++) {
      const [standby] = live(w.standbyTasks());
      if (standby !== undefined) w.ecs.stopTask(standby.taskArn, 'Essential container in task exited', 1);
      await w.settle();
    }
    const after = await w.instance(pool?.instanceId ?? '');
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    const [task] = w.liveTasksOf(payload);
    expect({
      standbysStarted: w.standbyTasks().length,
      liveStandbys: live(w.standbyTasks()).length,
      instance: { state: after?.state, jobs: after?.jobs, failures: after?.standbyFailures },
      jobRunTasks: jobRunTasks(w),
      onThePoolInstance: w.instanceOfTask(task) === pool?.instanceId,
      ownTask: parseStandbyStartedBy(task?.startedBy) === undefined,
      violations: w.violations,
    }).toEqual({
      standbysStarted: 3,
      liveStandbys: 0,
      instance: { state: 'ready', jobs: 0, failures: 3 },
      jobRunTasks: 1,
      onThePoolInstance: true,
      ownTask: true,
      violations: [],
    });
  });
});
