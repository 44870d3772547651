import { createHash } from 'node:crypto';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import type { EcsSettings } from '../config';
import { RUNNER_ENV } from '../defaults';
import type { RunnerPlan } from '../runner/decide';

/** ECS refuses container overrides whose JSON is longer than this (RunTask `overrides`). */
export const OVERRIDES_MAX_CHARS = 8192;

/** The `startedBy` of a job's task: lets `ListTasks` find it (ECS: ≤ 128 of [A-Za-z0-9_/-]). */
export const startedByForJob = (jobId: number): string => `gha-job/${jobId}`;

/** Tag keys on every runner task, so an operator (and the reaper) can find a job's task. */
export const TASK_TAGS = {
  jobId: 'gha:job-id',
  runId: 'gha:run-id',
  runAttempt: 'gha:run-attempt',
  repository: 'gha:repository',
  runnerName: 'gha:runner-name',
} as const;

/** How the runner in the task registers: the seed's way (config args and admin token) or a JIT config. */
export type Registration =
  | { readonly kind: 'token' }
  | { readonly kind: 'jit'; readonly encodedJitConfig: string };

/** The variable that carries a JIT config to the runner container. */
export const RUNNER_JIT_CONFIG = 'RUNNER_JIT_CONFIG';

/** A RunTask request together with the token that makes it idempotent. */
export interface RunTaskRequest {
  readonly input: RunTaskCommandInput & { clientToken: string };
  /** The same request under another token, for a retry after ECS answered `failures[]`. */
  readonly withToken: (salt: string) => RunTaskCommandInput & { clientToken: string };
}

/**
 * Builds the RunTask request for a runner plan. Deterministic: the same job and settings give
 * the same `clientToken` (ECS keeps a token 24 h, and answers a reused token with a different
 * request by ConflictException), so a redelivery starts no second task. A JIT config differs on
 * every registration, so the token is taken over the request without it.
 * @throws Error when the container overrides exceed ECS's 8,192-character limit.
 */
export function buildRunTaskRequest(
  ecs: EcsSettings,
  plan: RunnerPlan,
  registration: Registration = { kind: 'token' },
): RunTaskRequest {
  const environmentWith = (jitConfig: string) => [
    { name: plan.scopeEnv.name, value: plan.scopeEnv.value },
    registration.kind === 'jit'
      ? { name: RUNNER_JIT_CONFIG, value: jitConfig }
      : { name: RUNNER_ENV.configArgs, value: plan.configArgs },
    { name: RUNNER_ENV.labels, value: plan.labels.join(',') },
    // One idle timeout for both layers: the runner image's own, and the reaper's.
    { name: RUNNER_ENV.idleTimeout, value: String(plan.idleTimeoutSeconds) },
  ];
  const jitConfig = registration.kind === 'jit' ? registration.encodedJitConfig : '';
  const overridesWith = (value: string) => ({
    containerOverrides: [{ name: ecs.containerName, environment: environmentWith(value) }],
  });
  const overrides = overridesWith(jitConfig);
  const overridesLength = JSON.stringify(overrides).length;
  if (overridesLength > OVERRIDES_MAX_CHARS) {
    throw new Error(
      `container overrides are ${overridesLength} characters; ECS accepts at most ${OVERRIDES_MAX_CHARS}: shorten the templates`,
    );
  }
  const base: RunTaskCommandInput = {
    cluster: ecs.cluster,
    taskDefinition: ecs.taskDefinition,
    count: 1,
    ...(ecs.capacityProvider === undefined
      ? { launchType: 'EC2' as const }
      : { capacityProviderStrategy: [{ capacityProvider: ecs.capacityProvider, weight: 1 }] }),
    ...(ecs.subnets.length > 0 && {
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...ecs.subnets],
          ...(ecs.securityGroups.length > 0 && { securityGroups: [...ecs.securityGroups] }),
          assignPublicIp: ecs.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
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
      { key: TASK_TAGS.runnerName, value: plan.name },
    ],
  };
  // sha256 in hex is 64 characters: exactly ECS's clientToken limit.
  const identity = JSON.stringify({ ...base, overrides: overridesWith(registration.kind) });
  const withToken = (salt: string) => ({
    ...base,
    clientToken: createHash('sha256').update(identity).update(salt).digest('hex'),
  });
  return { input: withToken(''), withToken };
}
