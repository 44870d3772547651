import type { Config } from '../config';
import { RUNNER_ENV } from '../defaults';
import { runnerCoversJob } from './label-coverage';
import { fitRunnerName } from './runner-name';
import type { EcsTarget, RunnerPlan, RunnerScopeRef } from './runner-plan';
import type { RunnerProfile } from './runner-profiles';
import { renderTemplate, SAFE_VALUE, type TemplateValues } from './template';
import type { WorkflowJobEvent } from './workflow-job';

export type Decision =
  /** A job of ours: the plan of its runner (`queued`), or what its lifecycle needs to know. */
  | { readonly kind: 'ours'; readonly plan: RunnerPlan }
  /** Not ours; `misfit`: it nearly is (it asks for `self-hosted` besides a profile's labels), a setup mistake worth a warning. */
  | { readonly kind: 'ignore'; readonly reason: string; readonly misfit?: true }
  | { readonly kind: 'refuse'; readonly reason: string };

const ACTIONS = new Set(['queued', 'waiting', 'in_progress', 'completed']);

/**
 * Decides whether a `workflow_job` delivery is about a job of ours: one whose every label the
 * runner of some profile (the first, in order) will have. A job of ours gets its runner plan; a job
 * that would be ours but carries values that must never reach a runner argument is refused;
 * anything else is ignored with the reason. Pure: no I/O.
 */
export function decide(config: Config, event: WorkflowJobEvent): Decision {
  const ignore = (reason: string): Decision => ({ kind: 'ignore', reason });
  if (!ACTIONS.has(event.action)) {
    return ignore(`action "${event.action}" needs no runner`);
  }

  const owner = event.organization ?? event.repository.owner;
  if (config.allowedOrgs.length > 0 && !config.allowedOrgs.includes(owner.toLowerCase())) {
    return ignore(`organization "${owner}" is not in ALLOWED_ORGS`);
  }
  const fullName = event.repository.fullName;
  if (config.allowedRepos.length > 0 && !config.allowedRepos.includes(fullName.toLowerCase())) {
    return ignore(`repository "${fullName}" is not in ALLOWED_REPOS`);
  }
  if (config.scope === 'org' && event.organization === undefined) {
    return ignore(
      event.repository.ownerType === 'Organization'
        ? `the delivery names no "organization" although "${event.repository.owner}" is one; organization runners need it (is the webhook an organization or App webhook?)`
        : `repository "${fullName}" is owned by a user, and organization runners cannot serve it (RUNNER_SCOPE=repo can)`,
    );
  }
  const enterprise = config.enterprise ?? event.enterprise;
  if (config.scope === 'enterprise' && enterprise === undefined) {
    return ignore(
      'RUNNER_SCOPE=enterprise but the delivery names no enterprise and RUNNER_ENTERPRISE is not set',
    );
  }

  const values: TemplateValues = {
    detail_org: owner,
    detail_repo_name: event.repository.name,
    detail_repo_owner: event.repository.owner,
    wf_job_id: String(event.job.id),
    wf_job_run_id: String(event.job.runId),
    wf_job_run_attempt: String(event.job.runAttempt),
    target_env: config.targetEnv,
  };
  // Each profile's labels rendered once, when first needed (the match, then the not-ours reason).
  const rendered = new Map<(typeof config.profiles)[number], string[]>();
  const labelsOf = (profile: (typeof config.profiles)[number]) => {
    let labels = rendered.get(profile);
    if (labels === undefined) {
      labels = profile.labels.map((t) => renderTemplate(t, values));
      rendered.set(profile, labels);
    }
    return labels;
  };
  const profile = config.profiles.find((candidate) => runnerCoversJob(labelsOf(candidate), event.job.labels));
  if (profile === undefined) {
    const misfit = selfHostedMisfit(event.job.labels, config.profiles, labelsOf);
    if (misfit !== undefined) return { kind: 'ignore', reason: misfit, misfit: true };
    const offers = config.profiles.map((p) => `${p.name}: [${labelsOf(p).join(', ')}]`).join('; ');
    return ignore(`not ours: the job asks for [${event.job.labels.join(', ')}]; our runners have ${offers}`);
  }
  const labels = labelsOf(profile);
  const untrusted = untrustedReason(config, profile, event.repository);
  if (untrusted !== undefined) return ignore(untrusted);

  const unsafe = Object.entries(values)
    .filter(([, value]) => !SAFE_VALUE.test(value))
    .map(([name]) => `<${name}>`);
  if (config.scope === 'enterprise' && !SAFE_VALUE.test(enterprise as string)) unsafe.push('enterprise.slug');
  if (unsafe.length > 0) {
    return {
      kind: 'refuse',
      reason: `${unsafe.join(', ')} must start with a letter or a digit and use only [A-Za-z0-9._-]`,
    };
  }

  const name = fitRunnerName(renderTemplate(config.templates.name, values));
  const group = renderTemplate(config.templates.group, values);
  const scopeEnv =
    config.scope === 'org'
      ? { name: RUNNER_ENV.organization, value: owner }
      : config.scope === 'repo'
        ? { name: RUNNER_ENV.repository, value: fullName }
        : { name: RUNNER_ENV.enterprise, value: enterprise as string };
  const scopeRef: RunnerScopeRef =
    config.scope === 'org'
      ? { kind: 'org', org: owner }
      : config.scope === 'repo'
        ? { kind: 'repo', owner: event.repository.owner, repo: event.repository.name }
        : { kind: 'enterprise', enterprise: enterprise as string };
  return {
    kind: 'ours',
    plan: {
      jobId: event.job.id,
      runId: event.job.runId,
      runAttempt: event.job.runAttempt,
      repository: fullName,
      repositoryId: event.repository.id,
      labels,
      labelsBindRun: profile.labels.some((template) => template.includes('<wf_job_run_id>')),
      name,
      group,
      groupPerRepository: config.templates.group.includes('<detail_repo_name>'),
      scopeRef,
      scopeEnv,
      idleTimeoutSeconds: config.runnerIdleTimeoutSeconds,
      target: ecsTargetOf(config, profile),
    },
  };
}

