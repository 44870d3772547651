/**
 * ECS on loopback, through the real protocol, enforcing the RunTask limits real ECS enforces:
 * overrides ≤ 8,192 characters, `startedBy` ≤ 128 of [A-Za-z0-9_/-], ≤ 50 tags (key ≤ 128,
 * value ≤ 256, no `aws:` prefix), `count` 1..10, not both `launchType` and
 * `capacityProviderStrategy`, `clientToken` ≤ 64 ASCII characters 33..126 and idempotent for 24 h
 * (ConflictException for the same token with another request). Optionally RunTask's
 * token bucket (100 burst, 40/s), and ListTasks as eventually consistent as the real one: a new
 * task listed only a while after it started (`listLagMs`), a stopped one still listed under
 * `desiredStatus: RUNNING` a while after it stopped (`stoppedListLagMs`). DescribeTasks always
 * tells the truth. A RunTask whose task starts but whose answer is lost: the `hangup-after` and
 * `answer-late` faults of {@link Fault}.
 *
 * Container instances, for owned capacity: registered by the Auto Scaling stand-in as its instances
 * boot. A RunTask pinned with `memberOf` `ec2InstanceId == i-…` (ECS's cluster query language) is
 * placed on that instance, RUNNING at once (its image is pulled), or answered `failures[]` as
 * RunTask's failure reasons are documented (the developer guide's "API failure reasons"):
 * `MemberOf placement constraint unsatisfied.` (no ACTIVE container instance of that EC2 id; the
 * failure names the closest one, as ECS's placement messages do), `AGENT` (its agent disconnected),
 * `RESOURCE:MEMORY` (it runs a task already: a runner task is sized to its instance). A cluster with
 * no container instance at all answers InvalidParameterException "No Container Instances were found
 * in your cluster.", as RunTask does. Tasks on an instance that is deregistered stop with ECS's
 * reason `Host EC2 (instance i-…) terminated.` Requests that pin nothing are placed as before.
 * ListContainerInstances (filtered by `ec2InstanceId in [...]`) and DescribeContainerInstances
 * report them. With `events`, ECS's EventBridge events (`ECS Task State Change`, `ECS Container Instance State
 * Change`) go to the caller, with the detail fields the capacity function reads.
 */
