/**
 * One scenario of the capacity simulation: the real code (the webhook's `serveJob`, the launch
 * path, the capacity function's `createCapacity`, the ledgers) against the stand-ins of GitHub,
 * ECS, EC2 and EC2 Auto Scaling, all on one virtual clock, for one day's trace.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createCapacity } from '../../shared/capacity/capacity';
import type { CapacityEvent } from '../../shared/capacity/capacity-events';
import { createInstanceClaims, type InstancePath } from '../../shared/capacity/instance-claims';
import { createMemoryInstanceLedger } from '../../shared/capacity/instance-ledger';
import { launchWaitingJob } from '../../shared/capacity/launch-waiting-job';
import { createStandbyRunners } from '../../shared/capacity/standby-runners';
import { type Config, parseConfig } from '../../shared/config';
import { parseStandbyStartedBy, STANDBY_ENV } from '../../shared/ecs/run-task-input';
import type { RunnerConfigStore, RunnerCredential } from '../../shared/ecs/runner-config-store';
import { createMemoryJobLedger } from '../../shared/jobs/job-ledger';
import type { LaunchDependencies } from '../../shared/launch/launch-job';
import { createReconciler } from '../../shared/reconcile/reconciler';
import type { WorkflowJobEvent } from '../../shared/runner/workflow-job';
import { serveJob } from '../../shared/webhook/serve-job';
import { type CapacityQueue, createCapacityFunction } from './capacity-function';
import { type DelayName, draw } from './delays';
import { createAutoScaling, type SimInstance } from './ec2';
import { createEcs, type SimTask } from './ecs';
import { createGitHub, type SimRunner } from './github';
import type { TraceJob } from './job-trace';
import { type ManagedScalingStats, startManagedScaling } from './managed-scaling';
import type { Random } from './random';
import { createVirtualClock } from './virtual-clock';

/** How a scenario gets its capacity. */
export interface CapacityScenario {
  readonly name: string;
  /** `managed`: today's ECS managed scaling; `owned`: the capacity function (CAPACITY_GROUPS). */
  readonly capacity: 'managed' | 'owned';
  readonly hot?: number;
  /** The hot pool's hours (`Mon-Fri 07:00-19:00`); absent: all day. */
  readonly hotSchedule?: string;
  readonly warm?: number;
  /** What-if: no standby runners on the hot pool (each job starts its task, as before them). */
  readonly standby?: boolean;
  /**
   * What-if (not the design): the capacity function fed by an SQS FIFO queue instead of Lambda's
   * asynchronous invocations, and its launches of waiting jobs handed to a concurrent launcher.
   */
  readonly capacityFunction?: { readonly queue: CapacityQueue; readonly launches: 'inline' | 'offloaded' };
}

export type JobPath = InstancePath | 'managed';

export interface JobOutcome {
  readonly jobId: number;
  readonly burst: boolean;
  readonly queuedAt: number;
  readonly startedAt: number | undefined;
  /** How the task that ran it got its instance. */
  readonly path: JobPath | undefined;
  /** Its task ran on an instance a task had run on before. */
  readonly usedInstance: boolean;
  /** Times a runner took it (exactly once is right). */
  readonly starts: number;
  /** Runner tasks started for it. */
  readonly tasks: number;
}

export interface InstanceOutcome {
  readonly id: string;
  readonly origin: SimInstance['origin'];
  /** Billed running time in service, ms. */
  readonly runningMs: number;
  /** Billed running time preparing for the warm pool, ms. */
  readonly warmPrepMs: number;
  /** Its volume's lifetime within the day, ms. */
  readonly volumeMs: number;
  /** In service → registered with the cluster, ms (all of its run if it never registered). */
  readonly bootMs: number;
  /** A task held it, ms. */
  readonly busyMs: number;
  /** Waiting as a hot-pool instance for its job, ms. */
  readonly poolWaitMs: number;
  readonly tasks: number;
}

