import { SEED } from '../defaults';
import type { RunnerScopeRef } from '../github/ports';
import { renderTemplate } from '../runner/template';
import type { DoctorOptions } from './doctor-options';
import type { DeployedStack } from './doctor-ports';

/** What the doctor looks at: the stack's outputs, with the flags winning. */
export interface DoctorTargets {
  readonly webhookSecretArn: string | undefined;
  readonly githubAuthSecretArn: string | undefined;
  readonly registrationTokenSecretArn: string | undefined;
  readonly cluster: string | undefined;
  readonly taskDefinition: string | undefined;
  readonly capacityProvider: string | undefined;
  /** From --image; undefined: the task definition's. */
  readonly image: string | undefined;
  /** undefined when the stack is unknown. */
  readonly alarmNames: readonly string[] | undefined;
  /** The stack's runner image build projects; undefined when it builds none. */
  readonly imageBuildProjects: readonly string[] | undefined;
  /** The function that builds GitHub's latest runner release. */
  readonly imageReleaseFunction: string | undefined;
  readonly scope: RunnerScopeRef | undefined;
  readonly group: string | undefined;
}

/**
 * Where each check looks. The runner group is the default group template rendered for --org and
 * the stack's `Env` tag (its target environment), unless --group names it.
 */
export function resolveTargets(options: DoctorOptions, stack: DeployedStack | undefined): DoctorTargets {
  const output = (key: string) => stack?.outputs[key];
  const scope: RunnerScopeRef | undefined =
    options.org !== undefined
      ? { kind: 'org', org: options.org }
      : options.enterprise !== undefined
        ? { kind: 'enterprise', enterprise: options.enterprise }
        : undefined;
  const group =
    options.group ??
    (options.org === undefined
      ? undefined
      : renderTemplate(options.groupTemplate, {
          detail_org: options.org,
          target_env: stack?.tags.Env ?? SEED.targetEnv,
          detail_repo_name: '',
          detail_repo_owner: '',
          wf_job_id: '',
          wf_job_run_id: '',
          wf_job_run_attempt: '',
        }));
  return {
    webhookSecretArn: options.overrides.webhookSecretArn ?? output('WebhookSecretArn'),
    githubAuthSecretArn: options.overrides.githubAuthSecretArn ?? output('GitHubAuthSecretArn'),
    registrationTokenSecretArn: output('RegistrationTokenSecretArn'),
    cluster: options.overrides.cluster ?? output('ClusterName'),
    taskDefinition: options.overrides.taskDefinition ?? output('TaskDefinitionArn'),
    capacityProvider: options.overrides.capacityProvider ?? output('CapacityProviderName'),
    image: options.overrides.image,
    alarmNames: stack?.alarmNames,
    imageBuildProjects: output('ImageBuildProjects')
      ?.split(',')
      .filter((name) => name !== ''),
    imageReleaseFunction: output('ImageReleaseFunction'),
    scope,
    group,
  };
}
