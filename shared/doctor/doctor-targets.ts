import type { RunnerScope } from '../config';
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
  /** The stack's RUNNER_SCOPE: its `RunnerScope` output, else `--scope`, else the default (`repo`). */
  readonly scopeKind: RunnerScope;
  /** Where {@link scopeKind} came from, for the report. */
  readonly scopeFrom: 'stack' | 'flag' | 'default';
  /** Where runners register: the repository (`--repo`), organisation or enterprise of that scope. */
  /** The stack's runner image build projects; undefined when it builds none. */
  readonly imageBuildProjects: readonly string[] | undefined;
  /** The function that builds GitHub's latest runner release. */
  readonly imageReleaseFunction: string | undefined;
  readonly scope: RunnerScopeRef | undefined;
  /** The runner group (organisation and enterprise runners); undefined for repository runners. */
  readonly group: string | undefined;
}

const SCOPE_KINDS: readonly string[] = ['repo', 'org', 'enterprise'];

/**
 * Where each check looks. The scope is the stack's (`RunnerScope` output). The runner group of
 * organisation and enterprise runners is the stack's group template (`RunnerGroupTemplate`, else
 * the default) rendered for --org, --repo and the stack's `Env` tag, unless --group names it.
 */
export function resolveTargets(options: DoctorOptions, stack: DeployedStack | undefined): DoctorTargets {
  const output = (key: string) => stack?.outputs[key];
  const fromStack = output('RunnerScope');
  const stackScope = SCOPE_KINDS.includes(fromStack ?? '') ? (fromStack as RunnerScope) : undefined;
  // The stack knows how it was deployed; --scope is for a stack deployed before its RunnerScope output.
  const scopeKind: RunnerScope =
    stackScope ?? options.scope ?? (options.enterprise !== undefined ? 'enterprise' : 'repo');
  const scopeFrom = stackScope !== undefined ? 'stack' : options.scope !== undefined ? 'flag' : 'default';
  const scope: RunnerScopeRef | undefined =
    scopeKind === 'repo'
      ? options.repo && { kind: 'repo', ...options.repo }
      : scopeKind === 'org'
        ? options.org === undefined
          ? undefined
          : { kind: 'org', org: options.org }
        : options.enterprise === undefined
          ? undefined
          : { kind: 'enterprise', enterprise: options.enterprise };
  const template = output('RunnerGroupTemplate') ?? options.groupTemplate;
  // Repository runners have no group; a template naming the repository needs --repo.
  const group =
    scopeKind === 'repo'
      ? undefined
      : (options.group ??
        (options.org === undefined || (template.includes('<detail_repo_name>') && options.repo === undefined)
          ? undefined
          : renderTemplate(template, {
              detail_org: options.org,
              target_env: stack?.tags.Env ?? SEED.targetEnv,
              detail_repo_name: options.repo?.repo ?? '',
              detail_repo_owner: options.repo?.owner ?? options.org,
              wf_job_id: '',
              wf_job_run_id: '',
              wf_job_run_attempt: '',
            })));
  return {
    webhookSecretArn: options.overrides.webhookSecretArn ?? output('WebhookSecretArn'),
    githubAuthSecretArn: options.overrides.githubAuthSecretArn ?? output('GitHubAuthSecretArn'),
    registrationTokenSecretArn: output('RegistrationTokenSecretArn'),
    cluster: options.overrides.cluster ?? output('ClusterName'),
    taskDefinition: options.overrides.taskDefinition ?? output('TaskDefinitionArn'),
    capacityProvider: options.overrides.capacityProvider ?? output('CapacityProviderName'),
    image: options.overrides.image,
    alarmNames: stack?.alarmNames,
    scopeKind,
    scopeFrom,
    imageBuildProjects: output('ImageBuildProjects')
      ?.split(',')
      .filter((name) => name !== ''),
    imageReleaseFunction: output('ImageReleaseFunction'),
    scope,
    group,
  };
}
