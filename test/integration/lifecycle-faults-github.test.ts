/**
 * The job lifecycle when GitHub is the part that fails: it answers 5xx for minutes, its runner
 * look-ups lag behind a runner that took a job, its answers are slow, and its rate limit is a
 * budget. The webhook and the reconciler run with the real ECS, S3 and DynamoDB clients and
 * Octokit, against loopback stand-ins and a DynamoDB-protocol server holding the ledger; the
 * functions' clock runs in virtual minutes (`now: () => Date.now() + offset`), one round a minute.
 * Each scenario says what dies, when, and the end state that must hold.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import type { JobRecord } from '../../shared/jobs/job-record';
import { createReconciler, type ReconcileSummary } from '../../shared/reconcile/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import { type DynamoDbServer, startDynamoDbServer } from '../support/dynamodb-server';
import { type EcsStandIn, type EcsTask, startEcsStandIn } from '../support/ecs-stand-in';
import {
  type GitHubRequest,
  type GitHubStandIn,
  type StandInRunner,
  startGitHubStandIn,
} from '../support/github-stand-in';
import { jobIdOf, liveOnly, type Payload, queuedJobs, tasksOfJob, taskTag } from '../support/job-tasks';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from '../support/s3-server';

const TOKEN = 'ghp_lifecycle_faults_github';
const MINUTE = 60_000;
let ecs: EcsStandIn;
let github: GitHubStandIn;
let s3: S3Server;
let dynamodb: DynamoDbServer;
/** Whether a new task waits in PROVISIONING (no capacity); per test. */
let waitsForCapacity: (task: EcsTask) => boolean = () => false;

beforeAll(async () => {
  ecs = await startEcsStandIn({ waitsForCapacity: (task) => waitsForCapacity(task) });
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
  waitsForCapacity = () => false;
  github.outage = undefined;
  github.latency = undefined;
  github.missingFromLookups.clear();
  expect(github.violations).toEqual([]);
});

let table = '';
beforeEach(async () => {
  table = await dynamodb.createJobsTable();
  // Each scenario starts on an empty cluster: an earlier scenario's tasks, whose records are in
  // another table, would be orphans to this one's reconciler.
  for (const task of ecs.live()) ecs.stopTask(task.taskArn, 'the previous scenario ended');
  github.runners.clear();
});

type Settings = Record<string, string>;
const env = (extra: Settings = {}) => ({
  WEBHOOK_SECRET: TEST_SECRET,
  ECS_CLUSTER: 'runners',
  GITHUB_TOKEN: TOKEN,
  GITHUB_API_URL: github.url,
  RUNNER_CONFIG_BUCKET,
  JOBS_TABLE: table,
  ...extra,
});
/** The webhook as deployed, now. */
const webhook = (extra: Settings = {}) =>
  createWebhookHandler(createWebhookDependencies({ env: env(extra) }));

/** One reconcile round at virtual minute `minute`, and the GitHub requests it made. */
async function round(
  minute: number,
  extra: Settings = {},
  options: { readonly budgetMs?: number } = {},
): Promise<{ summary: ReconcileSummary; requests: GitHubRequest[] }> {
  const before = github.requests.length;
  const summary = await createReconciler(
    createDependencies({ env: env(extra), now: () => Date.now() + minute * MINUTE }),
    options,
  ).reconcile();
  return { summary, requests: github.requests.slice(before) };
}

/** A job of ours, queued now on GitHub. */
const queuedJob = queuedJobs(() => github, 8_100_000_000, 81_000);
const idOf = jobIdOf;
const tasksOf = (payload: Payload) => tasksOfJob(ecs.tasks, idOf(payload));
const liveTasksOf = (payload: Payload) => liveOnly(tasksOf(payload));
const tag = taskTag;
const runnerNameOf = (task: EcsTask | undefined) => tag(task, 'gha:runner-name') ?? '';
const runnerOf = (task: EcsTask | undefined): StandInRunner | undefined =>
  [...github.runners.values()].find((runner) => runner.name === runnerNameOf(task));