import { AwsError, type Fault, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface EcsTask {
  readonly taskArn: string;
  readonly cluster: string;
  readonly taskDefinitionArn: string;
  readonly startedBy: string | undefined;
  readonly tags: ReadonlyArray<{ key: string; value: string }>;
  readonly overrides: unknown;
  lastStatus: string;
  desiredStatus: string;
  createdAt: number;
  startedAt?: number;
  /** Epoch ms it stopped (StopTask, or ECS by itself). */
  stoppedAt?: number;
  stoppedReason?: string;
  /** The runner container's exit code, once it exited. */
  exitCode?: number;
  /** The container instance it was placed on (pinned tasks only). */
  containerInstanceArn?: string;
}

export interface EcsContainerInstance {
  readonly containerInstanceArn: string;
  readonly cluster: string;
  readonly ec2InstanceId: string;
  readonly capacityProviderName: string | undefined;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  agentConnected: boolean;
  readonly registeredAt: number;
}

/** An event as EventBridge delivers it (the envelope AWS documents, `detail` as the service sends it). */
export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

export interface EcsStandInOptions {
  readonly clusters?: readonly string[];
  readonly families?: readonly string[];
  readonly containerName?: string;
  /** RunTask's token bucket; off when undefined. */
  readonly bucket?: { readonly burst: number; readonly perSecond: number };
  readonly fault?: (operation: string, input: Record<string, unknown>) => Fault | undefined;
  /** Return a `failures[]` entry (e.g. `RESOURCE:MEMORY`) instead of placing the task. */
  readonly placementFailure?: (input: Record<string, unknown>) => string | undefined;
  /**
   * A new task waits in PROVISIONING (no capacity) while this says so; then it is RUNNING as soon
   * as anyone looks. Default: it runs at once.
   */
  readonly waitsForCapacity?: (task: EcsTask) => boolean;
  /** ListTasks, eventually consistent: a task younger than this is not listed yet. */
  readonly listLagMs?: number;
  /**
   * ListTasks, eventually consistent the other way: a task stopped less than this long ago is
   * still listed under `desiredStatus: RUNNING` (ECS: "recently stopped tasks might appear in the
   * returned results"), though DescribeTasks says STOPPED. Default 0: listed as stopped at once.
   */
  readonly stoppedListLagMs?: number;
  /** The clock of every timestamp and lag (default: the wall clock). */
  readonly now?: () => number;
  /** Where ECS's EventBridge events go (task and container instance state changes). */
  readonly events?: (event: EventBridgeEvent) => void;
}

export interface EcsStandIn extends StandIn {
  readonly tasks: EcsTask[];
  readonly throttled: () => number;
  /**
   * Stops a task as ECS does by itself (a Spot interruption, an OOM, a failed image pull), or as
   * it does when the runner container exits (`exitCode`; ECS: "Essential container in task exited").
   */
  stopTask(taskArn: string, reason: string, exitCode?: number): void;
  /** The tasks of our runners that still run or wait to run. */
  live(): EcsTask[];
  readonly containerInstances: EcsContainerInstance[];
  /** An EC2 instance's agent registers it with the cluster (ACTIVE, connected). */
  registerContainerInstance(instance: {
    readonly ec2InstanceId: string;
    readonly cluster?: string;
    readonly capacityProviderName?: string;
  }): EcsContainerInstance;
  /** Its EC2 instance is gone: INACTIVE, and its tasks stop with ECS's reason. */
  deregisterContainerInstance(ec2InstanceId: string): void;
  /** Its agent disconnects (or reconnects). */
  setAgentConnected(ec2InstanceId: string, connected: boolean): void;
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

const invalid = (message: string) => new AwsError('InvalidParameterException', message);

/** The EC2 instance a RunTask pins its task to (`memberOf` `ec2InstanceId == i-…`), if any. */
const pinnedInstance = (input: Record<string, unknown>): string | undefined => {
  const constraints = (input.placementConstraints ?? []) as Array<{ type?: string; expression?: string }>;
  for (const constraint of constraints) {
    if (constraint.type !== 'memberOf') continue;
    const match = /^\s*ec2InstanceId\s*==\s*(i-[0-9a-f]+)\s*$/.exec(constraint.expression ?? '');
    if (match) return match[1];
  }
  return undefined;
};

/** The EC2 instances a ListContainerInstances filter names (`ec2InstanceId in [i-…, 'i-…']` or `== i-…`); undefined: no filter. */
const instanceIdsOf = (filter: unknown): string[] | undefined => {
  if (filter === undefined) return undefined;
  const text = String(filter);
  const list = /^\s*ec2InstanceId\s+in\s+\[([^\]]*)\]\s*$/.exec(text);
  if (list) return (list[1] ?? '').split(',').map((id) => id.trim().replace(/^'|'$/g, ''));
  const one = /^\s*ec2InstanceId\s*==\s*'?(i-[0-9a-f]+)'?\s*$/.exec(text);
  if (one) return [one[1] as string];
  throw invalid(`The stand-in does not read the filter ${text}.`);
};

export async function startEcsStandIn(options: EcsStandInOptions = {}): Promise<EcsStandIn> {
  const clusters = options.clusters ?? ['runners'];
  const families = options.families ?? ['github-actions-self-hosted-runner-debian-task'];
  const containerName = options.containerName ?? 'github-actions-self-hosted-runner-debian-container';
  const now = options.now ?? Date.now;
  const tasks: EcsTask[] = [];
  const containerInstances: EcsContainerInstance[] = [];
  const clusterArn = (cluster: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${cluster}`;
  let eventSequence = 0;
  const emit = (type: string, resources: string[], detail: Record<string, unknown>) =>
    options.events?.({
      version: '0',
      id: `ecs-${++eventSequence}-${now()}`,
      'detail-type': type,
      source: 'aws.ecs',
      account: ACCOUNT,
      time: new Date(now()).toISOString(),
      region: REGION,
      resources,
      detail,
    });
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const taskChanged = (task: EcsTask) =>
    emit('ECS Task State Change', [task.taskArn], {
      clusterArn: clusterArn(task.cluster),
      taskArn: task.taskArn,
      taskDefinitionArn: task.taskDefinitionArn,
      containerInstanceArn: task.containerInstanceArn,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      startedBy: task.startedBy,
      launchType: 'EC2',
      createdAt: iso(task.createdAt),
      startedAt: iso(task.startedAt),
      stoppedAt: iso(task.stoppedAt),
      stoppedReason: task.stoppedReason,
      updatedAt: iso(now()),
    });
  const instanceChanged = (instance: EcsContainerInstance) =>
    emit('ECS Container Instance State Change', [instance.containerInstanceArn], {
      clusterArn: clusterArn(instance.cluster),
      containerInstanceArn: instance.containerInstanceArn,
      ec2InstanceId: instance.ec2InstanceId,
      capacityProviderName: instance.capacityProviderName,
      status: instance.status,
      agentConnected: instance.agentConnected,
      registeredAt: iso(instance.registeredAt),
      updatedAt: iso(now()),
    });
  const stop = (task: EcsTask, reason: string) => {
    const stopping = task.desiredStatus !== 'STOPPED';
    if (stopping) task.stoppedAt = now();
    task.desiredStatus = 'STOPPED';
    task.lastStatus = 'STOPPED';
    task.stoppedReason = reason;
    if (stopping) taskChanged(task);
  };
  const tokens = new Map<string, { request: string; response: unknown; at: number }>();
  let sequence = 0;
  let throttled = 0;

  const bucket = options.bucket && { ...options.bucket, tokens: options.bucket.burst, at: now() };
  const take = () => {
    if (!bucket) return true;
    const at = now();
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((at - bucket.at) / 1000) * bucket.perSecond);
    bucket.at = at;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const clusterOf = (value: unknown) => {
    const name = String(value ?? 'default').replace(/^arn:aws:ecs:[^:]+:\d+:cluster\//, '');
    if (!clusters.includes(name)) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return name;
  };

  function validateRunTask(input: Record<string, unknown>) {
    const family = String(input.taskDefinition ?? '')
      .replace(/^arn:aws:ecs:[^:]+:\d+:task-definition\//, '')
      .replace(/:\d+$/, '');
    if (!families.includes(family)) throw new AwsError('ClientException', 'TaskDefinition not found.');
    const count = input.count ?? 1;
    if (typeof count !== 'number' || count < 1 || count > 10)
      throw invalid('count must be between 1 and 10.');
    if (input.launchType !== undefined && input.capacityProviderStrategy !== undefined) {
      throw invalid('Specifying both a launch type and capacity provider strategy is not supported.');
    }
    const startedBy = input.startedBy;
    if (
      startedBy !== undefined &&
      (typeof startedBy !== 'string' || !/^[A-Za-z0-9_/-]{1,128}$/.test(startedBy))
    ) {
      throw invalid(
        'startedBy must be up to 128 letters, numbers, hyphens, forward slashes and underscores.',
      );
    }
    const token = input.clientToken;
    if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(token))) {
      throw invalid('clientToken must be up to 64 ASCII characters from 33 to 126.');
    }
    const tags = (input.tags ?? []) as Array<{ key?: string; value?: string }>;
    if (tags.length > 50) throw invalid('Tags can have a maximum of 50 items.');
    for (const tag of tags) {
      if (!tag.key || tag.key.length > 128 || (tag.value ?? '').length > 256) {
        throw invalid('Tag keys are 1 to 128 characters and values at most 256.');
      }
      if (tag.key.toLowerCase().startsWith('aws:')) throw invalid('Tag keys may not begin with aws:.');
    }
    const overrides = input.overrides as { containerOverrides?: Array<{ name?: string }> } | undefined;
    if (overrides !== undefined) {
      if (JSON.stringify(overrides).length > 8192) {
        throw invalid('Container Overrides length must be at most 8192');
      }
      for (const override of overrides.containerOverrides ?? []) {
        if (override.name !== containerName) {
          throw invalid(
            `Override for container named ${override.name} is not a container in the TaskDefinition.`,
          );
        }
      }
    }
    return family;
  }
  /** The revision a RunTask names (`family:2`), else the family's first. */
  const revisionOf = (taskDefinition: unknown) => /:(\d+)$/.exec(String(taskDefinition ?? ''))?.[1] ?? '1';

  function runTask(input: Record<string, unknown>) {
    if (!take()) {
      throttled++;
      throw new AwsError('ThrottlingException', 'Rate exceeded');
    }
    const cluster = clusterOf(input.cluster);
    const family = validateRunTask(input);
    const token = input.clientToken as string | undefined;
    const { clientToken: _, ...request } = input;
    const requestKey = JSON.stringify(request);
    if (token !== undefined) {
      const seen = tokens.get(token);
      if (seen && now() - seen.at < TOKEN_TTL_MS) {
        if (seen.request !== requestKey) {
          throw new AwsError('ConflictException', 'The clientToken was used with a different request.');
        }
        return seen.response;
      }
    }
    const pinned = pinnedInstance(input);
    const placed = pinned === undefined ? undefined : placeOn(cluster, pinned);
    const failure = options.placementFailure?.(input);
    let response: unknown;
    if (failure !== undefined) {
      response = {
        tasks: [],
        failures: [{ arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/x`, reason: failure }],
      };
    } else if (placed !== undefined && 'reason' in placed) {
      response = { tasks: [], failures: [placed] };
    } else {
      const task: EcsTask = {
        taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${(++sequence).toString(16).padStart(32, '0')}`,
        cluster,
        taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revisionOf(input.taskDefinition)}`,
        startedBy: input.startedBy as string | undefined,
        tags: (input.tags ?? []) as EcsTask['tags'],
        overrides: input.overrides,
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        createdAt: now(),
      };
      if (placed !== undefined) {
        // On a registered instance, its image pulled: RUNNING at once.
        task.containerInstanceArn = placed.containerInstanceArn;
        task.lastStatus = 'RUNNING';
        task.startedAt = now();
      }
      tasks.push(task);
      if (placed !== undefined) taskChanged(task);
      response = { tasks: [describe(task)], failures: [] };
    }
    if (token !== undefined) tokens.set(token, { request: requestKey, response, at: now() });
    return response;
  }

  /** Where a task pinned to the EC2 instance goes: its container instance, or RunTask's failure. */
  function placeOn(
    cluster: string,
    ec2InstanceId: string,
  ): EcsContainerInstance | { readonly arn: string; readonly reason: string } {
    const active = containerInstances.filter((ci) => ci.cluster === cluster && ci.status === 'ACTIVE');
    if (active.length === 0) throw invalid('No Container Instances were found in your cluster.');
    const instance = active.find((ci) => ci.ec2InstanceId === ec2InstanceId);
    if (instance === undefined) {
      const closest = active[0] as EcsContainerInstance;
      return { arn: closest.containerInstanceArn, reason: 'MemberOf placement constraint unsatisfied.' };
    }
    if (!instance.agentConnected) return { arn: instance.containerInstanceArn, reason: 'AGENT' };
    const busy = tasks.some(
      (task) =>
        task.containerInstanceArn === instance.containerInstanceArn && task.desiredStatus !== 'STOPPED',
    );
    if (busy) return { arn: instance.containerInstanceArn, reason: 'RESOURCE:MEMORY' };
    return instance;
  }

  /** Moves a task along its lifecycle, as time and capacity allow. */
  const advance = (task: EcsTask) => {
    if (task.lastStatus === 'PROVISIONING' && !(options.waitsForCapacity?.(task) ?? false)) {
      task.lastStatus = 'RUNNING';
      task.startedAt = now();
    }
  };
  const describe = (task: EcsTask) => ({
    taskArn: task.taskArn,
    clusterArn: clusterArn(task.cluster),
    ...(task.containerInstanceArn !== undefined && { containerInstanceArn: task.containerInstanceArn }),
    taskDefinitionArn: task.taskDefinitionArn,
    startedBy: task.startedBy,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    tags: task.tags,
    overrides: task.overrides,
    createdAt: task.createdAt / 1000,
    ...(task.startedAt !== undefined && { startedAt: task.startedAt / 1000 }),
    ...(task.stoppedAt !== undefined && { stoppedAt: task.stoppedAt / 1000 }),
    ...(task.stoppedReason !== undefined && { stoppedReason: task.stoppedReason }),
    ...(task.exitCode !== undefined && {
      containers: [{ name: containerName, lastStatus: 'STOPPED', exitCode: task.exitCode }],
    }),
  });

  const standIn = await startAwsStandIn({
    targetPrefix: 'AmazonEC2ContainerServiceV20141113',
    contentType: 'application/x-amz-json-1.1',
    ...(options.fault && { fault: options.fault }),
    operations: {
      RunTask: runTask,
      ListTasks: (input) => {
        const cluster = clusterOf(input.cluster);
        const desired = (input.desiredStatus as string | undefined) ?? 'RUNNING';
        const family = input.family as string | undefined;
        const lag = options.listLagMs ?? 0;
        const stoppedLag = options.stoppedListLagMs ?? 0;
        // What ListTasks still believes of a task's desired status.
        const listedAs = (task: EcsTask) =>
          task.desiredStatus === 'STOPPED' && now() - (task.stoppedAt ?? 0) < stoppedLag
            ? 'RUNNING'
            : task.desiredStatus;
        const taskArns = tasks
          .filter(
            (task) =>
              task.cluster === cluster &&
              now() - task.createdAt >= lag &&
              listedAs(task) === desired &&
              (input.startedBy === undefined || task.startedBy === input.startedBy) &&
              (family === undefined || task.taskDefinitionArn.includes(`/${family}:`)),
          )
          .map((task) => task.taskArn);
        return { taskArns };
      },
      DescribeTasks: (input) => {
        clusterOf(input.cluster);
        const arns = (input.tasks ?? []) as string[];
        if (arns.length > 100) throw invalid('tasks can have at most 100 items.');
        const found = tasks.filter((task) => arns.includes(task.taskArn));
        for (const task of found) advance(task);
        return {
          tasks: found.map(describe),
          failures: arns
            .filter((arn) => !found.some((t) => t.taskArn === arn))
            .map((arn) => ({ arn, reason: 'MISSING' })),
        };
      },
      ListContainerInstances: (input) => {
        const cluster = clusterOf(input.cluster);
        const ids = instanceIdsOf(input.filter);
        // Without a status, every container instance but the INACTIVE ones.
        const status = input.status as string | undefined;
        return {
          containerInstanceArns: containerInstances
            .filter(
              (ci) =>
                ci.cluster === cluster &&
                (status === undefined ? ci.status !== 'INACTIVE' : ci.status === status) &&
                (ids === undefined || ids.includes(ci.ec2InstanceId)),
            )
            .map((ci) => ci.containerInstanceArn),
        };
      },
      DescribeContainerInstances: (input) => {
        const cluster = clusterOf(input.cluster);
        const arns = (input.containerInstances ?? []) as string[];
        if (arns.length > 100) throw invalid('containerInstances can have at most 100 items.');
        const found = containerInstances.filter(
          (ci) => ci.cluster === cluster && arns.includes(ci.containerInstanceArn),
        );
        return {
          containerInstances: found.map((ci) => ({
            containerInstanceArn: ci.containerInstanceArn,
            ec2InstanceId: ci.ec2InstanceId,
            capacityProviderName: ci.capacityProviderName,
            status: ci.status,
            agentConnected: ci.agentConnected,
            registeredAt: ci.registeredAt / 1000,
            runningTasksCount: tasks.filter(
              (t) => t.containerInstanceArn === ci.containerInstanceArn && t.desiredStatus !== 'STOPPED',
            ).length,
          })),
          failures: arns
            .filter((arn) => !found.some((ci) => ci.containerInstanceArn === arn))
            .map((arn) => ({ arn, reason: 'MISSING' })),
        };
      },
      StopTask: (input) => {
        clusterOf(input.cluster);
        const task = tasks.find((t) => t.taskArn === input.task);
        if (!task) throw invalid('The referenced task was not found.');
        stop(task, String(input.reason ?? 'Task stopped by user'));
        return { task: describe(task) };
      },
    },
  });
  return {
    ...standIn,
    tasks,
    throttled: () => throttled,
    stopTask(taskArn, reason, exitCode) {
      const task = tasks.find((t) => t.taskArn === taskArn);
      if (!task) throw new Error(`no task ${taskArn}`);
      if (exitCode !== undefined) task.exitCode = exitCode;
      // A task with capacity was RUNNING before it stopped (whether or not anyone looked): it keeps its startedAt.
      advance(task);
      stop(task, reason);
    },
    live: () => tasks.filter((task) => task.desiredStatus === 'RUNNING'),
    containerInstances,
    registerContainerInstance({ ec2InstanceId, cluster = clusters[0] ?? 'runners', capacityProviderName }) {
      const existing = containerInstances.find(
        (ci) => ci.ec2InstanceId === ec2InstanceId && ci.status !== 'INACTIVE',
      );
      if (existing) return existing;
      const instance: EcsContainerInstance = {
        containerInstanceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${cluster}/${(++sequence).toString(16).padStart(32, '0')}`,
        cluster,
        ec2InstanceId,
        capacityProviderName,
        status: 'ACTIVE',
        agentConnected: true,
        registeredAt: now(),
      };
      containerInstances.push(instance);
      instanceChanged(instance);
      return instance;
    },
    deregisterContainerInstance(ec2InstanceId) {
      for (const instance of containerInstances) {
        if (instance.ec2InstanceId !== ec2InstanceId || instance.status === 'INACTIVE') continue;
        for (const task of tasks)
          if (task.containerInstanceArn === instance.containerInstanceArn)
            stop(task, `Host EC2 (instance ${ec2InstanceId}) terminated.`);
        instance.status = 'INACTIVE';
        instance.agentConnected = false;
        instanceChanged(instance);
      }
    },
    setAgentConnected(ec2InstanceId, connected) {
      for (const instance of containerInstances) {
        if (instance.ec2InstanceId !== ec2InstanceId || instance.status === 'INACTIVE') continue;
        if (instance.agentConnected === connected) continue;
        instance.agentConnected = connected;
        instanceChanged(instance);
      }
    },
  };
}
