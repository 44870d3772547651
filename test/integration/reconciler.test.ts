/**
 * The job lifecycle when something dies or lags: the webhook and the reconciler with the real ECS,
 * S3 and DynamoDB clients and Octokit, against stand-ins as awkward as the real services (tasks
 * that wait for capacity and stop by themselves, answers after the deadline, a `busy` flag that
 * lags, runner lists that leave runners out) and a DynamoDB-protocol server holding the ledger.
 * Each scenario says what dies, when, and the end state that must hold.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import type { JobLedger } from '../../shared/jobs/job-ledger';
import { createReconciler } from '../../shared/reconcile/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import type { Fault } from '../support/aws-stand-in';
import { type DynamoDbServer, startDynamoDbServer } from '../support/dynamodb-server';
import { type EcsStandIn, type EcsTask, startEcsStandIn } from '../support/ecs-stand-in';
import { type GitHubStandIn, type StandInRunner, startGitHubStandIn } from '../support/github-stand-in';
import { jobIdOf, liveOnly, type Payload, queuedJobs, tasksOfJob, taskTag } from '../support/job-tasks';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from '../support/s3-server';

const TOKEN = 'ghp_reconciler_suite';
let ecs: EcsStandIn;
let github: GitHubStandIn;
let s3: S3Server;
let dynamodb: DynamoDbServer;
let capacity = true;
let ecsFault: ((operation: string) => Fault | undefined) | undefined;

beforeAll(async () => {
  ecs = await startEcsStandIn({
    waitsForCapacity: () => !capacity,
    fault: (operation) => ecsFault?.(operation),
    // ListTasks lags: a task is listed only a while after it starts.
    listLagMs: 200,
  });
  github = await startGitHubStandIn({ token: TOKEN });
  s3 = await startS3Server();
  dynamodb = await startDynamoDbServer();
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.url;
});
afterAll(async () => {
  await Promise.all([ecs.close(), github.close(), s3.close(), dynamodb.close()]);
});
afterEach(() => {
  capacity = true;
  ecsFault = undefined;
  expect(github.violations).toEqual([]);
});

let table = '';
beforeEach(async () => {
  table = await dynamodb.createJobsTable();
});

const env = (extra: Record<string, string> = {}) => ({
  WEBHOOK_SECRET: TEST_SECRET,
  ECS_CLUSTER: 'runners',
  GITHUB_TOKEN: TOKEN,
  GITHUB_API_URL: github.url,
  RUNNER_CONFIG_BUCKET,
  JOBS_TABLE: table,
  ...extra,
});
/** The webhook as deployed, `offsetMs` from now. */
const webhook = (offsetMs = 0, extra: Record<string, string> = {}) =>
  createWebhookHandler(createWebhookDependencies({ env: env(extra), now: () => Date.now() + offsetMs }));
/** One reconcile round, `offsetMs` from now. */
const reconcile = (offsetMs = 0, extra: Record<string, string> = {}) =>
  createReconciler(createDependencies({ env: env(extra), now: () => Date.now() + offsetMs })).reconcile();

/** A job of ours, queued now on GitHub. */
const queuedJob = queuedJobs(() => github, 7_000_000_000, 70_000);
const idOf = jobIdOf;
const tasksOf = (payload: Payload) => tasksOfJob(ecs.tasks, idOf(payload));
const liveTasksOf = (payload: Payload) => liveOnly(tasksOf(payload));
const tag = taskTag;
const runnerOf = (task: EcsTask | undefined): StandInRunner | undefined =>
  [...github.runners.values()].find((runner) => runner.name === tag(task, 'gha:runner-name'));
