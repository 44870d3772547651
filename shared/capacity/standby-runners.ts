import type { Config } from '../config';
import type { RunnerLauncher } from '../ecs/launcher';
import { buildStandbyRunTaskInput, STANDBY_ENV } from '../ecs/run-task-input';
import { type RunnerConfigStore, runnerConfigKey } from '../ecs/runner-config-store';
import { errorMessage } from '../errors';
import { ecsTargetOf } from '../runner/decide';
import type { CapacityGroupSettings } from './capacity-groups';
import type { InstanceRecord } from './instance-record';

/**
 * How long a standby waits for a job before it stops by itself (and the capacity function starts a
 * fresh one): short, because its presigned URLs work only while the signer's credentials do, and
 * a standby that cannot read its config holds a job until then.
 */
export const STANDBY_LIFETIME_MS = 10 * 60_000;

/**
 * The presigned URLs outlive the standby's time by this much: its last read may start just before
 * it, and the delete follows (each bounded at 5 s by the entry point).
 */
export const STANDBY_URL_GRACE_S = 60;

/** A standby whose RunTask has no answer after this long: the instance is ended (a task may run on it). */
export const STANDBY_START_TIMEOUT_MS = 2 * 60_000;

/** A standby still recorded this long after its time: its stop event was lost, and it is forgotten. */
export const STANDBY_STOP_GRACE_MS = 60_000;

/** A job's config still unread by its standby this long after the claim: the standby is deaf, and stopped. */
export const STANDBY_READ_TIMEOUT_MS = 60_000;

/** Standby tasks started on one instance at most (one that keeps stopping is not started again). */
export const STANDBY_STARTS_PER_INSTANCE = 3;

/** The environment file of a standby's presigned URLs, beside its config object. */
export const standbyUrlsKey = (configKey: string): string => configKey.replace(/\.env$/, '.urls.env');

/** What one standby RunTask came to. */
export type StandbyStart =
  | { readonly kind: 'started'; readonly taskArn: string }
  /** ECS said `failures[]` (or refused the request): no task. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** No answer: a task may run on the instance. */
  | { readonly kind: 'unknown'; readonly reason: string };

/** The port through which the capacity function starts standby runners and checks they listen. */
export interface StandbyRunners {
  /** Whether the group's instances get standbys: JIT registration, one profile, a hot pool, not switched off. */
  servesGroup(group: CapacityGroupSettings): boolean;
  /** A fresh config object name for a standby. */
  newConfigKey(): string;
  /** Presigns the standby's config object and starts its task on the instance. */
  start(
    group: CapacityGroupSettings,
    instance: InstanceRecord,
    configKey: string,
    until: number,
    deadlineAt: number,
  ): Promise<StandbyStart>;
  /** Whether a job's config still waits in the standby's object (its container deletes it once read). */
  unread(configKey: string): Promise<boolean>;
}

/**
 * The standby runners of the deployed system: RunTask through the launcher (retried under one token
 * per instance and object), URLs presigned by the runner config store. Only JIT registration is
 * served: a registration token needs `config.sh` flags of the job, which a standby cannot know.
 */
export function createStandbyRunners(deps: {
  readonly config: Pick<Config, 'ecs' | 'profiles' | 'registration' | 'runnerIdleTimeoutSeconds'>;
  readonly launcher: RunnerLauncher;
  readonly configStore: RunnerConfigStore;
  readonly now: () => number;
}): StandbyRunners {
  const { config } = deps;
  const profileOf = (group: CapacityGroupSettings) =>
    group.profiles.length === 1
      ? config.profiles.find((profile) => profile.name === group.profiles[0])
      : undefined;
  return {
    servesGroup: (group) =>
      config.registration === 'jit' && group.standby && group.hot > 0 && profileOf(group) !== undefined,
    newConfigKey: runnerConfigKey,
    async start(group, instance, configKey, until, deadlineAt) {
      const profile = profileOf(group);
      if (profile === undefined) return { kind: 'refused', reason: 'the group serves more than one profile' };
      let input: ReturnType<typeof buildStandbyRunTaskInput>;
      try {
        const urls = await deps.configStore.presign(
          configKey,
          (until - deps.now()) / 1000 + STANDBY_URL_GRACE_S,
        );
        // The URLs are capabilities: they reach the container in an environment file the agent
        // reads with the execution role, never in the request (DescribeTasks would show them).
        const urlsKey = standbyUrlsKey(configKey);
        await deps.configStore.putEnvironment(urlsKey, {
          [STANDBY_ENV.url]: urls.get,
          [STANDBY_ENV.deleteUrl]: urls.delete,
        });
        input = buildStandbyRunTaskInput(ecsTargetOf(config, profile), {
          instanceId: instance.instanceId,
          capacityProvider: group.capacityProvider,
          configKey,
          environmentFileArn: deps.configStore.arn(urlsKey),
          until,
          idleTimeoutSeconds: config.runnerIdleTimeoutSeconds,
        });
      } catch (error) {
        return { kind: 'refused', reason: `no standby request: ${errorMessage(error)}` };
      }
      const outcome = await deps.launcher.launch({ input, jobId: 0, attempt: 0 }, deadlineAt);
      switch (outcome.kind) {
        case 'started':
          return { kind: 'started', taskArn: outcome.taskArn };
        case 'placement-failed':
          return { kind: 'refused', reason: outcome.reason };
        case 'conflict':
          return { kind: 'unknown', reason: outcome.reason };
        case 'failed':
          return outcome.failure === 'setup'
            ? { kind: 'refused', reason: outcome.reason }
            : { kind: 'unknown', reason: outcome.reason };
      }
    },
    unread: (configKey) => deps.configStore.exists(configKey),
  };
}