export interface WorldResult {
  readonly scenario: CapacityScenario;
  readonly jobs: readonly JobOutcome[];
  readonly instances: readonly InstanceOutcome[];
  /** Instances still in the group (running or booting) when the day ended; the warm pool's stopped ones aside. */
  readonly leftInGroup: number;
  /** Instance-ledger records still open at the end (owned capacity). */
  readonly openInstanceRecords: number;
  /** Job-ledger records still open at the end (the reconciler closes those of finished jobs). */
  readonly openJobRecords: number;
  readonly capacityFunction: ReturnType<typeof createCapacityFunction>['stats'] | undefined;
  readonly managedScaling: ManagedScalingStats | undefined;
  /** Webhook answers by status, and errors thrown. */
  readonly webhookAnswers: Record<string, number>;
  readonly warnings: Record<string, number>;
  readonly events: number;
  readonly dayMs: number;
}

const GROUP = {
  name: 'default',
  autoScalingGroupName: 'runners-default',
  capacityProvider: 'runners-default',
  max: 200,
} as const;

/** The functions' environment: a cluster, JIT registration, one profile; the capacity groups when owned. */
function environment(scenario: CapacityScenario): Record<string, string> {
  return {
    ECS_CLUSTER: 'runners',
    ECS_CAPACITY_PROVIDER: GROUP.capacityProvider,
    RUNNER_REGISTRATION: 'jit',
    // Never used for a call: the GitHub stand-in is the port.
    GITHUB_TOKEN: 'ghp_simulation_only',
    RUNNER_CONFIG_BUCKET: 'simulated-runner-config',
    ...(scenario.capacity === 'owned' && {
      CAPACITY_GROUPS: JSON.stringify([
        {
          name: GROUP.name,
          autoScalingGroupName: GROUP.autoScalingGroupName,
          capacityProvider: GROUP.capacityProvider,
          profiles: ['default'],
          maxInstances: GROUP.max,
          hot: scenario.hot ?? 0,
          warm: scenario.warm ?? 0,
          ...(scenario.hotSchedule !== undefined && { hotSchedule: scenario.hotSchedule }),
        },
      ]),
    }),
  };
}

/** The runner configs bucket, in memory: the task reads its credential (a standby its URLs) from it. */
function createMemoryConfigStore(): RunnerConfigStore & {
  read(arn: string): RunnerCredential | undefined;
  readKey(key: string): RunnerCredential | undefined;
  variables(arn: string): Readonly<Record<string, string>> | undefined;
} {
  const objects = new Map<string, RunnerCredential>();
  const files = new Map<string, Readonly<Record<string, string>>>();
  const prefix = 'arn:aws:s3:::simulated-runner-config/';
  return {
    async put(key, credential) {
      objects.set(key, credential);
    },
    async putEnvironment(key, variables) {
      files.set(key, variables);
    },
    arn: (key) => `${prefix}${key}`,
    async delete(key) {
      objects.delete(key);
      files.delete(key);
    },
    async exists(key) {
      return objects.has(key);
    },
    // A URL that names its object: the simulated standby reads the object by it.
    async presign(key) {
      return { get: `sim:${key}`, delete: `sim:${key}` };
    },
    read: (arn) => objects.get(arn.slice(prefix.length)),
    readKey: (key) => objects.get(key),
    variables: (arn) => files.get(arn.slice(prefix.length)),
  };
}