const recordOf = (payload: Payload): Promise<JobRecord | undefined> =>
  createDynamoDbJobLedger(table).get(idOf(payload));
/** A delivery for `payload`'s job, through the webhook as deployed. */
const deliver = async (payload: Payload, variation: JobVariation, extra: Settings = {}) =>
  webhook(extra)(
    await signedRequest(
      jobOfOurs({
        jobId: idOf(payload),
        runId: payload.workflow_job.run_id as number,
        labels: payload.workflow_job.labels as string[],
        ...variation,
      }),
    ),
  );
/** Starts `payload`'s job through the webhook and returns its task. */
async function launched(payload: Payload, extra: Settings = {}): Promise<EcsTask> {
  expect((await webhook(extra)(await signedRequest(payload))).statusCode).toBe(200);
  const [task] = tasksOf(payload);
  if (!task) throw new Error('the webhook started no task');
  return task;
}
const jobLookups = (requests: readonly GitHubRequest[], jobId?: number) =>
  requests.filter(
    (r) =>
      r.operation === 'GET /repos/{owner}/{repo}/actions/jobs/{job_id}' &&
      (jobId === undefined || r.params.job_id === String(jobId)),
  );
const isRunJobsList = (r: GitHubRequest) =>
  r.operation === 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs';
const isJobRoute = (r: GitHubRequest) => r.operation.includes('/jobs');
const lookupsByName = (name: string) =>
  github.requests.filter((r) => r.operation.endsWith('/actions/runners') && r.query.get('name') === name);

/** Our runner task's job ran and ended on GitHub; the runner deregistered itself and its task exited. */
function jobRanAndTaskExited(payload: Payload, task: EcsTask) {
  const name = runnerNameOf(task);
  github.jobs.set(idOf(payload), 'completed');
  github.jobRunners.set(idOf(payload), name);
  for (const [id, runner] of github.runners) if (runner.name === name) github.runners.delete(id);
  ecs.stopTask(task.taskArn, 'Essential container in task exited');
}

describe('scenario 3: GitHub does not answer', () => {
  // Two shapes of one outage. With JIT registration and every route down no launch can register a
  // runner, which would hide the fault; so: token registration (RunTask needs no GitHub) with all of
  // GitHub down, and JIT registration with only the job routes down (an Actions incident).
  it.each([
    {
      registration: 'token',
      down: 'every route',
      settings: { RUNNER_REGISTRATION: 'token' },
      routes: undefined,
      status: 502 as const,
    },
    {
      registration: 'jit',
      down: 'the job routes',
      settings: {},
      routes: isJobRoute,
      status: 503 as const,
    },
  ])(
    'starts no second task for a job whose task stopped while GitHub answers 5xx on $down ($registration registration), and closes it once GitHub says completed',
    async ({ settings, routes, status }) => {
      // What dies: GitHub (5xx), from the moment the job's task exits, for 10 virtual minutes; and the
      // job's `in_progress` and `completed` deliveries, so the record still says task-started. The
      // task ran the job to its end: a relaunch would start a runner for a job that is over.
      // End state: one task ever, the record open while GitHub is silent, closed once it answers.
      const payload = queuedJob();
      const task = await launched(payload, settings);
      jobRanAndTaskExited(payload, task);
      github.outage = { status, ...(routes && { routes }) };
      let answered5xx = 0;
      for (let minute = 0; minute <= 10; minute++) {
        const { requests } = await round(minute, settings);
        answered5xx += requests.filter((r) => r.status === status).length;
      }
      // The fault was hit: the reconciler asked, and GitHub answered 5xx.
      expect(answered5xx).toBeGreaterThan(0);
      expect({ tasks: tasksOf(payload).length, open: (await recordOf(payload))?.open }).toEqual({
        tasks: 1,
        open: true,
      });

      github.outage = undefined;
      for (let minute = 11; minute <= 13; minute++) await round(minute, settings);
      const record = await recordOf(payload);
      expect({ tasks: tasksOf(payload).length, open: record?.open, attempt: record?.attempt }).toEqual({
        tasks: 1,
        open: false,
        attempt: 1,
      });
    },
    30_000,
  );

  it('relaunches once, not once a round, when GitHub stays down past RECONCILE_UNKNOWN_RELAUNCH', async () => {
    // What dies: GitHub's job look-ups (503) for 16 virtual minutes, from the moment the job's task
    // stopped before anyone heard whether the job started (`in_progress` lost). Past the setting's
    // 600 s the job may be waiting for a runner after all: it gets one new attempt, not one a round.
    // (Registration still answers: with it down too no attempt can start, rightly.)
    // End state: exactly one new task, started no earlier than minute 10; one live task.
    const settings = { RUNNER_REGISTRATION: 'token', RECONCILE_UNKNOWN_RELAUNCH: '600' };
    const payload = queuedJob();
    const task = await launched(payload, settings);
    ecs.stopTask(task.taskArn, 'Essential container in task exited');
    github.outage = { status: 503, routes: isJobRoute };
    const relaunchedAt: number[] = [];
    for (let minute = 0; minute <= 15; minute++) {
      const before = tasksOf(payload).length;
      await round(minute, settings);
      for (let n = before; n < tasksOf(payload).length; n++) relaunchedAt.push(minute);
    }
    expect(relaunchedAt).toHaveLength(1);
    expect(relaunchedAt[0]).toBeGreaterThanOrEqual(10);
    expect(liveTasksOf(payload)).toHaveLength(1);
    const record = await recordOf(payload);
    expect({ open: record?.open, attempt: record?.attempt, exhausted: record?.exhausted ?? false }).toEqual({
      open: true,
      attempt: 2,
      exhausted: false,
    });
  }, 30_000);
});

