import { createHash } from 'node:crypto';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { RUNNER_CONFIG_FLAGS, RUNNER_ENV } from '../defaults';
import type { RunnerPlan } from '../runner/runner-plan';

/** ECS refuses container overrides whose JSON is longer than this (RunTask `overrides`). */
export const OVERRIDES_MAX_CHARS = 8192;

/** The `startedBy` of a job's task: lets `ListTasks` find it (ECS: ≤ 128 of [A-Za-z0-9_/-]). */
export const startedByForJob = (jobId: number): string => `gha-job/${jobId}`;

/** The job id a task was started for, from its `startedBy`; undefined for any other task. */
export const jobIdOfStartedBy = (startedBy: string | undefined): number | undefined => {
  const match = /^gha-job\/(\d+)$/.exec(startedBy ?? '');
  return match ? Number(match[1]) : undefined;
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
 * How the runner in the task registers: the seed's way (config args and the admin token of the
 * task definition) or a JIT config, which reaches the container as an S3 environment file
 * (`RUNNER_JIT_CONFIG=…`) that the ECS agent reads with the task execution role, so no API
 * request or response (RunTask, DescribeTasks, CloudTrail) carries it.
 */
export type Registration =
  | { readonly kind: 'token' }
  | { readonly kind: 'jit'; readonly environmentFileArn: string };

/** The variable that carries a JIT config to the runner container (from the environment file). */
export const RUNNER_JIT_CONFIG = 'RUNNER_JIT_CONFIG';

/** A RunTask request together with the token that makes it idempotent. */
export interface RunTaskRequest {
  readonly input: RunTaskCommandInput & { clientToken: string };
  /** The same request under another token, for a retry after ECS answered `failures[]`. */
  readonly withToken: (salt: string) => RunTaskCommandInput & { clientToken: string };
}

/** `RUNNER_CONFIG_ARGS` of the token registration: the seed's flags with this runner's labels, name and group. */
export function runnerConfigArgs(plan: RunnerPlan, runnerName: string): string {
  return [
    ...RUNNER_CONFIG_FLAGS,
    ...['--labels', plan.labels.join(','), '--name', runnerName, '--runnergroup', plan.group],
    '--ephemeral',
  ].join(' ');
}

/**
 * Builds the RunTask request of one launch attempt of a planned runner. Deterministic: the same
 * job, attempt and settings give the same `clientToken` (ECS keeps a token 24 h, and answers a
 * reused token with a different request by ConflictException), so a retry of an attempt whose
 * answer was lost or late returns the task it started instead of a second one; a new attempt (a
 * task lost before its job started) gets a new token.
 * @throws Error when the container overrides exceed ECS's 8,192-character limit.
 */
export function buildRunTaskRequest(
  plan: RunnerPlan,
  attempt: { readonly number: number; readonly runnerName: string },
  registration: Registration = { kind: 'token' },
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
  const overrides = {
    containerOverrides: [
      {
        name: target.containerName,
        environment,
        ...(registration.kind === 'jit' && {
          environmentFiles: [{ type: 's3' as const, value: registration.environmentFileArn }],
        }),
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
  const base: RunTaskCommandInput = {
    cluster: target.cluster,
    taskDefinition: target.taskDefinition,
    count: 1,
    ...(target.capacityProviderStrategy === undefined
      ? { launchType: 'EC2' as const }
      : { capacityProviderStrategy: target.capacityProviderStrategy.map((item) => ({ ...item })) }),
    ...(target.distinctInstance && { placementConstraints: [{ type: 'distinctInstance' as const }] }),
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
    startedBy: startedByForJob(plan.jobId),
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
  };
  // sha256 in hex is 64 characters: exactly ECS's clientToken limit.
  const identity = JSON.stringify(base);
  const withToken = (salt: string) => ({
    ...base,
    clientToken: createHash('sha256').update(identity).update(salt).digest('hex'),
  });
  return { input: withToken(''), withToken };
}