/** GitHub gives the job to a runner: the job is in progress, the runner busy (as far as it says). */
const takeJob = async (payload: Payload, task: EcsTask | undefined, busyFlag: boolean) => {
  const runner = runnerOf(task);
  if (!runner) throw new Error('the task has no registered runner');
  Object.assign(runner, { status: 'online', busy: busyFlag });
  github.jobs.set(idOf(payload), 'in_progress');
  github.jobRunners.set(idOf(payload), runner.name);
  return runner;
};
const deliver = async (payload: Payload, variation: JobVariation, offsetMs = 0) =>
  webhook(offsetMs)(
    await signedRequest(
      jobOfOurs({
        jobId: idOf(payload),
        runId: payload.workflow_job.run_id as number,
        labels: payload.workflow_job.labels as string[],
        ...variation,
      }),
    ),
  );
const HOUR = 3_600_000;

describe('scenario: GitHub lags', () => {
  it('never stops a runner that runs its own job, though its busy flag reads false and the lists leave it out', async () => {
    // What lags: GitHub's busy flag (false all along) and the organisation's runner list (no entry).
    const payload = queuedJob();
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    const [task] = tasksOf(payload);
    const runner = await takeJob(payload, task, false);
    github.hiddenFromLists.add(runner.name);
    await deliver(payload, { action: 'in_progress', runnerName: runner.name });
    // Hours later, far past the idle timeout.
    for (const offset of [0, HOUR, 5 * HOUR]) await reconcile(offset);
    expect(liveTasksOf(payload)).toEqual([task]);
    expect(github.runners.has(runner.id)).toBe(true);
  });

  it('never stops it either when the in_progress delivery is lost: the task waits for its job', async () => {
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const [task] = tasksOf(payload);
    await takeJob(payload, task, false);
    for (const offset of [0, HOUR, 5 * HOUR]) await reconcile(offset);
    expect(liveTasksOf(payload)).toEqual([task]);
  });

  it('stops the idle runner of a job that went to another runner once no job of its run waits', async () => {
    // Two jobs of one run; job B's runner takes job A, so job A's own runner waits for nothing.
    const a = queuedJob();
    const b = queuedJob({ runId: a.workflow_job.run_id as number });
    await webhook()(await signedRequest(a));
    await webhook()(await signedRequest(b));
    const [taskA] = tasksOf(a);
    const [taskB] = tasksOf(b);
    const runnerB = await takeJob(a, taskB, true);
    await deliver(a, { action: 'in_progress', runnerName: runnerB.name });
    await deliver(b, { action: 'completed' });
    github.jobs.set(idOf(b), 'completed');
    const summary = await reconcile();
    expect(taskA?.desiredStatus).toBe('STOPPED');
    expect(taskB?.desiredStatus).toBe('RUNNING');
    expect(runnerOf(taskA)).toBeUndefined();
    expect(summary.stopped).toBe(1);
  });
});