describe('scenario 4: a busy runner is never stopped when GitHub’s look-up comes back empty', () => {
  // Pool labels (no run id in them): any idle runner of ours may take any job of ours, of any run,
  // so the jobs of a runner's own run cannot tell that it is at work.
  const ORG = (jobOfOurs().organization as { login: string }).login;
  const POOL_LABEL = `${ORG}-sandpit-pool`;
  const POOL = { RUNNER_LABELS_TEMPLATE: '<detail_org>-<target_env>-pool' };
  const TOKEN_POOL = { ...POOL, RUNNER_REGISTRATION: 'token' };
  let nextRunnerId = 900_000;
  /** With token registration the runner registers itself (the seed's admin token) as it starts. */
  const selfRegistered = (task: EcsTask, state: Pick<StandInRunner, 'status' | 'busy'>) => {
    const runner: StandInRunner = {
      id: nextRunnerId++,
      name: runnerNameOf(task),
      labels: [POOL_LABEL],
      groupId: 1,
      scope: `repo:${tag(task, 'gha:repository')}`,
      ...state,
    };
    github.runners.set(runner.id, runner);
    return runner;
  };
  /**
   * Job A went to another runner (its `in_progress` delivery says so); A's own runner took job D,
   * of another run, whose `in_progress` delivery has not come yet.
   */
  async function jobTakenElsewhere(settings: Settings) {
    const a = queuedJob({ labels: [POOL_LABEL] });
    const taskA = await launched(a, settings);
    const d = queuedJob({ labels: [POOL_LABEL] });
    await launched(d, settings);
    github.jobs.set(idOf(a), 'in_progress');
    github.jobRunners.set(idOf(a), 'octo-runner-b');
    expect(
      (await deliver(a, { action: 'in_progress', runnerName: 'octo-runner-b' }, settings)).statusCode,
    ).toBe(200);
    return { a, taskA, d };
  }

  it('keeps a busy orphan runner task past its idle timeout while the runner list lags and leaves it out', async () => {
    // What dies: the ledger (the webhook that launched the job wrote another table), and GitHub's
    // runner index lags: the runner, registered and busy with a job of another run, is in no list
    // and no look-up by name. Rounds run to two hours, far past the idle timeout (15 min + grace).
    // End state: the task runs, its registration stays.
    const lost = await dynamodb.createJobsTable();
    const payload = queuedJob({ labels: [POOL_LABEL] });
    const task = await launched(payload, { ...POOL, JOBS_TABLE: lost });
    const runner = runnerOf(task);
    if (!runner) throw new Error('the task has no registered runner');
    Object.assign(runner, { status: 'online', busy: true });
    const other = queuedJob({ labels: [POOL_LABEL] });
    github.jobs.set(idOf(other), 'in_progress');
    github.jobRunners.set(idOf(other), runner.name);
    github.jobs.set(idOf(payload), 'completed');
    github.jobRunners.set(idOf(payload), 'octo-runner-b');
    github.missingFromLookups.add(runner.name);
    for (const minute of [0, 25, 60, 120]) await round(minute, POOL);
    // The fault was hit: the orphan sweep looked the runner up by name and found nothing.
    expect(lookupsByName(runner.name).length).toBeGreaterThan(0);
    expect({ desired: task.desiredStatus, reason: task.stoppedReason }).toEqual({
      desired: 'RUNNING',
      reason: undefined,
    });
    expect(github.runners.has(runner.id)).toBe(true);
  });

  it('keeps the busy runner of a job taken by another runner, with token registration (no runner id), while the list leaves it out', async () => {
    // What dies: GitHub's runner index lags (the busy runner is in no answer) and the `in_progress`
    // delivery of the job the runner took (job D) is late. The record of job A has no runner id
    // (token registration), so no DELETE can be refused for it. End state: A's runner task runs.
    const { taskA, d } = await jobTakenElsewhere(TOKEN_POOL);
    const runner = selfRegistered(taskA, { status: 'online', busy: true });
    github.jobs.set(idOf(d), 'in_progress');
    github.jobRunners.set(idOf(d), runner.name);
    github.missingFromLookups.add(runner.name);
    for (const minute of [0, 25, 60, 120]) await round(minute, TOKEN_POOL);
    expect(lookupsByName(runner.name).length).toBeGreaterThan(0);
    expect({ desired: taskA.desiredStatus, reason: taskA.stoppedReason }).toEqual({
      desired: 'RUNNING',
      reason: undefined,
    });
    expect(github.runners.has(runner.id)).toBe(true);
  });

  it('stops the idle runner of a job taken by another runner once GitHub finds it idle and deletes it', async () => {
    // Control for the two above: the same jobs, but GitHub finds the runner (registered, offline,
    // not busy) and accepts its deletion. End state: A's task stopped and its registration gone.
    const { taskA } = await jobTakenElsewhere(TOKEN_POOL);
    const runner = selfRegistered(taskA, { status: 'offline', busy: false });
    const { summary } = await round(0, TOKEN_POOL);
    expect(summary.stopped).toBe(1);
    expect(taskA.desiredStatus).toBe('STOPPED');
    expect(github.runners.has(runner.id)).toBe(false);
  });
});

