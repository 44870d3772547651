/**
 * Owned capacity end to end, in process: the webhook, the capacity function (its core as
 * `functions/capacity` builds it: `createCapacity` over `createAutoScalingGroups()`, events parsed
 * by `parseCapacityEvent`) and the reconciler, as deployed, with the real SDK clients and Octokit
 * against loopback stand-ins: ECS with container instances, EC2 Auto Scaling with instances that
 * boot on the test's clock, GitHub, S3, and both ledgers on dynalite. Every event the services
 * would send goes through a test EventBridge ({@link EventBus}) the test can make lose, repeat,
 * delay or reorder; a job's request for an instance goes the same way (Lambda's asynchronous
 * invoke). The clock is the wall clock plus what the test advanced: every function, stand-in and
 * ledger reads the same one.
 *
 * The world also watches the lifecycle guarantees as they happen: a runner task stopped while
 * GitHub says its runner is busy, and a task placed on an instance that ran one before.
 */

import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { instanceWantedEvent } from '../../shared/capacity/ask-capacity';
import type { CapacitySummary } from '../../shared/capacity/capacity';
import { type CapacityEvent, parseCapacityEvent } from '../../shared/capacity/capacity-events';
import { createCapacityFromDependencies } from '../../shared/capacity/capacity-function';
import { createDynamoDbInstanceLedger } from '../../shared/capacity/dynamodb-instance-ledger';
import type { InstanceRecord } from '../../shared/capacity/instance-record';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { parseStandbyStartedBy, STANDBY_ENV } from '../../shared/ecs/run-task-input';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import type { JobRecord } from '../../shared/jobs/job-record';
import { createReconciler } from '../../shared/reconcile/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import {
  type AutoScalingGroupSpec,
  type AutoScalingStandIn,
  type AutoScalingTiming,
  startAutoScalingStandIn,
} from './auto-scaling-stand-in';
import { type DynamoDbServer, startDynamoDbServer } from './dynamodb-server';
import { type EcsStandIn, type EcsTask, startEcsStandIn } from './ecs-stand-in';
import { type BusEvent, createEventBus, type EventBus } from './event-bus';
import { type GitHubStandIn, startGitHubStandIn } from './github-stand-in';
import { jobIdOf, liveOnly, type Payload, queuedJobs, tasksOfJob, taskTag } from './job-tasks';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from './s3-server';

/** One owned group: its `CAPACITY_GROUPS` entry and the Auto Scaling group behind it. */
export interface WorldGroup {
  readonly name: string;
  readonly maxInstances: number;
  readonly hot?: number;
  readonly warm?: number;
  readonly spot?: boolean;
  readonly onInterruption?: string;
  readonly reuseIdleMinutes?: number;
  readonly profiles?: readonly string[];
  /** Standby runners on the hot pool's instances (default: on). */
  readonly standby?: boolean;
}

export interface CapacityWorldOptions {
  readonly github: GitHubStandIn;
  readonly githubToken: string;
  readonly dynamodb: DynamoDbServer;
  readonly s3Url: string;
  readonly groups: readonly WorldGroup[];
  /** `CAPACITY_MAX_INSTANCES`, the stack-wide ceiling. */
  readonly ceiling?: number;
  /** `CAPACITY_IDLE_SECONDS`. */
  readonly idleSeconds?: number;
  readonly timing?: Partial<AutoScalingTiming>;
  /** More environment for every function. */
  readonly env?: Readonly<Record<string, string>>;
  /** Makes a job of ours queued on the GitHub stand-in ({@link queuedJobs}). */
  readonly queuedJob: (variation?: JobVariation) => Payload;
}

export const autoScalingGroupOf = (group: string) => `runners-${group}-asg`;
export const capacityProviderOf = (group: string) => `runners-${group}-cp`;