/** Where and how a profile's runner tasks run: its task definition on the stack's cluster and network. */
export function ecsTargetOf(config: Pick<Config, 'ecs'>, profile: RunnerProfile): EcsTarget {
  return {
    profile: profile.name,
    cluster: config.ecs.cluster,
    taskDefinition: profile.taskDefinition,
    containerName: profile.containerName,
    capacityProviderStrategy: profile.capacityProviderStrategy,
    cpu: profile.cpu,
    memory: profile.memory,
    distinctInstance: profile.distinctInstance,
    subnets: config.ecs.subnets,
    securityGroups: config.ecs.securityGroups,
    assignPublicIp: config.ecs.assignPublicIp,
  };
}

/** GitHub's default label of every self-hosted runner, which ours do not carry (`--no-default-labels`). */
const SELF_HOSTED = 'self-hosted';

/**
 * The reason for a job that asks for `self-hosted` besides labels a profile's runners have: GitHub
 * would never give it to them (they register with `--no-default-labels`, so they carry no
 * `self-hosted`), and the habit of writing it is common. A profile that lists `self-hosted` among
 * its labels serves such jobs; undefined when no profile would serve the job without it either.
 */
function selfHostedMisfit<P extends { readonly name: string }>(
  jobLabels: readonly string[],
  profiles: readonly P[],
  labelsOf: (profile: P) => string[],
): string | undefined {
  if (!jobLabels.some((label) => label.toLowerCase() === SELF_HOSTED)) return undefined;
  const rest = jobLabels.filter((label) => label.toLowerCase() !== SELF_HOSTED);
  const near = profiles.find((candidate) => runnerCoversJob(labelsOf(candidate), rest));
  if (near === undefined) return undefined;
  return `not ours as written: the job asks for "self-hosted", which the runners of profile ${near.name} do not carry (they register with --no-default-labels), so GitHub would never give it to them. Write runs-on: [${rest.join(', ')}] without self-hosted, or list "self-hosted" among the profile's labels (RUNNER_LABELS_TEMPLATE is a comma list) so its runners carry it`;
}

/**
 * Why a repository's jobs may not have this profile's runners; undefined when they may. GitHub
 * advises never to use self-hosted runners with public repositories: anyone's fork pull request
 * runs its code on them (docs.github.com, "Self-hosted runner security"). Private repositories are
 * served; internal ones when the operator trusts their enterprise; public ones, and any whose
 * delivery does not say, only where the operator opted in.
 */
function untrustedReason(
  config: Config,
  profile: RunnerProfile,
  repository: WorkflowJobEvent['repository'],
): string | undefined {
  const { visibility, fullName } = repository;
  if (visibility === 'private') return undefined;
  if (visibility === 'internal' && config.internalRepositoriesTrusted) return undefined;
  if (profile.publicRepositories || config.publicRepositoriesAllowed.includes(fullName.toLowerCase())) {
    return undefined;
  }
  const optIn = `PUBLIC_REPOSITORIES_ALLOWED=${fullName} (or "publicRepositories": true on profile "${profile.name}")`;
  if (visibility === 'internal') {
    return `repository "${fullName}" is internal: its jobs get no self-hosted runner unless INTERNAL_REPOSITORIES_TRUSTED=true or ${optIn}`;
  }
  const stated =
    visibility === 'public'
      ? 'is public'
      : 'is not said to be private (no repository.private or .visibility)';
  return `repository "${fullName}" ${stated}: its jobs, fork pull requests included, get no self-hosted runner unless ${optIn}`;
}

/** The runner name of a launch attempt: the plan's for the first, then with `-r<attempt>`. */
export function runnerNameFor(plan: RunnerPlan, attempt: number): string {
  return attempt <= 1 ? plan.name : fitRunnerName(`${plan.name}-r${attempt}`);
}
