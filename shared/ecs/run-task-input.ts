import { createHash } from 'node:crypto';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { RUNNER_CONFIG_FLAGS, RUNNER_ENV } from '../defaults';
import type { EcsTarget, RunnerPlan } from '../runner/runner-plan';

/** ECS refuses container overrides whose JSON is longer than this (RunTask `overrides`). */
export const OVERRIDES_MAX_CHARS = 8192;

/**
 * The `startedBy` of an attempt's task: `ListTasks` finds the tasks of one attempt by it, never a
 * task of another attempt of the job (ECS: ≤ 128 of [A-Za-z0-9_/-]).
 */
export const startedByForAttempt = (jobId: number, attempt: number): string => `gha-job/${jobId}/${attempt}`;

/** The `startedBy` of a standby runner task: started for an instance, before any job. */
export const startedByForStandby = (instanceId: string): string => `standby/${instanceId}`;

/** The instance a standby task was started on, from its `startedBy`; undefined for any other task. */
export const parseStandbyStartedBy = (startedBy: string | undefined): string | undefined =>
  /^standby\/(i-[0-9a-f]+)$/.exec(startedBy ?? '')?.[1];

/**
 * The job (and attempt) a task was started for, from its `startedBy`; undefined for any other
 * task. Tasks started before attempts were named (`gha-job/<id>`) have no attempt.
 */
export const parseStartedBy = (
  startedBy: string | undefined,
): { readonly jobId: number; readonly attempt: number | undefined } | undefined => {
  const match = /^gha-job\/(\d+)(?:\/(\d+))?$/.exec(startedBy ?? '');
  if (!match) return undefined;
  return { jobId: Number(match[1]), attempt: match[2] === undefined ? undefined : Number(match[2]) };
};

/** Tag keys on every runner task, so an operator (and the reconciler) can find a job's task. */
export const TASK_TAGS = {
  jobId: 'gha:job-id',
  runId: 'gha:run-id',
  runAttempt: 'gha:run-attempt',
  repository: 'gha:repository',
  runnerName: 'gha:runner-name',
  launchAttempt: 'gha:launch-attempt',
  profile: 'gha:profile',
} as const;

/**
 * How the runner in the task registers: with a JIT config (`jit`), or by itself with `config.sh`,
 * the config args of the request and a registration token (`token`). Either credential reaches the
 * container as an S3 environment file (`RUNNER_JIT_CONFIG=…` or `RUNNER_REGISTRATION_TOKEN=…`)
 * that the ECS agent reads with the task execution role, so no API request or response (RunTask,
 * DescribeTasks, CloudTrail) carries it; no long-lived GitHub credential reaches the task at all.
 */
export interface Registration {
  readonly kind: 'jit' | 'token';
  readonly environmentFileArn: string;
}

/** With owned capacity: the instance a task is pinned to, and its group's capacity provider. */
export interface InstancePin {
  readonly instanceId: string;
  readonly capacityProvider: string;
}

/** A RunTask request with the token that makes it idempotent, and the attempt it starts. */
export interface RunTaskRequest {
  readonly input: RunTaskCommandInput & { clientToken: string; cluster: string };
  readonly jobId: number;
  readonly attempt: number;
}

/** One RunTask of a launch attempt: its number, its runner, and its token number (placement). */
export interface AttemptRef {
  readonly number: number;
  readonly runnerName: string;
  /** Moves on only after ECS answered `failures[]` under the token before it. */
  readonly placement?: number | undefined;
}

/**
 * The clientToken of one placement of one attempt of a job: a function of these alone (and the
 * cluster), never of the request. A retry after a lost answer reuses it, so ECS answers with the
 * task it started; a request changed in between (a new task definition revision, a setting) meets
 * ECS's ConflictException instead of starting a second task. sha256 in hex is 64 characters:
 * exactly ECS's clientToken limit.
 */
export const clientTokenFor = (cluster: string, jobId: number, attempt: AttemptRef): string =>
  createHash('sha256')
    .update(`${cluster}\0${jobId}\0${attempt.number}\0${attempt.placement ?? 0}`)
    .digest('hex');

/** `RUNNER_CONFIG_ARGS` of the token registration: the seed's flags with this runner's labels, name and group. */
export function runnerConfigArgs(plan: RunnerPlan, runnerName: string): string {
  return [
    ...RUNNER_CONFIG_FLAGS,
    ...['--labels', plan.labels.join(','), '--name', runnerName, '--runnergroup', plan.group],
    '--ephemeral',
  ].join(' ');
}

/**
 * Builds the RunTask request of one launch attempt of a planned runner, under the token of
 * {@link clientTokenFor} (ECS keeps a token 24 h).
 * @throws Error when the container overrides exceed ECS's 8,192-character limit.
 */