describe('scenario 5: a job whose completed delivery was lost', () => {
  it.each([
    {
      ranOn: 'another runner',
      act: async (payload: Payload, task: EcsTask) => {
        github.jobs.set(idOf(payload), 'in_progress');
        github.jobRunners.set(idOf(payload), 'octo-runner-elsewhere');
        await deliver(payload, { action: 'in_progress', runnerName: 'octo-runner-elsewhere' });
        github.jobs.set(idOf(payload), 'completed');
        return task;
      },
    },
    {
      ranOn: 'its own runner (its task then exited)',
      act: async (payload: Payload, task: EcsTask) => {
        github.jobs.set(idOf(payload), 'in_progress');
        github.jobRunners.set(idOf(payload), runnerNameOf(task));
        await deliver(payload, { action: 'in_progress', runnerName: runnerNameOf(task) });
        jobRanAndTaskExited(payload, task);
        return task;
      },
    },
  ])(
    'closes a running record whose job ran on $ranOn and completed without a delivery, asking GitHub every few minutes at most',
    async ({ act }) => {
      // What dies: the `completed` delivery, after `in_progress` arrived. GitHub says completed.
      // Rounds run every virtual minute for 30 minutes. End state: the record closed, no task of the
      // job left running, and GitHub asked about the job at least once, never twice within 3 minutes.
      const payload = queuedJob();
      await act(payload, await launched(payload));
      const lookedUpAt: number[] = [];
      for (let minute = 0; minute <= 30; minute++) {
        const { requests } = await round(minute);
        // Asked about the job: its own look-up, or its run's jobs list (one call for all of a run's jobs).
        const asked = requests.filter(
          (r) =>
            jobLookups([r], idOf(payload)).length > 0 ||
            (isRunJobsList(r) && r.params.run_id === String(payload.workflow_job.run_id)),
        );
        for (const _ of asked) lookedUpAt.push(minute);
      }
      const record = await recordOf(payload);
      expect({
        open: record?.open,
        live: liveTasksOf(payload).length,
        askedGitHub: lookedUpAt.length >= 1,
      }).toEqual({ open: false, live: 0, askedGitHub: true });
      const gaps = lookedUpAt.slice(1).map((minute, i) => minute - (lookedUpAt[i] as number));
      expect(gaps.filter((gap) => gap < 3)).toEqual([]);
    },
    30_000,
  );
});