export interface CapacityWorld {
  readonly now: () => number;
  readonly ecs: EcsStandIn;
  readonly asg: AutoScalingStandIn;
  readonly bus: EventBus;
  readonly env: Readonly<Record<string, string>>;
  /** Every capacity event handled, with what it came to. */
  readonly handled: Array<{ readonly event: CapacityEvent; readonly summary: CapacitySummary }>;
  /** Guarantees broken as they happened (a busy runner's task stopped, a task on a used instance). */
  readonly violations: string[];
  /** A job of ours, queued on GitHub now (the world's clock). */
  queue(variation?: JobVariation): Payload;
  /** A GitHub delivery to the webhook (signed), and its answer. */
  deliver(payload: Payload): Promise<{ statusCode: number; body: string }>;
  /** Runs every step due now: the stand-ins' clocks, then every due event, until nothing is due. */
  settle(): Promise<void>;
  /**
   * Moves the clock on, a second at a time, settling after each. With `schedule`, the minute's
   * schedule too: the capacity function's tick and a reconcile round, each minute.
   */
  advance(ms: number, options?: { readonly schedule?: boolean }): Promise<void>;
  /** The minute's schedule once: the capacity function's tick (through the bus) and a reconcile round. */
  minute(): Promise<void>;
  /** The capacity function's handling of one event, as EventBridge would hand it over. */
  handle(event: BusEvent): Promise<CapacitySummary | undefined>;
  job(payload: Payload): Promise<JobRecord | undefined>;
  instance(instanceId: string): Promise<InstanceRecord | undefined>;
  /** Open instance records. */
  instances(group?: string): Promise<InstanceRecord[]>;
  tasksOf(payload: Payload): EcsTask[];
  liveTasksOf(payload: Payload): EcsTask[];
  /** Every standby task ever started. */
  standbyTasks(): EcsTask[];
  /** The standbys running now never read their config (their URLs stopped working, say). */
  deafenStandbys(): void;
  /** Whether the runner config bucket holds the object. */
  configExists(key: string): Promise<boolean>;
  /** The EC2 instance a task was placed on. */
  instanceOfTask(task: EcsTask | undefined): string | undefined;
  /** GitHub gives the job to its runner (in progress, the runner busy), and says so in a delivery. */
  startJob(payload: Payload): Promise<void>;
  /** The job finishes: the runner exits (its task stops), and GitHub says `completed`. */
  finishJob(payload: Payload): Promise<void>;
  close(): Promise<void>;
}