export function buildRunTaskRequest(
  plan: RunnerPlan,
  attempt: AttemptRef,
  registration: Registration,
  pin?: InstancePin,
): RunTaskRequest {
  const { target } = plan;
  const environment = [
    { name: plan.scopeEnv.name, value: plan.scopeEnv.value },
    ...(registration.kind === 'token'
      ? [{ name: RUNNER_ENV.configArgs, value: runnerConfigArgs(plan, attempt.runnerName) }]
      : []),
    { name: RUNNER_ENV.labels, value: plan.labels.join(',') },
    // One idle timeout for both layers: the runner image's own, and the reconciler's.
    { name: RUNNER_ENV.idleTimeout, value: String(plan.idleTimeoutSeconds) },
  ];
  const input: RunTaskRequest['input'] = {
    ...placementOf(target, pin),
    overrides: overridesOf(target, environment, [
      { type: 's3' as const, value: registration.environmentFileArn },
    ]),
    startedBy: startedByForAttempt(plan.jobId, attempt.number),
    enableECSManagedTags: true,
    propagateTags: 'TASK_DEFINITION',
    tags: [
      { key: TASK_TAGS.jobId, value: String(plan.jobId) },
      { key: TASK_TAGS.runId, value: String(plan.runId) },
      { key: TASK_TAGS.runAttempt, value: String(plan.runAttempt) },
      { key: TASK_TAGS.repository, value: plan.repository },
      { key: TASK_TAGS.runnerName, value: attempt.runnerName },
      { key: TASK_TAGS.launchAttempt, value: String(attempt.number) },
      { key: TASK_TAGS.profile, value: target.profile },
    ],
    clientToken: clientTokenFor(target.cluster, plan.jobId, attempt),
  };
  return { input, jobId: plan.jobId, attempt: attempt.number };
}

/** The variables of a standby runner task (infra/runner-image/entrypoint.sh, docs/runner-image.md). */
export const STANDBY_ENV = {
  /** A presigned GET of the config object a claim writes (in the task's S3 environment file). */
  url: 'RUNNER_STANDBY_URL',
  /** A presigned DELETE of it: the container deletes the object once read. */
  deleteUrl: 'RUNNER_STANDBY_DELETE_URL',
  /** Epoch seconds: with no config by then, the standby stops. */
  until: 'RUNNER_STANDBY_UNTIL',
} as const;

/** What a standby task of an instance is started with. */
export interface StandbyRequest {
  readonly instanceId: string;
  readonly capacityProvider: string;
  readonly configKey: string;
  /** The S3 environment file of its presigned URLs (`STANDBY_ENV.url`, `deleteUrl`). */
  readonly environmentFileArn: string;
  /** Epoch ms. */
  readonly until: number;
  readonly idleTimeoutSeconds: number;
}

/**
 * The RunTask of a standby: the profile's task, pinned to its instance, with no credential (a JIT
 * runner's config comes later, through the presigned URL), under a token of the instance and its
 * config object, so a retry after a lost answer starts no second task.
 */
export function buildStandbyRunTaskInput(
  target: EcsTarget,
  standby: StandbyRequest,
): RunTaskCommandInput & { clientToken: string; cluster: string } {
  const environment = [
    { name: STANDBY_ENV.until, value: String(Math.floor(standby.until / 1000)) },
    { name: RUNNER_ENV.idleTimeout, value: String(standby.idleTimeoutSeconds) },
  ];
  return {
    ...placementOf(target, { instanceId: standby.instanceId, capacityProvider: standby.capacityProvider }),
    overrides: overridesOf(target, environment, [{ type: 's3' as const, value: standby.environmentFileArn }]),
    startedBy: startedByForStandby(standby.instanceId),
    enableECSManagedTags: true,
    propagateTags: 'TASK_DEFINITION',
    tags: [{ key: TASK_TAGS.profile, value: target.profile }],
    clientToken: createHash('sha256')
      .update(`${target.cluster}\0standby\0${standby.instanceId}\0${standby.configKey}`)
      .digest('hex'),
  };
}

/** Where a task of the target goes: its cluster and task definition, pinned when owned capacity says so. */
function placementOf(target: EcsTarget, pin: InstancePin | undefined) {
  const constraints = [
    ...(target.distinctInstance ? [{ type: 'distinctInstance' as const }] : []),
    // Owned capacity: the task goes to the instance its job claimed, or nowhere (failures[]).
    ...(pin ? [{ type: 'memberOf' as const, expression: `ec2InstanceId == ${pin.instanceId}` }] : []),
  ];
  const strategy = pin
    ? [{ capacityProvider: pin.capacityProvider, weight: 1 }]
    : target.capacityProviderStrategy;
  return {
    cluster: target.cluster,
    taskDefinition: target.taskDefinition,
    count: 1,
    ...(strategy === undefined
      ? { launchType: 'EC2' as const }
      : { capacityProviderStrategy: strategy.map((item) => ({ ...item })) }),
    ...(constraints.length > 0 && { placementConstraints: constraints }),
    ...(target.subnets.length > 0 && {
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...target.subnets],
          ...(target.securityGroups.length > 0 && { securityGroups: [...target.securityGroups] }),
          assignPublicIp: target.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
        },
      },
    }),
  };
}

/**
 * The container overrides of a runner task.
 * @throws Error when they exceed ECS's 8,192-character limit.
 */
function overridesOf(
  target: EcsTarget,
  environment: { name: string; value: string }[],
  environmentFiles: { type: 's3'; value: string }[],
) {
  const overrides = {
    containerOverrides: [
      {
        name: target.containerName,
        environment,
        ...(environmentFiles.length > 0 && { environmentFiles }),
      },
    ],
    ...(target.cpu !== undefined && { cpu: String(target.cpu) }),
    ...(target.memory !== undefined && { memory: String(target.memory) }),
  };
  const overridesLength = JSON.stringify(overrides).length;
  if (overridesLength > OVERRIDES_MAX_CHARS) {
    throw new Error(
      `container overrides are ${overridesLength} characters; ECS accepts at most ${OVERRIDES_MAX_CHARS}: shorten the templates`,
    );
  }
  return overrides;
}
