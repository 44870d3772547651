/**
 * The job lifecycle against an ECS and a DynamoDB as awkward as the real ones: ListTasks that
 * still lists a task seconds after it stopped and lists a new one only seconds after it started,
 * RunTask answers lost after the task was created, a clientToken ECS holds to its first request
 * (ConflictException), `failures[]` it keeps under that token, and DynamoDB answers dropped after
 * the write landed (the SDK's own retry meets its own write). The webhook, the reconciler and the
 * overflow launcher as deployed, with the real SDK clients and Octokit against loopback stand-ins,
 * the ledger on dynalite behind a lossy proxy. Each scenario says what dies, when, and the end
 * state that must hold; the end state is asserted as one object, so a failure shows all of it.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import { createLauncherHandler } from '../../shared/queue/launcher-handler';
import { createSqsRetryDelay } from '../../shared/queue/overflow-queue';
import { createReconciler } from '../../shared/reconcile/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import { type DynamoDbServer, startDynamoDbServer } from '../support/dynamodb-server';
import {
  type EcsStandIn,
  type EcsStandInOptions,
  type EcsTask,
  startEcsStandIn,
} from '../support/ecs-stand-in';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';
import {
  jobIdOf,
  jobOfStartedBy,
  liveOnly,
  type Payload,
  queuedJobs,
  tasksOfJob,
  taskTag,
} from '../support/job-tasks';
import { isConditionalPutOf, type LossyDynamoDb, once, startLossyDynamoDb } from '../support/lossy-dynamodb';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from '../support/s3-server';
import { pollQueue } from '../support/sqs-poller';
import { type SqsStandIn, startSqsStandIn } from '../support/sqs-stand-in';

const TOKEN = 'ghp_lifecycle_faults_suite';
const MINUTE = 60_000;
const FAMILY = 'github-actions-self-hosted-runner-debian-task';
let github: GitHubStandIn;
let s3: S3Server;
let dynamodb: DynamoDbServer;
let lossy: LossyDynamoDb;
let sqs: SqsStandIn;

beforeAll(async () => {
  github = await startGitHubStandIn({ token: TOKEN });
  s3 = await startS3Server();
  dynamodb = await startDynamoDbServer();
  lossy = await startLossyDynamoDb(dynamodb.url);
  sqs = await startSqsStandIn({ maxReceiveCount: 5, timeScale: 0.001 });
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  // Every function reaches the ledger through the lossy proxy.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = lossy.url;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
});
afterAll(async () => {
  await Promise.all([github.close(), s3.close(), lossy.close(), sqs.close()]);
  await dynamodb.close();
});
let table = '';
beforeEach(async () => {
  table = await dynamodb.createJobsTable();
});
afterEach(() => {
  lossy.dropAnswer = undefined;
  sqs.messages.length = 0;
  expect(github.violations).toEqual([]);
});

/** An ECS stand-in for one describe (its options are its awkwardness); the functions reach it. */
function ecsStandIn(options: EcsStandInOptions): () => EcsStandIn {
  let ecs: EcsStandIn | undefined;
  beforeAll(async () => {
    ecs = await startEcsStandIn(options);
    process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  });
  afterAll(async () => {
    await ecs?.close();
  });
  return () => {
    if (!ecs) throw new Error('the ECS stand-in is not started');
    return ecs;
  };
}

type Env = Record<string, string>;
const env = (extra: Env = {}) => ({
  WEBHOOK_SECRET: TEST_SECRET,
  ECS_CLUSTER: 'runners',
  GITHUB_TOKEN: TOKEN,
  GITHUB_API_URL: github.url,
  RUNNER_CONFIG_BUCKET,
  JOBS_TABLE: table,
  ...extra,
});
const clock = (offsetMs: number) => () => Date.now() + offsetMs;
/** The webhook as deployed, `offsetMs` from now. */
const webhook = (offsetMs = 0, extra: Env = {}) =>
  createWebhookHandler(createWebhookDependencies({ env: env(extra), now: clock(offsetMs) }));
