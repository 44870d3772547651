import { createHash } from 'node:crypto';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { RUNNER_CONFIG_FLAGS, RUNNER_ENV } from '../defaults';
import type { RunnerPlan } from '../runner/runner-plan';

/** ECS refuses container overrides whose JSON is longer than this (RunTask `overrides`). */
export const OVERRIDES_MAX_CHARS = 8192;

/**
 * The `startedBy` of an attempt's task: `ListTasks` finds the tasks of one attempt by it, never a
 * task of another attempt of the job (ECS: ≤ 128 of [A-Za-z0-9_/-]).
 */
export const startedByForAttempt = (jobId: number, attempt: number): string => `gha-job/${jobId}/${attempt}`;

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
  const constraints = [
    ...(target.distinctInstance ? [{ type: 'distinctInstance' as const }] : []),
    // Owned capacity: the task goes to the instance its job claimed, or nowhere (failures[]).
    ...(pin ? [{ type: 'memberOf' as const, expression: `ec2InstanceId == ${pin.instanceId}` }] : []),
  ];
  const strategy = pin
    ? [{ capacityProvider: pin.capacityProvider, weight: 1 }]
    : target.capacityProviderStrategy;
  const environment = [
    { name: plan.scopeEnv.name, value: plan.scopeEnv.value },
    ...(registration.kind === 'token'
      ? [{ name: RUNNER_ENV.configArgs, value: runnerConfigArgs(plan, attempt.runnerName) }]
      : []),
    { name: RUNNER_ENV.labels, value: plan.labels.join(',') },
    // One idle timeout for both layers: the runner image's own, and the reconciler's.
    { name: RUNNER_ENV.idleTimeout, value: String(plan.idleTimeoutSeconds) },
  ];
  const overrides = {
    containerOverrides: [
      {
        name: target.containerName,
        environment,
        environmentFiles: [{ type: 's3' as const, value: registration.environmentFileArn }],
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
  const input: RunTaskRequest['input'] = {
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
    overrides,
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
