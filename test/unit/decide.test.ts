import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../shared/config';
import { runnerConfigArgs } from '../../shared/ecs/run-task-input';
import { decide } from '../../shared/runner/decide';
import type { RunnerPlan } from '../../shared/runner/runner-plan';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { githubHostedQueued, type JobVariation, jobOfOurs } from '../fixtures/payloads';

const config = (env: Record<string, string> = {}) =>
  parseConfig({
    ECS_CLUSTER: 'c',
    RUNNER_REGISTRATION: 'token',
    RUNNER_SCOPE: 'org',
    GITHUB_TOKEN: 'ghp_test',
    RUNNER_CONFIG_BUCKET: 'github-runners-config',
    ...env,
  });
const decideFor = (variation: JobVariation = {}, env: Record<string, string> = {}) =>
  decide(config(env), parseWorkflowJob(jobOfOurs(variation)));
const planOf = (decision: ReturnType<typeof decide>): RunnerPlan => {
  if (decision.kind !== 'ours') throw new Error(`expected ours, got ${decision.kind}: ${decision.reason}`);
  return decision.plan;
};

describe('decide', () => {
  it('launches a runner for a queued job that asks for our label', () => {
    const plan = planOf(
      decideFor({ runId: 940463255, runAttempt: 1, jobId: 2832853555, repoName: 'example-workflow' }),
    );
    // Only values every trigger has: a scheduled run's payload has no repository for the workflow.
    expect(plan.labels).toEqual(['octo-org-sandpit-940463255-1']);
    expect(plan.group).toBe('octo-org-sandpit');
    expect(plan.scopeEnv).toEqual({ name: 'ORGANIZATION', value: 'octo-org' });
  });

  it('builds the seed RUNNER_CONFIG_ARGS with the repository and job id in the name', () => {
    const plan = planOf(
      decideFor({ runId: 940463255, runAttempt: 1, jobId: 2832853555, repoName: 'example-workflow' }),
    );
    expect(plan.name).toBe('octo-org-sandpit-example-workflow-940463255-1-2832853555');
    expect(runnerConfigArgs(plan, plan.name)).toBe(
      '--unattended --replace --disableupdate --no-default-labels' +
        ' --labels octo-org-sandpit-940463255-1' +
        ' --name octo-org-sandpit-example-workflow-940463255-1-2832853555' +
        ' --runnergroup octo-org-sandpit --ephemeral',
    );
  });

  it('registers in the repository by default, so only its own jobs can take the runner', () => {
    const plan = planOf(
      decide(parseConfig({ DRY_RUN: 'true' }), parseWorkflowJob(jobOfOurs({ repoName: 'api' }))),
    );
    expect(plan.scopeRef).toEqual({ kind: 'repo', owner: 'octo-org', repo: 'api' });
    expect(plan.scopeEnv).toEqual({ name: 'REPOSITORY', value: 'octo-org/api' });
  });

  it('gives each job of a matrix run its own runner name', () => {
    const a = planOf(decideFor({ runId: 7, jobId: 100 }));
    const b = planOf(decideFor({ runId: 7, jobId: 101 }));
    expect(a.labels).toEqual(b.labels);
    expect(a.name).not.toBe(b.name);
  });

  it('says how to write runs-on when a job asks for self-hosted, which our runners do not carry', () => {
    const label = 'octo-org-sandpit-5-1';
    const decision = decideFor({ runId: 5, runAttempt: 1, labels: ['self-hosted', label] });
    expect(decision).toEqual({
      kind: 'ignore',
      misfit: true,
      reason: expect.stringContaining(`Write runs-on: [${label}] without self-hosted`),
    });
    expect((decision as { reason: string }).reason).toContain('--no-default-labels');
  });

  it('serves a job that asks for self-hosted when the profile lists it among its labels', () => {
    const label = 'octo-org-sandpit-5-1';
    const plan = planOf(
      decideFor(
        { runId: 5, runAttempt: 1, labels: ['self-hosted', label] },
        {
          RUNNER_LABELS_TEMPLATE:
            '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>,self-hosted',
        },
      ),
    );
    expect(plan.labels).toEqual([label, 'self-hosted']);
  });

  it('ignores a self-hosted job no profile would serve without that label as plainly not ours', () => {
    const decision = decideFor({ labels: ['self-hosted', 'gpu'] });
    expect(decision).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('not ours: the job asks for'),
    });
  });

  it('ignores a GitHub-hosted job as not ours', () => {
    const decision = decide(config({ RUNNER_SCOPE: 'repo' }), parseWorkflowJob(githubHostedQueued()));
    expect(decision).toEqual({ kind: 'ignore', reason: expect.stringContaining('not ours') });
  });

  it('ignores a job that asks for a label our runner will not have', () => {
    const payload = jobOfOurs();
    const ours = (payload.workflow_job.labels as string[])[0] as string;
    const decision = decide(config(), parseWorkflowJob(jobOfOurs({ labels: [ours, 'gpu'] })));
    expect(decision).toEqual({ kind: 'ignore', reason: expect.stringContaining('gpu') });
  });

  it('serves a job asking for a subset of several configured labels', () => {
    const plan = planOf(
      decideFor({ labels: ['gpu'] }, { RUNNER_LABELS_TEMPLATE: '<detail_org>-<target_env>,gpu' }),
    );
    expect(plan.labels).toEqual(['octo-org-sandpit', 'gpu']);
    expect(runnerConfigArgs(plan, plan.name)).toContain('--labels octo-org-sandpit,gpu ');
  });

  it.each(['in_progress', 'waiting', 'completed'])(
    'takes the %s action of a job of ours to its ledger',
    (action) => {
      expect(decideFor({ action }).kind).toBe('ours');
    },
  );

  it('ignores an action that says nothing about a job', () => {
    expect(decideFor({ action: 'requested' })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('requested'),
    });
  });

  it('picks the first profile whose labels cover the job', () => {
    const profiles = JSON.stringify([
      { name: 'arm', labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>', 'arm64'] },
      {
        name: 'large',
        labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>', 'arm64', 'large'],
      },
      { name: 'default', labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>'] },
    ]);
    const run = 'octo-org-sandpit-5-1';
    const pick = (labels: string[]) =>
      planOf(decideFor({ runId: 5, labels }, { RUNNER_PROFILES: profiles })).target.profile;
    expect(pick([run])).toBe('arm');
    expect(pick([run, 'arm64', 'large'])).toBe('large');
    expect(decideFor({ runId: 5, labels: [run, 'gpu'] }, { RUNNER_PROFILES: profiles })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('not ours'),
    });
  });

  it('ignores a completed job that is not ours', () => {
    expect(decideFor({ action: 'completed', labels: ['ubuntu-latest'] }).kind).toBe('ignore');
  });

  it('says what is missing when an organisation repository comes without "organization"', () => {
    const payload = jobOfOurs();
    delete (payload as Record<string, unknown>).organization;
    (payload.repository.owner as Record<string, unknown>).type = 'Organization';
    expect(decide(config(), parseWorkflowJob(payload))).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('names no "organization"'),
    });
  });

  it('ignores a user-owned repository with organisation scope, saying why', () => {
    expect(decideFor({ userOwned: true })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('RUNNER_SCOPE=repo'),
    });
  });

  it('serves a user-owned repository with repository scope', () => {
    const plan = planOf(decideFor({ userOwned: true, repoName: 'elastic' }, { RUNNER_SCOPE: 'repo' }));
    expect(plan.scopeEnv).toEqual({ name: 'REPOSITORY', value: 'lineville/elastic' });
  });

  it('sets ENTERPRISE for enterprise scope', () => {
    const plan = planOf(decideFor({}, { RUNNER_SCOPE: 'enterprise', RUNNER_ENTERPRISE: 'octo-corp' }));
    expect(plan.scopeEnv).toEqual({ name: 'ENTERPRISE', value: 'octo-corp' });
  });

  it('ignores enterprise scope when no enterprise is known', () => {
    expect(decideFor({}, { RUNNER_SCOPE: 'enterprise' }).kind).toBe('ignore');
  });

  it('ignores organisations outside ALLOWED_ORGS', () => {
    expect(decideFor({}, { ALLOWED_ORGS: 'other-org' })).toEqual({
      kind: 'ignore',
      reason: 'organization "octo-org" is not in ALLOWED_ORGS',
    });
    expect(decideFor({}, { ALLOWED_ORGS: 'OCTO-ORG' }).kind).toBe('ours');
  });

  it('ignores repositories outside ALLOWED_REPOS', () => {
    expect(decideFor({ repoName: 'a' }, { ALLOWED_REPOS: 'octo-org/b' }).kind).toBe('ignore');
    expect(decideFor({ repoName: 'b' }, { ALLOWED_REPOS: 'octo-org/b' }).kind).toBe('ours');
  });

  it('refuses a job of ours whose repository name would inject runner arguments', () => {
    const evil = 'x --url https://evil.example';
    const decision = decide(config(), parseWorkflowJob(jobOfOurs({ repoName: evil })));
    expect(decision).toEqual({ kind: 'refuse', reason: expect.stringContaining('<detail_repo_name>') });
  });

  it('refuses a job of ours whose repository name reads as an option', () => {
    const decision = decide(config(), parseWorkflowJob(jobOfOurs({ repoName: '--url' })));
    expect(decision).toEqual({
      kind: 'refuse',
      reason: expect.stringContaining('<detail_repo_name> must start with a letter or a digit'),
    });
  });

  it('refuses a job of ours whose organisation name starts with a dot', () => {
    expect(decideFor({ org: '.hidden' }).kind).toBe('refuse');
  });

  it.each([
    ['organisation', {}],
    ['repository', { RUNNER_SCOPE: 'repo' }],
    ['enterprise', { RUNNER_SCOPE: 'enterprise', RUNNER_ENTERPRISE: 'octo-corp' }],
  ])(
    'ignores a job of a public repository with %s runners, naming the setting that would serve it',
    (_, env) => {
      expect(decideFor({ visibility: 'public', repoName: 'site' }, env)).toEqual({
        kind: 'ignore',
        reason:
          'repository "octo-org/site" is public: its jobs, fork pull requests included, get no self-hosted runner unless PUBLIC_REPOSITORIES_ALLOWED=octo-org/site (or "publicRepositories": true on profile "default")',
      });
    },
  );

  it('ignores a job of a public repository that ALLOWED_ORGS and ALLOWED_REPOS list', () => {
    const env = { ALLOWED_ORGS: 'octo-org', ALLOWED_REPOS: 'octo-org/site' };
    expect(decideFor({ visibility: 'public', repoName: 'site' }, env)).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('is public'),
    });
  });

  it('ignores a job whose delivery does not say the repository is private', () => {
    expect(decideFor({ visibility: 'unstated' })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('is not said to be private'),
    });
  });

  it('serves a public or internal repository listed in PUBLIC_REPOSITORIES_ALLOWED', () => {
    const env = { PUBLIC_REPOSITORIES_ALLOWED: 'octo-org/other,Octo-Org/Site' };
    expect(decideFor({ visibility: 'public', repoName: 'site' }, env).kind).toBe('ours');
    expect(decideFor({ visibility: 'internal', repoName: 'site' }, env).kind).toBe('ours');
    expect(decideFor({ visibility: 'public', repoName: 'docs' }, env).kind).toBe('ignore');
  });

  it('serves a public or internal repository on a profile that admits public repositories, and only there', () => {
    const label = '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>';
    const profiles = JSON.stringify([
      { name: 'default', labels: [label] },
      { name: 'untrusted', labels: [label, 'untrusted'], publicRepositories: true },
    ]);
    const run = 'octo-org-sandpit-5-1';
    const job = (labels: string[]) =>
      decideFor({ visibility: 'public', runId: 5, labels }, { RUNNER_PROFILES: profiles });
    expect(planOf(job([run, 'untrusted'])).target.profile).toBe('untrusted');
    const internal = decideFor(
      { visibility: 'internal', runId: 5, labels: [run, 'untrusted'] },
      { RUNNER_PROFILES: profiles },
    );
    expect(planOf(internal).target.profile).toBe('untrusted');
    expect(job([run])).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('"publicRepositories": true on profile "default"'),
    });
  });

  it('ignores a job of an internal repository unless INTERNAL_REPOSITORIES_TRUSTED', () => {
    expect(decideFor({ visibility: 'internal' })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining(
        'is internal: its jobs get no self-hosted runner unless INTERNAL_REPOSITORIES_TRUSTED=true',
      ),
    });
    expect(decideFor({ visibility: 'internal' }, { INTERNAL_REPOSITORIES_TRUSTED: 'true' }).kind).toBe(
      'ours',
    );
  });

  it('does not let INTERNAL_REPOSITORIES_TRUSTED serve a public repository', () => {
    expect(decideFor({ visibility: 'public' }, { INTERNAL_REPOSITORIES_TRUSTED: 'true' }).kind).toBe(
      'ignore',
    );
  });

  it('says a GitHub-hosted job of a public repository is not ours for its labels, not its visibility', () => {
    expect(decideFor({ visibility: 'public', labels: ['ubuntu-latest'] })).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining('not ours'),
    });
  });

  it('uses TARGET_ENV in labels and group', () => {
    const plan = planOf(decideFor({ targetEnv: 'prod' }, { TARGET_ENV: 'prod' }));
    expect(plan.group).toBe('octo-org-prod');
  });

  it('keeps a long runner name within 64 characters', () => {
    const plan = planOf(decideFor({ repoName: 'r'.repeat(90) }));
    expect(plan.name.length).toBeLessThanOrEqual(64);
  });
});