describe('scenario 8: waiting for capacity', () => {
  it('never gives a job up while capacity is absent for 40 minutes, and gives it one running task when capacity returns', async () => {
    // What dies: capacity, for 40 virtual minutes from the job's queueing (every task waits in
    // PROVISIONING); RECONCILE_CAPACITY_WAIT at its default (600 s). End state: the job never
    // exhausted, counted stuck while it waits, and one live RUNNING task once capacity is back.
    waitsForCapacity = () => true;
    const payload = queuedJob();
    await launched(payload);
    let exhausted = 0;
    const notStuckAt: number[] = [];
    for (let minute = 0; minute <= 40; minute++) {
      const { summary } = await round(minute);
      exhausted += summary.exhausted;
      // Past RECONCILE_STUCK_AFTER (300 s) from the job's queueing.
      if (minute >= 6 && summary.stuck === 0) notStuckAt.push(minute);
    }
    waitsForCapacity = () => false;
    for (let minute = 41; minute <= 43; minute++) exhausted += (await round(minute)).summary.exhausted;
    const record = await recordOf(payload);
    expect({
      exhausted,
      recordExhausted: record?.exhausted ?? false,
      open: record?.open,
      live: liveTasksOf(payload).map((task) => task.lastStatus),
    }).toEqual({ exhausted: 0, recordExhausted: false, open: true, live: ['RUNNING'] });
    expect(notStuckAt).toEqual([]);
  }, 30_000);
});

describe('scenario 10: GitHub’s rate limit during a capacity shortage', () => {
  it('keeps every round within RECONCILE_GITHUB_REQUESTS, one run list per run and one look-up per job in 3 minutes, for 50 jobs without capacity', async () => {
    // What dies: capacity, for the whole hour; 50 jobs in 5 workflow runs (10 each) wait. The
    // rounds must not spend GitHub's rate limit on asking, again and again, about jobs nobody can
    // serve. End state, every round: ≤ 20 requests (the setting), ≤ 1 `runs/{id}/jobs` per run,
    // no job looked up twice within 3 virtual minutes, and the summary counts what GitHub saw.
    const settings = { RECONCILE_GITHUB_REQUESTS: '20' };
    waitsForCapacity = () => true;
    const jobs = Array.from({ length: 50 }, (_, i) => queuedJob({ runId: 85_000 + Math.floor(i / 10) }));
    for (const payload of jobs) await launched(payload, settings);
    const violations: string[] = [];
    const reported: Array<number | undefined> = [];
    const counted: number[] = [];
    const lastLookup = new Map<string, number>();
    for (let minute = 0; minute <= 60; minute++) {
      const { summary, requests } = await round(minute, settings);
      reported.push(summary.githubRequests);
      counted.push(requests.length);
      if (requests.length > 20) violations.push(`minute ${minute}: ${requests.length} GitHub requests`);
      const runLists = new Map<string, number>();
      for (const r of requests.filter(isRunJobsList)) {
        runLists.set(r.params.run_id ?? '', (runLists.get(r.params.run_id ?? '') ?? 0) + 1);
      }
      for (const [run, n] of runLists) {
        if (n > 1) violations.push(`minute ${minute}: run ${run} listed ${n} times`);
      }
      let lookedUpAgain = 0;
      for (const r of jobLookups(requests)) {
        const job = r.params.job_id ?? '';
        const last = lastLookup.get(job);
        if (last !== undefined && minute - last < 3) lookedUpAgain++;
        lastLookup.set(job, minute);
      }
      if (lookedUpAgain > 0) {
        violations.push(`minute ${minute}: ${lookedUpAgain} job look-ups within 3 minutes of the last`);
      }
      // Stop at the first round that breaks the bounds: the rest would only repeat it, slowly.
      if (violations.length > 0) break;
    }
    expect(violations).toEqual([]);
    expect(reported).toEqual(counted);
  }, 60_000);
});