describe('scenario: ECS loses tasks', () => {
  it('replaces a task stopped by a Spot interruption before its job started: one live task, a new token', async () => {
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const [first] = tasksOf(payload);
    const firstRunner = runnerOf(first);
    ecs.stopTask(first?.taskArn ?? '', 'Host EC2 (instance i-0abc) terminated: Spot interruption');
    const summary = await reconcile();
    expect(summary.relaunched).toBe(1);
    const live = liveTasksOf(payload);
    expect(live).toHaveLength(1);
    expect(tag(live[0], 'gha:launch-attempt')).toBe('2');
    // The lost attempt's registration and config object are gone; the new one's are there.
    expect(github.runners.has(firstRunner?.id ?? -1)).toBe(false);
    expect(runnerOf(live[0])).toBeDefined();
    const configKey = (task: typeof first) =>
      /runner-config\/[0-9a-f]{32}\.env/.exec(JSON.stringify(task?.overrides))?.[0] ?? '';
    const objects = await s3.objects();
    expect(objects.has(configKey(first))).toBe(false);
    expect(objects.has(configKey(live[0]))).toBe(true);
    expect(configKey(live[0])).not.toBe(configKey(first));
  });

  it('replaces a task ECS forgot, once past the grace for eventual consistency', async () => {
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const [first] = tasksOf(payload);
    ecs.tasks.splice(ecs.tasks.indexOf(first as EcsTask), 1);
    await reconcile(30_000);
    expect(tasksOf(payload)).toHaveLength(0);
    await reconcile(5 * 60_000);
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('keeps a task waiting for capacity while its job waits, and replaces it past the bound', async () => {
    capacity = false;
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const [first] = tasksOf(payload);
    await reconcile(5 * 60_000);
    expect(liveTasksOf(payload)).toEqual([first]);
    await reconcile(11 * 60_000);
    expect(first?.desiredStatus).toBe('STOPPED');
    expect(liveTasksOf(payload)).toHaveLength(1);
    expect(liveTasksOf(payload)[0]).not.toBe(first);
  });

  it('moves a Spot job that waited for capacity past the bound onto the On-Demand fallback', async () => {
    const label = '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>';
    const profiles = JSON.stringify([
      {
        name: 'spot',
        labels: [label],
        capacityProviderStrategy: [{ capacityProvider: 'x86-spot', weight: 1 }],
        fallbackCapacityProviderStrategy: [{ capacityProvider: 'x86-on-demand', weight: 1 }],
      },
    ]);
    // No Spot capacity comes: the first task stays PROVISIONING.
    capacity = false;
    const payload = queuedJob();
    await webhook(0, { RUNNER_PROFILES: profiles })(await signedRequest(payload));
    const [first] = tasksOf(payload);
    await reconcile(11 * 60_000, { RUNNER_PROFILES: profiles });
    const strategies = ecs.calls
      .filter(
        (call) =>
          call.operation === 'RunTask' &&
          String(call.input.startedBy).startsWith(`gha-job/${idOf(payload)}/`),
      )
      .map(
        (call) =>
          (call.input.capacityProviderStrategy as Array<{ capacityProvider: string }>)[0]?.capacityProvider,
      );
    expect(strategies).toEqual(['x86-spot', 'x86-on-demand']);
    expect(first?.desiredStatus).toBe('STOPPED');
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('records a runner GitHub refused for its release (exit 78) as such, and counts it once', async () => {
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const [first] = tasksOf(payload);
    // ECS's own words for a task whose one container exited; the exit code says why.
    ecs.stopTask(first?.taskArn ?? '', 'Essential container in task exited', 78);
    const summary = await reconcile();
    expect(summary.versionRefused).toBe(1);
    const record = await createDynamoDbJobLedger(table).get(idOf(payload));
    expect(record?.lastStop).toContain('GitHub refused the runner release (exit 78)');
    // The next round sees the same stopped task again: it is not counted twice.
    expect((await reconcile(60_000)).versionRefused).toBe(0);
  });

  it('alarms after the bounded failed attempts and backs off, but never abandons a job GitHub calls queued', async () => {
    // What dies: every task, by itself, before its job starts (an image it cannot pull).
    // End state: three attempts, one alarm, then no task for the longest backoff; then one more try.
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    let exhausted = 0;
    let at = 0;
    for (let round = 0; round < 4; round++) {
      for (const task of liveTasksOf(payload))
        ecs.stopTask(task.taskArn, 'CannotPullContainerError: pull access denied');
      exhausted += (await reconcile(at)).exhausted;
      at += 60_000;
    }
    expect(tasksOf(payload)).toHaveLength(3);
    expect(liveTasksOf(payload)).toHaveLength(0);
    expect(exhausted).toBe(1);
    await reconcile(at + 60_000);
    expect(tasksOf(payload)).toHaveLength(3);
    await reconcile(at + 16 * 60_000);
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('finds the task of a RunTask whose answer came after the deadline, and deletes no registration', async () => {
    // What dies: the answer. ECS starts the task; the webhook gave up before the answer came.
    ecsFault = (operation) => (operation === 'RunTask' ? { kind: 'answer-late', ms: 1500 } : undefined);
    const payload = queuedJob();
    const deletesBefore = github.requests.filter((r) => r.operation.startsWith('DELETE')).length;
    const response = await webhook(0, { LAUNCH_DEADLINE_MS: '1000' })(await signedRequest(payload));
    expect(response.statusCode).toBe(503);
    ecsFault = undefined;
    const [task] = tasksOf(payload);
    const runner = runnerOf(task);
    expect(runner).toBeDefined();
    // Next minute: the reconciler retries the same attempt under its token and finds that task.
    await reconcile(60_000);
    expect(liveTasksOf(payload)).toEqual([task]);
    expect(github.runners.has(runner?.id ?? -1)).toBe(true);
    expect(github.requests.filter((r) => r.operation.startsWith('DELETE'))).toHaveLength(deletesBefore);
  });
});

describe('scenario: a runner config waits in S3', () => {
  it.each(['jit', 'token'])(
    'is deleted by the first round that sees its task running (%s registration)',
    async (registration) => {
      const extra = { RUNNER_REGISTRATION: registration };
      const payload = queuedJob();
      await webhook(0, extra)(await signedRequest(payload));
      const [task] = tasksOf(payload);
      const key = /runner-config\/[0-9a-f]{32}\.env/.exec(JSON.stringify(task?.overrides))?.[0] ?? '';
      expect((await s3.objects()).has(key)).toBe(true);
      await reconcile(0, extra);
      expect(task?.lastStatus).toBe('RUNNING');
      expect((await s3.objects()).has(key)).toBe(false);
      expect(liveTasksOf(payload)).toEqual([task]);
    },
  );
});

describe('scenario: the ledger answers late', () => {
  it('finishes a launch whose claim was written but never answered: the lease runs out, then one task', async () => {
    // What dies: DynamoDB's answer to the claim. The write landed; the webhook never hears so.
    const ledger = createDynamoDbJobLedger(table);
    const lossy: JobLedger = {
      ...ledger,
      async put(next, expected, signal) {
        const written = await ledger.put(next, expected, signal);
        if (next.state === 'launching') throw new Error('TimeoutError: the answer never came');
        return written;
      },
    };
    const payload = queuedJob();
    const lost = createWebhookHandler(
      createWebhookDependencies({ env: env(), overrides: { ledger: lossy } }),
    );
    expect((await lost(await signedRequest(payload))).statusCode).toBe(500);
    expect(tasksOf(payload)).toHaveLength(0);
    // GitHub redelivers at once: the claim's lease still holds, so nothing starts twice.
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(202);
    await reconcile(10_000);
    expect(tasksOf(payload)).toHaveLength(0);
    // Past the lease, the reconciler takes the attempt over.
    await reconcile(60_000);
    expect(liveTasksOf(payload)).toHaveLength(1);
  });
});

describe('scenario: deliveries late, twice, out of order', () => {
  it('gives a job that waits for approval no runner, and one once approved', async () => {
    const payload = queuedJob({ waitingForApproval: true });
    github.jobs.set(idOf(payload), 'waiting');
    await webhook()(await signedRequest(payload));
    // Past the reconciler's wait before it asks GitHub: GitHub says waiting, so still no runner.
    await reconcile(5 * 60_000);
    expect(tasksOf(payload)).toHaveLength(0);
    github.jobs.set(idOf(payload), 'queued');
    await deliver(payload, {});
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('stops the idle runner of a job sent back to wait, and gives it a new attempt when queued again', async () => {
    const payload = queuedJob();
    await webhook(0, { RUNNER_REGISTRATION: 'token' })(await signedRequest(payload));
    const [first] = tasksOf(payload);
    // In token mode the runner registers itself: GitHub lists it, online and idle.
    github.runners.set(90_001, {
      id: 90_001,
      name: tag(first, 'gha:runner-name') ?? '',
      status: 'online',
      busy: false,
      labels: [],
      groupId: 1,
      scope: `repo:${payload.repository.full_name}`,
    });
    github.jobs.set(idOf(payload), 'waiting');
    await deliver(payload, { action: 'waiting', waitingForApproval: true });
    await reconcile();
    expect(first?.desiredStatus).toBe('STOPPED');
    expect(github.runners.has(90_001)).toBe(false);
    github.jobs.set(idOf(payload), 'queued');
    const again = await webhook(0, { RUNNER_REGISTRATION: 'token' })(
      await signedRequest(
        jobOfOurs({
          jobId: idOf(payload),
          runId: payload.workflow_job.run_id as number,
          labels: payload.workflow_job.labels as string[],
        }),
      ),
    );
    expect(again.statusCode).toBe(200);
    expect(liveTasksOf(payload)).toHaveLength(1);
    expect(tag(liveTasksOf(payload)[0], 'gha:launch-attempt')).toBe('2');
  });

  it('starts nothing for a queued delivery that comes after the job completed', async () => {
    const payload = queuedJob();
    await deliver(payload, { action: 'completed' });
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    await reconcile();
    expect(tasksOf(payload)).toHaveLength(0);
  });

  it('asks GitHub nothing when a job of ours completes (no organisation-wide listing per event)', async () => {
    const payload = queuedJob();
    await webhook()(await signedRequest(payload));
    const before = github.requests.length;
    expect((await deliver(payload, { action: 'completed' })).statusCode).toBe(200);
    expect(github.requests.length).toBe(before);
  });
});

describe('scenario: tasks no job knows', () => {
  it('stops an idle runner task no open job knows, once past the idle timeout, and keeps a busy one', async () => {
    const idle = queuedJob();
    const busy = queuedJob();
    // Their jobs were launched by a webhook whose ledger is gone (another table).
    const lost = await dynamodb.createJobsTable();
    await webhook(0, { JOBS_TABLE: lost })(await signedRequest(idle));
    await webhook(0, { JOBS_TABLE: lost })(await signedRequest(busy));
    await takeJob(busy, tasksOf(busy)[0], true);
    await reconcile(60_000);
    expect(liveTasksOf(idle)).toHaveLength(1);
    // ListTasks is eventually consistent: the new tasks are listed a moment later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const summary = await reconcile(2 * HOUR);
    expect(summary.orphansStopped).toBeGreaterThanOrEqual(1);
    expect(summary.errors).toEqual([]);
    expect(liveTasksOf(idle)).toHaveLength(0);
    expect(liveTasksOf(busy)).toHaveLength(1);
  });
});

describe('scenario: deliveries that contradict each other', () => {
  it('gives its runner back to a job whose waiting delivery came after its approval', async () => {
    // What lags: the `waiting` delivery, which GitHub sent before the approved `queued` but arrived after.
    const payload = queuedJob();
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    await deliver(payload, { action: 'waiting', waitingForApproval: true });
    for (const offset of [0, 60_000, 10 * 60_000, HOUR]) await reconcile(offset);
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('launches a job whose waiting delivery came after its approval, when no task was started', async () => {
    const payload = queuedJob({ waitingForApproval: true });
    await webhook()(await signedRequest(payload));
    // GitHub's own view: the job is queued (approved), but the approved `queued` delivery was lost.
    await reconcile(5 * 60_000);
    expect(liveTasksOf(payload)).toHaveLength(1);
  });

  it('ends a round within its time, leaving the rest for the next one', async () => {
    ecsFault = (operation) =>
      operation === 'RunTask' ? { kind: 'error', type: 'ServerException', status: 500 } : undefined;
    const jobs = [queuedJob(), queuedJob()];
    for (const payload of jobs)
      await webhook(0, { LAUNCH_DEADLINE_MS: '1000' })(await signedRequest(payload));
    ecsFault = (operation) => (operation === 'RunTask' ? { kind: 'delay', ms: 3000 } : undefined);
    const started = Date.now();
    const summary = await createReconciler(
      createDependencies({ env: env(), now: () => Date.now() + 60_000 }),
      {
        budgetMs: 6_000,
      },
    ).reconcile();
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(summary.deferred).toBeGreaterThan(0);
  }, 30_000);
});
