import type { Config } from '../config';
import { RUNNER_CONFIG_FLAGS, RUNNER_ENV } from '../defaults';
import type { RunnerScopeRef } from '../github/ports';
import type { WorkflowJobEvent } from '../webhook/workflow-job';
import { runnerCoversJob } from './label-coverage';
import { fitRunnerName } from './runner-name';
import { renderTemplate, SAFE_VALUE, type TemplateValues } from './template';

/** The runner one job gets: everything needed to register it, all values already safe. */
export interface RunnerPlan {
  readonly jobId: number;
  readonly runId: number;
  readonly runAttempt: number;
  readonly repository: string;
  readonly labels: readonly string[];
  readonly name: string;
  readonly group: string;
  /** Where the runner registers. */
  readonly scopeRef: RunnerScopeRef;
  /** The scope variable of the seed's contract: ORGANIZATION, REPOSITORY or ENTERPRISE. */
  readonly scopeEnv: { readonly name: string; readonly value: string };
  /** `RUNNER_CONFIG_ARGS`: the seed's flags with this runner's labels, name and group. */
  readonly configArgs: string;
  /** Seconds the runner waits for a job before it exits (`RUNNER_IDLE_TIMEOUT`, the reaper's too). */
  readonly idleTimeoutSeconds: number;
}

export type Decision =
  | { readonly kind: 'launch'; readonly plan: RunnerPlan }
  /** A job of ours completed: its run's runner tasks may now be idle. */
  | { readonly kind: 'reap'; readonly runId: number; readonly reason: string }
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly reason: string };

/**
 * Decides what a `workflow_job` delivery gets: a runner (only for a queued job whose every label
 * the runner will have), a check of its run's runner tasks (a job of ours completed), nothing
 * (with the reason), or a refusal (a job that would be ours but carries values that must never
 * reach a runner argument). Pure: no I/O.
 */
export function decide(config: Config, event: WorkflowJobEvent): Decision {
  const ignore = (reason: string): Decision => ({ kind: 'ignore', reason });
  if (event.action !== 'queued' && event.action !== 'completed') {
    return ignore(`action "${event.action}" needs no runner; only "queued" does`);
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
      `repository "${fullName}" is owned by a user, and organization runners cannot serve it (RUNNER_SCOPE=repo can)`,
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
  const labels = config.templates.labels.map((template) => renderTemplate(template, values));
  if (!runnerCoversJob(labels, event.job.labels)) {
    return ignore(
      `not ours: the job asks for [${event.job.labels.join(', ')}]; our runner would have [${labels.join(', ')}]`,
    );
  }
  if (event.action === 'completed') {
    return { kind: 'reap', runId: event.job.runId, reason: `a job of run ${event.job.runId} completed` };
  }

  const unsafe = Object.entries(values)
    .filter(([, value]) => !SAFE_VALUE.test(value))
    .map(([name]) => `<${name}>`);
  if (config.scope === 'enterprise' && !SAFE_VALUE.test(enterprise as string)) unsafe.push('enterprise.slug');
  if (unsafe.length > 0) {
    return { kind: 'refuse', reason: `${unsafe.join(', ')} hold characters outside [A-Za-z0-9._-]` };
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
  const configArgs = [
    ...RUNNER_CONFIG_FLAGS,
    ...['--labels', labels.join(','), '--name', name, '--runnergroup', group],
    '--ephemeral',
  ].join(' ');
  return {
    kind: 'launch',
    plan: {
      jobId: event.job.id,
      runId: event.job.runId,
      runAttempt: event.job.runAttempt,
      repository: fullName,
      labels,
      name,
      group,
      scopeRef,
      scopeEnv,
      configArgs,
      idleTimeoutSeconds: config.runnerIdleTimeoutSeconds,
    },
  };
}