describe('scenario 11: the orphan sweep and the round’s budget', () => {
  it('returns within its budget when runner look-ups are slow, leaving the orphans it did not reach as deferred, and still counts the stuck jobs', async () => {
    // What dies: the ledger, for 100 runner tasks (orphans: no open record knows them); and GitHub
    // is slow: each runner look-up takes 250 ms. Two jobs of ours wait for capacity (stuck). The
    // round's budget is 6 s (above the 5 s the sweep needs to start at all today).
    // End state: the round resolves within its budget and a margin, what it did not reach is
    // counted deferred, and the stuck jobs are counted.
    const BUDGET_MS = 6_000;
    const MARGIN_MS = 3_000;
    const settings = { RECONCILE_CAPACITY_WAIT: '7200' };
    waitsForCapacity = () => true;
    const stuck = [queuedJob(), queuedJob()];
    for (const payload of stuck) await launched(payload, settings);
    const template = jobOfOurs();
    const repository = template.repository.full_name as string;
    for (let i = 0; i < 100; i++) {
      const jobId = 8_900_000_000 + i;
      const name = `orphan-runner-${i}`;
      ecs.tasks.push({
        taskArn: `arn:aws:ecs:us-east-1:123456789012:task/runners/${'f'.repeat(24)}${String(i).padStart(8, '0')}`,
        cluster: 'runners',
        taskDefinitionArn:
          'arn:aws:ecs:us-east-1:123456789012:task-definition/github-actions-self-hosted-runner-debian-task:1',
        startedBy: `gha-job/${jobId}/1`,
        tags: [
          { key: 'gha:job-id', value: String(jobId) },
          { key: 'gha:run-id', value: String(89_000 + Math.floor(i / 10)) },
          { key: 'gha:run-attempt', value: '1' },
          { key: 'gha:repository', value: repository },
          { key: 'gha:runner-name', value: name },
          { key: 'gha:launch-attempt', value: '1' },
        ],
        overrides: {},
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        createdAt: Date.now(),
        startedAt: Date.now(),
      });
      github.runners.set(700_000 + i, {
        id: 700_000 + i,
        name,
        status: 'online',
        busy: false,
        labels: [],
        groupId: 1,
        scope: `repo:${repository}`,
      });
    }
    github.latency = (r) => (r.operation.endsWith('/actions/runners') ? 250 : 0);
    // A round that overruns is not left to slow the rest of the suite: past the limit, GitHub is fast again.
    const limit = setTimeout(() => {
      github.latency = undefined;
    }, BUDGET_MS + MARGIN_MS);
    const started = Date.now();
    const { summary } = await round(30, settings, { budgetMs: BUDGET_MS });
    const elapsed = Date.now() - started;
    clearTimeout(limit);
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
    expect(summary.deferred).toBeGreaterThan(0);
    expect(summary.orphansStopped + summary.deferred).toBe(100);
    expect(summary.stuck).toBe(2);
  }, 60_000);
});