export async function startCapacityWorld(options: CapacityWorldOptions): Promise<CapacityWorld> {
  const { github } = options;
  let offset = 0;
  const now = () => Date.now() + offset;
  const violations: string[] = [];
  const handled: CapacityWorld['handled'] = [];
  // The bus's target is the capacity function, built once the environment is known.
  let target: (event: BusEvent) => Promise<unknown> = async () => undefined;
  const bus = createEventBus({ now, target: (event) => target(event) });

  // The standby tasks' containers (infra/runner-image/entrypoint.sh): what each read, by task.
  const standbys = new Map<string, { readonly runnerName: string; readonly jobId: number | undefined }>();
  const runnerOf = (task: EcsTask) => {
    const name = taskTag(task, 'gha:runner-name') ?? standbys.get(task.taskArn)?.runnerName;
    return [...github.runners.values()].find((runner) => runner.name === name);
  };
  /** The tasks of a job: started for it, or a standby that read its config. */
  const tasksOfJobOrStandby = (jobId: number) => [
    ...tasksOfJob(ecs.tasks, jobId),
    ...ecs.tasks.filter((task) => standbys.get(task.taskArn)?.jobId === jobId),
  ];
  const ecs = await startEcsStandIn({
    now,
    events: (event) => {
      if (event['detail-type'] === 'ECS Task State Change' && event.detail.lastStatus === 'STOPPED') {
        const task = ecs.tasks.find((t) => t.taskArn === event.detail.taskArn);
        const runner = task && runnerOf(task);
        const host = asg.instances.find(
          (i) =>
            i.instanceId ===
            ecs.containerInstances.find((ci) => ci.containerInstanceArn === task?.containerInstanceArn)
              ?.ec2InstanceId,
        );
        // EC2 taking a Spot instance back is no stop of ours.
        if (runner?.busy && !host?.reclaimed)
          violations.push(`task ${task?.taskArn} stopped while its runner ${runner.name} was busy`);
      }
      if (event['detail-type'] === 'ECS Task State Change' && event.detail.lastStatus === 'RUNNING') {
        const arn = event.detail.containerInstanceArn;
        // A standby that read no config ran no job: the instance is still pristine.
        const before = ecs.tasks.filter(
          (t) =>
            t.containerInstanceArn === arn &&
            t.taskArn !== event.detail.taskArn &&
            (parseStandbyStartedBy(t.startedBy) === undefined || standbys.has(t.taskArn)),
        );
        if (arn !== undefined && before.length > 0)
          violations.push(`task ${String(event.detail.taskArn)} placed on a used instance (${String(arn)})`);
      }
      bus.put(event);
    },
  });
  const asg = await startAutoScalingStandIn({
    ecs,
    now,
    events: (event) => bus.put(event),
    ...(options.timing && { timing: options.timing }),
    groups: options.groups.map(
      (group): AutoScalingGroupSpec => ({
        name: autoScalingGroupOf(group.name),
        maxSize: group.maxInstances,
        capacityProvider: capacityProviderOf(group.name),
        ...(group.warm !== undefined && { warmPool: group.warm }),
      }),
    ),
  });
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_AUTO_SCALING = asg.url;
  process.env.AWS_ENDPOINT_URL_S3 = options.s3Url;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = options.dynamodb.url;

  const jobsTable = await options.dynamodb.createJobsTable();
  const instancesTable = await options.dynamodb.createInstancesTable();
  const env: Record<string, string> = {
    WEBHOOK_SECRET: TEST_SECRET,
    ECS_CLUSTER: 'runners',
    GITHUB_TOKEN: options.githubToken,
    GITHUB_API_URL: github.url,
    RUNNER_CONFIG_BUCKET,
    JOBS_TABLE: jobsTable,
    INSTANCES_TABLE: instancesTable,
    CAPACITY_GROUPS: JSON.stringify(
      options.groups.map((group) => ({
        name: group.name,
        autoScalingGroupName: autoScalingGroupOf(group.name),
        capacityProvider: capacityProviderOf(group.name),
        profiles: group.profiles ?? ['default'],
        maxInstances: group.maxInstances,
        hot: group.hot ?? 0,
        warm: group.warm ?? 0,
        spot: group.spot ?? false,
        ...(group.onInterruption !== undefined && { onInterruption: group.onInterruption }),
        ...(group.reuseIdleMinutes !== undefined && { reuseIdleMinutes: group.reuseIdleMinutes }),
        ...(group.standby !== undefined && { standby: group.standby }),
      })),
    ),
    ...(options.ceiling !== undefined && { CAPACITY_MAX_INSTANCES: String(options.ceiling) }),
    ...(options.idleSeconds !== undefined && { CAPACITY_IDLE_SECONDS: String(options.idleSeconds) }),
    ...options.env,
  };
  // A job's request for an instance: a message on the capacity queue, an event on its way.
  const askCapacity = async (group: string) => bus.put(instanceWantedEvent(group));

  // The functions as deployed: each built once (a warm Lambda), sharing the clock.
  const webhook = createWebhookHandler(createWebhookDependencies({ env, now, askCapacity }));
  const reconciler = createReconciler(createDependencies({ env, now, askCapacity }));
  const deps = createDependencies({
    env: { POWERTOOLS_SERVICE_NAME: 'github-runners-capacity', ...env },
    now,
    askCapacity,
  });
  // The world has no launcher queue: the capacity function launches waiting jobs itself.
  const capacity = createCapacityFromDependencies(deps);
  const handle = async (event: BusEvent) => {
    const parsed = parseCapacityEvent(event);
    if (parsed === undefined) return undefined;
    // As the deployed function takes each batch of its queue (here, a batch of one).
    const [summary] = await capacity.handleBatch([parsed]);
    if (summary !== undefined) handled.push({ event: parsed, summary });
    return summary;
  };
  target = handle;

  const jobs = createDynamoDbJobLedger(jobsTable);
  const instanceLedger = createDynamoDbInstanceLedger(instancesTable);
  /**
   * Each running standby container polls its presigned URL (a real GET to the S3 server): a config
   * there is read, deleted through the DELETE URL, and its runner started; past its time it exits.
   */
  const environmentFiles = new Map<string, string>();
  const readObject = async (arn: string) => {
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: options.s3Url, forcePathStyle: true });
    const key = arn.replace(/^arn:[^:]+:s3:::[^/]+\//, '');
    const object = await client.send(new GetObjectCommand({ Bucket: RUNNER_CONFIG_BUCKET, Key: key }));
    const body = (await object.Body?.transformToString()) ?? '';
    client.destroy();
    return body;
  };
  const deaf = new Set<string>();
  const pollStandbys = async () => {
    let changed = false;
    for (const task of ecs.tasks) {
      const instanceId = parseStandbyStartedBy(task.startedBy);
      if (instanceId === undefined || task.lastStatus !== 'RUNNING' || standbys.has(task.taskArn)) continue;
      if (deaf.has(task.taskArn)) continue;
      const container = (
        task.overrides as {
          containerOverrides?: {
            environment?: { name: string; value: string }[];
            environmentFiles?: { value: string }[];
          }[];
        }
      )?.containerOverrides?.[0];
      const env = new Map((container?.environment ?? []).map(({ name, value }) => [name, value]));
      // The agent reads the task's environment file with the execution role, as it starts the container.
      const file = container?.environmentFiles?.[0]?.value;
      if (file !== undefined) {
        let body = environmentFiles.get(file);
        if (body === undefined) {
          body = await readObject(file);
          environmentFiles.set(file, body);
        }
        for (const line of body.split('\n')) {
          const at = line.indexOf('=');
          if (at > 0) env.set(line.slice(0, at), line.slice(at + 1));
        }
      }
      const url = env.get(STANDBY_ENV.url);
      const deleteUrl = env.get(STANDBY_ENV.deleteUrl);
      if (url === undefined || deleteUrl === undefined) continue;
      if (now() / 1000 >= Number(env.get(STANDBY_ENV.until))) {
        ecs.stopTask(task.taskArn, 'Essential container in task exited', 0);
        changed = true;
        continue;
      }
      const answer = await fetch(url);
      if (answer.status !== 200) continue;
      const line = (await answer.text()).split('\n').find((l) => l.startsWith('RUNNER_JIT_CONFIG='));
      if (line === undefined)
        throw new Error(`standby ${task.taskArn} read a config without RUNNER_JIT_CONFIG`);
      const deleted = await fetch(deleteUrl, { method: 'DELETE' });
      if (deleted.status !== 204)
        throw new Error(`standby ${task.taskArn}: DELETE answered ${deleted.status}`);
      const files = JSON.parse(Buffer.from(line.slice('RUNNER_JIT_CONFIG='.length), 'base64').toString());
      const runner = JSON.parse(Buffer.from(files['.runner'], 'base64').toString()) as { AgentName: string };
      const holder = (await instanceLedger.get(instanceId))?.claim?.jobId;
      standbys.set(task.taskArn, { runnerName: runner.AgentName, jobId: holder });
      changed = true;
    }
    return changed;
  };
  const settle = async () => {
    for (let round = 0; round < 1000; round++) {
      asg.step();
      const before = bus.delivered.length;
      await bus.drain();
      const polled = await pollStandbys();
      if (bus.delivered.length === before && !polled) return;
    }
    throw new Error('the world did not settle in 1000 rounds');
  };
  const start = now();
  let minutesRun = 0;
  const minute = async () => {
    bus.put({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    await settle();
    await reconciler.reconcile();
    await settle();
  };
  const deliverVariation = async (payload: Payload, action: string, runnerName?: string) =>
    webhook(
      await signedRequest(
        jobOfOurs({
          jobId: jobIdOf(payload),
          runId: payload.workflow_job.run_id as number,
          labels: payload.workflow_job.labels as string[],
          action,
          ...(runnerName !== undefined && { runnerName }),
        }),
      ),
    );
  const liveTaskOf = (payload: Payload) => {
    const [task, ...more] = liveOnly(tasksOfJobOrStandby(jobIdOf(payload)));
    if (task === undefined || more.length > 0)
      throw new Error(`job ${jobIdOf(payload)} has ${more.length + (task ? 1 : 0)} live tasks`);
    return task;
  };

  return {
    now,
    ecs,
    asg,
    bus,
    env,
    handled,
    violations,
    queue(variation) {
      const payload = options.queuedJob(variation);
      payload.workflow_job.created_at = new Date(now()).toISOString();
      return payload;
    },
    async deliver(payload) {
      const response = await webhook(await signedRequest(payload));
      return { statusCode: response.statusCode, body: response.body };
    },
    settle,
    async advance(ms, { schedule = false } = {}) {
      const end = offset + ms;
      while (offset < end) {
        offset = Math.min(end, offset + 1000);
        await settle();
        if (schedule && Math.floor((now() - start) / 60_000) > minutesRun) {
          minutesRun = Math.floor((now() - start) / 60_000);
          await minute();
        }
      }
    },
    minute,
    handle,
    job: (payload) => jobs.get(jobIdOf(payload)),
    instance: (instanceId) => instanceLedger.get(instanceId),
    instances: (group) => instanceLedger.listOpen(group),
    tasksOf: (payload) => tasksOfJobOrStandby(jobIdOf(payload)),
    liveTasksOf: (payload) => liveOnly(tasksOfJobOrStandby(jobIdOf(payload))),
    standbyTasks: () => ecs.tasks.filter((task) => parseStandbyStartedBy(task.startedBy) !== undefined),
    async configExists(key) {
      try {
        await readObject(`arn:aws:s3:::${RUNNER_CONFIG_BUCKET}/${key}`);
        return true;
      } catch (error) {
        // Only a missing object is "no": any other error fails the test that asked.
        if ((error as { name?: string }).name === 'NoSuchKey') return false;
        throw error;
      }
    },
    deafenStandbys() {
      for (const task of ecs.tasks)
        if (parseStandbyStartedBy(task.startedBy) !== undefined && task.desiredStatus === 'RUNNING')
          deaf.add(task.taskArn);
    },
    instanceOfTask: (task) =>
      ecs.containerInstances.find((ci) => ci.containerInstanceArn === task?.containerInstanceArn)
        ?.ec2InstanceId,
    async startJob(payload) {
      const task = liveTaskOf(payload);
      const runner = runnerOf(task);
      if (runner === undefined)
        throw new Error(`the task of job ${jobIdOf(payload)} has no registered runner`);
      Object.assign(runner, { status: 'online', busy: true });
      github.jobs.set(jobIdOf(payload), 'in_progress');
      github.jobRunners.set(jobIdOf(payload), runner.name);
      await deliverVariation(payload, 'in_progress', runner.name);
      await settle();
    },
    async finishJob(payload) {
      const task = liveTaskOf(payload);
      const runner = runnerOf(task);
      if (runner !== undefined) {
        // An ephemeral runner unregisters itself as it exits.
        Object.assign(runner, { busy: false, status: 'offline' });
        github.runners.delete(runner.id);
      }
      github.jobs.set(jobIdOf(payload), 'completed');
      ecs.stopTask(task.taskArn, 'Essential container in task exited');
      await deliverVariation(payload, 'completed', runner?.name);
      await settle();
    },
    async close() {
      await Promise.all([ecs.close(), asg.close()]);
    },
  };
}

/**
 * A test file's worlds: GitHub, S3 and dynalite started once for the file, a world per test
 * (fresh ECS, Auto Scaling, event bus and tables), closed after it; GitHub's violations asserted
 * empty after each test. Job ids count up from `firstJobId`.
 */
export function useCapacityWorlds(suite: { readonly token: string; readonly firstJobId: number }) {
  let github: GitHubStandIn | undefined;
  let s3: S3Server | undefined;
  let dynamodb: DynamoDbServer | undefined;
  const worlds: CapacityWorld[] = [];
  beforeAll(async () => {
    github = await startGitHubStandIn({ token: suite.token });
    s3 = await startS3Server();
    dynamodb = await startDynamoDbServer();
  });
  afterAll(async () => {
    await Promise.all([github?.close(), s3?.close()]);
    await dynamodb?.close();
  });
  afterEach(async () => {
    for (const world of worlds.splice(0)) await world.close();
    expect(github?.violations).toEqual([]);
  });
  const started = () => {
    if (!github || !s3 || !dynamodb) throw new Error('the suite’s stand-ins are not started');
    return { github, s3, dynamodb };
  };
  const queuedJob = queuedJobs(() => started().github, suite.firstJobId, suite.firstJobId % 100_000);
  return {
    github: () => started().github,
    async world(
      options: Omit<CapacityWorldOptions, 'github' | 'githubToken' | 'dynamodb' | 's3Url' | 'queuedJob'>,
    ): Promise<CapacityWorld> {
      const { github: gh, s3: bucket, dynamodb: db } = started();
      const world = await startCapacityWorld({
        github: gh,
        githubToken: suite.token,
        dynamodb: db,
        s3Url: bucket.url,
        queuedJob,
        ...options,
      });
      worlds.push(world);
      return world;
    },
  };
}