export async function runWorld(options: {
  readonly scenario: CapacityScenario;
  readonly trace: readonly TraceJob[];
  readonly eventOf: (job: TraceJob) => WorkflowJobEvent;
  readonly random: Random;
  /** Epoch ms of the day's start and its length. */
  readonly day: number;
  readonly dayMs: number;
}): Promise<WorldResult> {
  const { scenario, random } = options;
  const clock = createVirtualClock(options.day);
  const now = () => clock.now();
  const wait = (name: DelayName) => draw(random, name);
  const owned = scenario.capacity === 'owned';
  const config = parseConfig(environment(scenario));
  const warnings: Record<string, number> = {};
  const note = (message: string) => {
    warnings[message] = (warnings[message] ?? 0) + 1;
  };
  const logger = {
    info() {},
    debug() {},
    warn: (message: string) => note(message),
    error: (message: string) => note(message),
    appendKeys() {},
  } as unknown as Logger;
  const metrics = { addMetric() {}, publishStoredMetrics() {} } as unknown as Metrics;

  // The real in-memory ledgers. Their calls take no virtual time: DynamoDB's few milliseconds are
  // below what the figures resolve, and a timer per call would double the simulation's events.
  const jobs = createMemoryJobLedger();
  const instances = createMemoryInstanceLedger();
  const store = createMemoryConfigStore();
  const configStore: RunnerConfigStore = {
    put: async (key, credential) => {
      await clock.sleep(wait('s3Put'));
      await store.put(key, credential);
    },
    putEnvironment: async (key, variables) => {
      await clock.sleep(wait('s3Put'));
      await store.putEnvironment(key, variables);
    },
    arn: store.arn,
    delete: async (key) => {
      await clock.sleep(wait('s3Put'));
      await store.delete(key);
    },
    exists: async (key) => {
      await clock.sleep(wait('s3Put'));
      return store.exists(key);
    },
    presign: store.presign,
  };

  let capacityFn: ReturnType<typeof createCapacityFunction> | undefined;
  const toCapacity = (event: CapacityEvent) => capacityFn?.send(event, wait('eventBridge'));

  const pathOfTask = new Map<string, JobPath | undefined>();
  const tasksOfJob = new Map<number, number>();
  const taskOfRunner = new Map<string, SimTask>();
  const runnerOfTask = new Map<string, SimRunner>();
  /** The job whose config a standby read. */
  const standbyJob = new Map<string, number>();
  /** When a standby read its job's config: the job took the instance then. */
  const standbyReadAt = new Map<string, number>();

  const github = createGitHub({ clock, random, deliver: (event) => void webhook(event) });
  const ecs = createEcs({
    clock,
    random,
    mode: owned ? 'pinned' : 'managed',
    capacityProviderOf: () => GROUP.capacityProvider,
    emit: toCapacity,
    onStopping: (task) => {
      const runner = runnerOfTask.get(task.arn);
      if (runner !== undefined) github.disconnect(runner);
    },
    onRunning: (task) => {
      const connect = (credential: RunnerCredential | undefined) => {
        const runner =
          credential === undefined
            ? undefined
            : github.connect(credential.value, (reason) => ecs.runnerExited(task, reason));
        if (runner === undefined) ecs.runnerExited(task, 'the runner could not register');
        else {
          taskOfRunner.set(runner.name, task);
          runnerOfTask.set(task.arn, runner);
        }
      };
      const standbyOn = parseStandbyStartedBy(task.startedBy);
      if (standbyOn === undefined) {
        pathOfTask.set(task.arn, owned ? jobs.records.get(task.jobId)?.instancePath : 'managed');
        const credential = store.read(task.environmentFileArn);
        // The runner starts with the task's dockerd and connects to GitHub.
        clock.after(wait('dockerdStart') + wait('runnerConnect'), () => connect(credential));
        return;
      }
      // A standby (infra/runner-image/entrypoint.sh): dockerd, then a GET of its config every 0.5 s.
      const urls = store.variables(task.environmentFileArn);
      const key = urls?.[STANDBY_ENV.url]?.replace(/^sim:/, '');
      const until = task.standbyUntil ?? 0;
      const poll = () => {
        if (task.status === 'STOPPED' || task.desiredStatus === 'STOPPED') return;
        const credential = key === undefined ? undefined : store.readKey(key);
        if (credential === undefined) {
          if (now() >= until) {
            ecs.standbyUnserved(task);
            ecs.runnerExited(task, 'no job claimed this standby runner');
          } else clock.after(500, poll);
          return;
        }
        void store.delete(key ?? '');
        const jobId = instances.records.get(standbyOn)?.claim?.jobId;
        standbyReadAt.set(task.arn, now());
        if (jobId !== undefined) {
          standbyJob.set(task.arn, jobId);
          pathOfTask.set(task.arn, jobs.records.get(jobId)?.instancePath);
        }
        clock.after(wait('runnerConnect'), () => connect(credential));
      };
      clock.after(wait('dockerdStart'), poll);
    },
  });
  const autoScaling = createAutoScaling({
    clock,
    random,
    groups: [
      {
        name: GROUP.name,
        autoScalingGroupName: GROUP.autoScalingGroupName,
        max: GROUP.max,
        warm: scenario.warm ?? 0,
      },
    ],
    hooks: {
      onLaunched: (instance) =>
        toCapacity({
          kind: 'instance-launched',
          autoScalingGroupName: GROUP.autoScalingGroupName,
          instanceId: instance.id,
          origin: instance.origin,
        }),
      onAgentStarted: (instance) => ecs.agentStarted(instance),
      onTerminating: (instance) => ecs.deregister(instance),
      onTerminated: (instance) => toCapacity({ kind: 'instance-terminated', instanceId: instance.id }),
    },
  });

  const settings = config.capacity;
  const claims =
    settings === undefined
      ? undefined
      : createInstanceClaims({
          settings,
          ledger: instances,
          now,
          // The launch path's asynchronous Invoke of the capacity function.
          ask: async (group) => {
            await clock.sleep(wait('lambdaAsync'));
            capacityFn?.send({ kind: 'wanted', group }, 0);
          },
          warn: note,
        });
  const launchDeps: Omit<LaunchDependencies, 'config'> & { readonly config: Config } = {
    config,
    ledger: jobs,
    launcher: ecs.launcher,
    github: github.runners,
    configStore,
    claims,
    logger,
    now,
  };
  const webhookAnswers: Record<string, number> = {};
  let deliveries = 0;
  async function webhook(event: WorkflowJobEvent) {
    await clock.sleep(wait('lambdaOverhead'));
    try {
      const answer = await serveJob({ ...launchDeps, config, metrics, overflow: undefined }, event, {
        deliveryId: `delivery-${++deliveries}`,
        deadlineAt: now() + 10_000,
      });
      webhookAnswers[answer.status] = (webhookAnswers[answer.status] ?? 0) + 1;
    } catch (error) {
      const key = `error: ${(error as Error).message.slice(0, 60)}`;
      webhookAnswers[key] = (webhookAnswers[key] ?? 0) + 1;
    }
  }

  let managedScaling: ManagedScalingStats | undefined;
  const end = options.day + options.dayMs;
  if (settings !== undefined && claims !== undefined) {
    const capacity = createCapacity({
      settings,
      instances,
      groups: autoScaling,
      jobs,
      tasks: ecs.runnerTasks,
      claims,
      launch:
        (scenario.capacityFunction?.launches ?? 'offloaded') === 'offloaded'
          ? async (record) => {
              // Handed to the launcher (an SQS queue and a function without a concurrency of one):
              // the capacity function goes on at once.
              await clock.sleep(wait('sqsSend'));
              clock.after(
                wait('sqsToLambda'),
                () => void launchWaitingJob(launchDeps, record).catch(() => undefined),
              );
              return { kind: 'skipped', reason: 'handed to the launcher' };
            }
          : (record) => launchWaitingJob(launchDeps, record),
      maxAttempts: config.reconcile.maxAttempts,
      standby:
        scenario.standby === false
          ? undefined
          : createStandbyRunners({ config, launcher: ecs.launcher, configStore, now }),
      metrics,
      logger,
      now,
    });
    capacityFn = createCapacityFunction({
      clock,
      random,
      queue: scenario.capacityFunction?.queue ?? 'fifo',
      handle: (event) => capacity.handle(event),
      handleBatch: (events) => capacity.handleBatch(events),
      onError: (error) => note(`capacity function error: ${(error as Error).message}`),
    });
    // EventBridge's schedule: every minute.
    for (let at = Math.ceil(options.day / 60_000) * 60_000; at < end; at += 60_000)
      clock.at(at, () => capacityFn?.send({ kind: 'tick' }, wait('eventBridge')));
  } else {
    managedScaling = startManagedScaling({ clock, random, autoScaling, ecs, group: GROUP.name, until: end });
  }

  // The reconciler, every minute: the safety net (a job whose runner another job of its run took
  // gets a new runner from it), and it closes the records of finished jobs.
  const reconciler = createReconciler({ ...launchDeps, tasks: ecs.runnerTasks, metrics });
  let reconciling = false;
  for (let at = Math.ceil(options.day / 60_000) * 60_000 + 20_000; at < end; at += 60_000)
    clock.at(at, () => {
      if (reconciling) return;
      reconciling = true;
      void reconciler
        .reconcile()
        .catch((error: unknown) => note(`reconciler error: ${(error as Error).message}`))
        .finally(() => {
          reconciling = false;
        });
    });

  // The tables' TTL, shortened: a closed record leaves its ledger an hour after it closed. The
  // in-memory ledgers filter every record they hold on each list, and a day of closed records would
  // slow the simulation (not change its figures: nothing reads a record that long closed).
  const expire = <R extends { readonly open: boolean; readonly updatedAt: number }>(
    records: Map<unknown, R>,
  ) => {
    for (const [key, record] of records)
      if (!record.open && now() - record.updatedAt > 3_600_000) records.delete(key);
  };
  for (let at = options.day + 3_600_000; at < end; at += 3_600_000)
    clock.at(at, () => {
      expire(jobs.records);
      expire(instances.records);
    });

  github.schedule(options.trace, options.eventOf);
  const events = await clock.run(end);
  autoScaling.settle();

  for (const task of ecs.tasks.values()) {
    const jobId = standbyJob.get(task.arn) ?? task.jobId;
    tasksOfJob.set(jobId, (tasksOfJob.get(jobId) ?? 0) + 1);
  }
  const jobOutcomes: JobOutcome[] = [...github.jobs.values()].map((job) => {
    const task = job.runnerName === undefined ? undefined : taskOfRunner.get(job.runnerName);
    return {
      jobId: job.trace.jobId,
      burst: job.trace.burst,
      queuedAt: job.trace.queuedAt,
      startedAt: job.startedAt,
      path: task === undefined ? undefined : pathOfTask.get(task.arn),
      usedInstance: task?.usedInstance ?? false,
      starts: job.starts,
      tasks: tasksOfJob.get(job.trace.jobId) ?? 0,
    };
  });

  const hotPool = (scenario.hot ?? 0) > 0;
  const instanceOutcomes: InstanceOutcome[] = autoScaling.all.map((instance) => {
    const ci = ecs.containerInstances.get(instance.id);
    const volumeMs = (instance.goneAt ?? end) - instance.createdAt;
    const inService = instance.inServiceSince;
    const bootMs =
      inService === undefined ? 0 : ci === undefined ? instance.runningMs : ci.registeredAt - inService;
    // The first task that ran a job: a standby that read a config, or a job's own task.
    const first = ci?.tasks.find(
      (task) => parseStandbyStartedBy(task.startedBy) === undefined || standbyReadAt.has(task.arn),
    );
    const firstPath = first === undefined ? undefined : pathOfTask.get(first.arn);
    const takenAt = first === undefined ? undefined : (standbyReadAt.get(first.arn) ?? first.placedAt);
    const poolWaitMs =
      ci === undefined
        ? 0
        : first === undefined
          ? hotPool
            ? Math.max(0, instance.runningMs - bootMs)
            : 0
          : firstPath === 'hot' && owned
            ? (takenAt ?? ci.registeredAt) - ci.registeredAt
            : 0;
    return {
      id: instance.id,
      origin: instance.origin,
      runningMs: instance.runningMs,
      warmPrepMs: instance.warmPrepMs,
      volumeMs,
      bootMs,
      busyMs: ci?.busyMs ?? 0,
      poolWaitMs,
      tasks: ci?.tasksRun ?? 0,
    };
  });
  const group = autoScaling.groups.get(GROUP.name);
  return {
    scenario,
    jobs: jobOutcomes,
    instances: instanceOutcomes,
    leftInGroup: group?.instances.length ?? 0,
    openInstanceRecords: [...instances.records.values()].filter((r) => r.open).length,
    openJobRecords: [...jobs.records.values()].filter((r) => r.open).length,
    capacityFunction: capacityFn?.stats,
    managedScaling,
    webhookAnswers,
    warnings,
    events,
    dayMs: options.dayMs,
  };
}