/** One reconcile round, `offsetMs` from now. */
const reconcile = (offsetMs = 0, extra: Env = {}) =>
  createReconciler(createDependencies({ env: env(extra), now: clock(offsetMs) })).reconcile();
/** The overflow launcher drains the queue, `offsetMs` from now (as Lambda's event source mapping would). */
const drainQueue = async (offsetMs = 0, extra: Env = {}) => {
  const deps = createDependencies({ env: env(extra), now: clock(offsetMs) });
  const launcher = createLauncherHandler({ ...deps, delayRetry: createSqsRetryDelay(sqs.queueUrl) });
  await pollQueue(sqs.queueUrl, launcher, { until: () => sqs.messages.length === 0, timeoutMs: 10_000 });
};
const withQueue = (extra: Env = {}) => ({ OVERFLOW_QUEUE_URL: sqs.queueUrl, ...extra });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A job of ours, queued now on GitHub. */
const queuedJob = queuedJobs(() => github, 7_500_000_000, 75_000);
const idOf = jobIdOf;
/** Every task ever started for the job, stopped or not. */
const tasksOf = (ecs: EcsStandIn, payload: Payload) => tasksOfJob(ecs.tasks, idOf(payload));
const liveTasksOf = (ecs: EcsStandIn, payload: Payload) => liveOnly(tasksOf(ecs, payload));
const tag = taskTag;
/** Runner names held by more than one task: tasks that share one JIT registration. */
const sharedRegistrations = (tasks: readonly EcsTask[]) => {
  const names = tasks.map((task) => tag(task, 'gha:runner-name'));
  return [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
};
/** The job's record, read as the functions read it. */
const recordOf = (payload: Payload) => createDynamoDbJobLedger(table).get(idOf(payload));
const deliver = async (payload: Payload, variation: JobVariation, offsetMs = 0, extra: Env = {}) =>
  webhook(
    offsetMs,
    extra,
  )(
    await signedRequest(
      jobOfOurs({
        jobId: idOf(payload),
        runId: payload.workflow_job.run_id as number,
        labels: payload.workflow_job.labels as string[],
        ...variation,
      }),
    ),
  );
const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe('scenario 1: a stopped task taken for the new attempt', () => {
  let capacity = true;
  /** The job whose new attempt's first RunTask finds no place, and how often that happened. */
  let placeNoAttemptTwoOf: number | undefined;
  let placementFailures = 0;
  const ecs = ecsStandIn({
    waitsForCapacity: () => !capacity,
    // ListTasks (desiredStatus RUNNING) keeps listing a stopped task for 30 s.
    stoppedListLagMs: 30_000,
    placementFailure: (input) => {
      const attempt = (input.tags as Array<{ key: string; value: string }>).find(
        (t) => t.key === 'gha:launch-attempt',
      )?.value;
      if (jobOfStartedBy(input.startedBy) !== placeNoAttemptTwoOf || attempt !== '2') return undefined;
      placeNoAttemptTwoOf = undefined;
      placementFailures++;
      return 'RESOURCE:MEMORY';
    },
  });

  it('never records the task it just stopped as the new attempt’s task, and the new attempt’s own task runs', async () => {
    // What dies: capacity, for the first task (PROVISIONING past RECONCILE_CAPACITY_WAIT, 10 min).
    // When: 11 minutes on, the reconciler stops it and launches attempt 2, whose first RunTask
    // answers failures[] while ListTasks still lists the stopped task under desiredStatus RUNNING.
    // End state: the record never names the stopped task; with capacity back, one live task,
    // attempt 2's, which the record names; attempt 2 is not ended as lost (no attempt 3).
    capacity = false;
    const payload = queuedJob();
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    const [first] = tasksOf(ecs(), payload);
    placeNoAttemptTwoOf = idOf(payload);
    await reconcile(11 * MINUTE);
    const named = [(await recordOf(payload))?.taskArn];
    capacity = true;
    for (const offset of [12 * MINUTE, 13 * MINUTE]) {
      await reconcile(offset);
      named.push((await recordOf(payload))?.taskArn);
    }
    const live = liveTasksOf(ecs(), payload);
    const record = await recordOf(payload);
    expect({ placementFailures, firstStopped: first?.desiredStatus }).toEqual({
      placementFailures: 1,
      firstStopped: 'STOPPED',
    });
    expect({
      recordNamedTheStoppedTask: named.includes(first?.taskArn),
      liveTasks: live.length,
      liveTaskAttempt: tag(live[0], 'gha:launch-attempt'),
      recordAttempt: record?.attempt,
      recordNamesTheLiveTask: record?.taskArn === live[0]?.taskArn,
    }).toEqual({
      recordNamedTheStoppedTask: false,
      liveTasks: 1,
      liveTaskAttempt: '2',
      recordAttempt: 2,
      recordNamesTheLiveTask: true,
    });
  });
});

describe('scenario 2: a DynamoDB write that landed, whose answer was lost', () => {
  const ecs = ecsStandIn({ listLagMs: 200 });

  it('answers 200 "runner task started" with one task when the answer to the delivery’s first write was lost', async () => {
    // What dies: DynamoDB's answer to the webhook's first conditional put (record + claim) of a
    // queued job. When: the write has landed; the socket is destroyed before the answer. The SDK's
    // own retry meets that write: ConditionalCheckFailedException.
    // End state: the delivery is answered 200 "runner task started" (not 202 "another launcher
    // is starting its task", which leaves the job without a runner until the lease runs out), and
    // the job has exactly one task.
    const payload = queuedJob();
    lossy.dropAnswer = once(isConditionalPutOf(idOf(payload)));
    const response = await webhook()(await signedRequest(payload));
    const puts = lossy.calls.filter(isConditionalPutOf(idOf(payload)));
    // The fault was injected, and the SDK did retry the put.
    expect({
      dropped: lossy.dropped.filter(isConditionalPutOf(idOf(payload))).length,
      retried: JSON.stringify(puts[1]?.input) === JSON.stringify(puts[0]?.input),
    }).toEqual({ dropped: 1, retried: true });
    expect({
      status: response.statusCode,
      message: bodyOf(response).message,
      tasks: tasksOf(ecs(), payload).length,
    }).toEqual({ status: 200, message: 'runner task started', tasks: 1 });
  });
});

describe('scenario 6: a retry’s clientToken changes with the request', () => {
  /** The job whose RunTask answers are lost after the task is created. */
  let answersLostFor: number | undefined;
  let lostAnswers = 0;
  const ecs = ecsStandIn({
    listLagMs: 300,
    fault: (operation, input) => {
      if (operation !== 'RunTask' || jobOfStartedBy(input.startedBy) !== answersLostFor) return undefined;
      lostAnswers++;
      return { kind: 'hangup-after' };
    },
  });
  /** The webhook's delivery of `payload`, every RunTask answer lost; then ListTasks catches up. */
  const deliverWithAnswersLost = async (payload: Payload, extra: Env) => {
    answersLostFor = idOf(payload);
    const response = await webhook(0, extra)(await signedRequest(payload));
    answersLostFor = undefined;
    await sleep(400);
    return response;
  };

  it('starts one task for a job whose RunTask answer was lost, though a new task definition revision came before the reconciler’s retry', async () => {
    // What dies: the answers to the webhook's RunTask (the task is created, the socket destroyed;
    // its retries under the same token too). When: before the reconciler's retry a deploy moves
    // the profile to task definition revision 2, so the request is not the same.
    // End state: exactly one task ever started for the job (stopped or not), and the record names it.
    const payload = queuedJob();
    const response = await deliverWithAnswersLost(payload, { LAUNCH_DEADLINE_MS: '1500' });
    expect({ status: response.statusCode, created: tasksOf(ecs(), payload).length }).toEqual({
      status: 503,
      created: 1,
    });
    expect(lostAnswers).toBeGreaterThan(0);
    await reconcile(2 * MINUTE, { ECS_TASK_DEFINITION: `${FAMILY}:2` });
    const tasks = tasksOf(ecs(), payload);
    const record = await recordOf(payload);
    expect({
      tasksEverStarted: tasks.length,
      sharedRegistrations: sharedRegistrations(tasks).length,
      recordNamesIt: record?.taskArn === tasks[0]?.taskArn,
    }).toEqual({ tasksEverStarted: 1, sharedRegistrations: 0, recordNamesIt: true });
  });

  it('starts one task for a job whose RunTask answer was lost, though the overflow launcher retries after the idle timeout changed', async () => {
    // What dies: the same answers. When: the job went to the overflow queue; before the launcher
    // takes it a deploy changes RUNNER_IDLE_TIMEOUT (an environment variable of the request).
    // End state: exactly one task ever started for the job, and the record names it.
    const payload = queuedJob();
    const response = await deliverWithAnswersLost(payload, withQueue({ LAUNCH_DEADLINE_MS: '3000' }));
    expect({ status: response.statusCode, created: tasksOf(ecs(), payload).length }).toEqual({
      status: 202,
      created: 1,
    });
    await drainQueue(10_000, withQueue({ RUNNER_IDLE_TIMEOUT: '1200' }));
    const tasks = tasksOf(ecs(), payload);
    const record = await recordOf(payload);
    expect({
      tasksEverStarted: tasks.length,
      sharedRegistrations: sharedRegistrations(tasks).length,
      recordNamesIt: record?.taskArn === tasks[0]?.taskArn,
    }).toEqual({ tasksEverStarted: 1, sharedRegistrations: 0, recordNamesIt: true });
  });
});

describe('scenario 7: two tasks with no deploy at all', () => {
  /** The job whose first RunTask is not placed and whose second is answered late. */
  let unluckyJob: number | undefined;
  let runTasks = 0;
  let placements = 0;
  const faults = { failures: 0, late: 0 };
  const ecs = ecsStandIn({
    // ListTasks lists a new task 5 s after it started: longer than the launcher's retry takes.
    listLagMs: 5_000,
    placementFailure: (input) => {
      if (jobOfStartedBy(input.startedBy) !== unluckyJob || ++placements > 1) return undefined;
      faults.failures++;
      return 'RESOURCE:MEMORY';
    },
    fault: (operation, input) => {
      if (operation !== 'RunTask' || jobOfStartedBy(input.startedBy) !== unluckyJob || ++runTasks !== 2)
        return undefined;
      faults.late++;
      // The task starts at once; the answer comes after the webhook's launch deadline.
      return { kind: 'answer-late', ms: 3_000 };
    },
  });

  it('never starts two tasks on one runner registration when RunTask answers failures[], then late, then ListTasks lags', async () => {
    // What dies: the first RunTask finds no place (failures[], kept under its token); the launch's
    // second RunTask starts a task but answers after the deadline; the job goes to the overflow
    // queue. When: the launcher takes it 10 s later, while ListTasks does not list that task yet.
    // End state: no two tasks hold one registration (runner name, JIT config), and exactly one
    // live task for the job.
    const payload = queuedJob();
    unluckyJob = idOf(payload);
    const response = await webhook(
      0,
      withQueue({ LAUNCH_DEADLINE_MS: '3000' }),
    )(await signedRequest(payload));
    expect({ status: response.statusCode, faults }).toEqual({
      status: 202,
      faults: { failures: 1, late: 1 },
    });
    await drainQueue(10_000, withQueue());
    const tasks = tasksOf(ecs(), payload);
    expect({
      sharedRegistrations: sharedRegistrations(tasks),
      liveTasks: liveTasksOf(ecs(), payload).length,
    }).toEqual({ sharedRegistrations: [], liveTasks: 1 });
  });
});

describe('scenario 9: a task dies while its job waits for approval', () => {
  const ecs = ecsStandIn({ listLagMs: 200 });

  it('answers the approval with a live task of a new attempt when the job’s task stopped while it waited', async () => {
    // What dies: the job's task (a Spot interruption). When: after a `waiting` delivery (the job's
    // deployment needs approval) and before the approval (`queued` again, queued on GitHub).
    // End state: the approval's answer names a live task of a new attempt, not the stopped one,
    // and the job has exactly one live task.
    const payload = queuedJob();
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    const [first] = tasksOf(ecs(), payload);
    github.jobs.set(idOf(payload), 'waiting');
    expect((await deliver(payload, { action: 'waiting', waitingForApproval: true })).statusCode).toBe(200);
    ecs().stopTask(first?.taskArn ?? '', 'Host EC2 (instance i-0abc) terminated: Spot interruption');
    github.jobs.set(idOf(payload), 'queued');
    const approval = await deliver(payload, {});
    // The answer names the runner (no ARN reaches GitHub's log): its task is the one with that runner name.
    const named = ecs().tasks.find((task) => tag(task, 'gha:runner-name') === bodyOf(approval).runnerName);
    expect({
      status: approval.statusCode,
      namesTheStoppedTask: named === first,
      namedTask: named?.desiredStatus,
      namedAttempt: tag(named, 'gha:launch-attempt'),
      liveTasks: liveTasksOf(ecs(), payload).length,
    }).toEqual({
      status: 200,
      namesTheStoppedTask: false,
      namedTask: 'RUNNING',
      namedAttempt: '2',
      liveTasks: 1,
    });
  });
});

describe('the stand-ins themselves', () => {
  const ecs = ecsStandIn({ stoppedListLagMs: 1_000 });
  const client = () => new DynamoDBClient({ endpoint: lossy.url, maxAttempts: 2 });
  const put = (jobId: number) =>
    new PutItemCommand({
      TableName: table,
      Item: { jobId: { N: String(jobId) }, version: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(jobId)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });

  it('drops the answer of a DynamoDB put that landed, so the SDK’s retry meets its own write', async () => {
    lossy.dropAnswer = once(isConditionalPutOf(1));
    const dynamo = client();
    const error = await dynamo.send(put(1)).catch((e: unknown) => e);
    const stored = await dynamo.send(new GetItemCommand({ TableName: table, Key: { jobId: { N: '1' } } }));
    dynamo.destroy();
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    // As DynamoDB answers ReturnValuesOnConditionCheckFailure (dynalite does not): the item in the way.
    expect((error as ConditionalCheckFailedException).Item).toEqual(stored.Item);
    expect(lossy.dropped.filter(isConditionalPutOf(1))).toHaveLength(1);
  });

  it('keeps listing a stopped ECS task under desiredStatus RUNNING for a while, and describes it STOPPED', async () => {
    const { ECSClient, RunTaskCommand, StopTaskCommand, ListTasksCommand, DescribeTasksCommand } =
      await import('@aws-sdk/client-ecs');
    const client = new ECSClient({ endpoint: ecs().url });
    const startedBy = 'gha-job/1';
    const { tasks = [] } = await client.send(
      new RunTaskCommand({ cluster: 'runners', taskDefinition: FAMILY, startedBy }),
    );
    const task = tasks[0]?.taskArn ?? '';
    await client.send(new StopTaskCommand({ cluster: 'runners', task }));
    const listed = async () =>
      (await client.send(new ListTasksCommand({ cluster: 'runners', startedBy, desiredStatus: 'RUNNING' })))
        .taskArns;
    const soon = await listed();
    const described = await client.send(new DescribeTasksCommand({ cluster: 'runners', tasks: [task] }));
    await sleep(1_100);
    const later = await listed();
    client.destroy();
    expect({ soon, status: described.tasks?.[0]?.lastStatus, later }).toEqual({
      soon: [task],
      status: 'STOPPED',
      later: [],
    });
  });

  it('answers ConflictException to a RunTask that reuses a clientToken with another request', async () => {
    const { ECSClient, RunTaskCommand } = await import('@aws-sdk/client-ecs');
    const client = new ECSClient({ endpoint: ecs().url });
    const run = (taskDefinition: string) =>
      client.send(
        new RunTaskCommand({
          cluster: 'runners',
          taskDefinition,
          startedBy: 'gha-job/2',
          clientToken: 'same',
        }),
      );
    const first = await run(FAMILY);
    const again = await run(FAMILY);
    const other = await run(`${FAMILY}:2`).catch((e: unknown) => e);
    client.destroy();
    expect(again.tasks?.[0]?.taskArn).toBe(first.tasks?.[0]?.taskArn);
    expect((other as { name?: string }).name).toBe('ConflictException');
  });
});
