import { describe, expect, it } from '@jest/globals';
import { parseDoctorOptions } from '../../shared/doctor/doctor-options';
import { resolveTargets } from '../../shared/doctor/doctor-targets';
import type { ConfigError } from '../../shared/errors';

const problemsOf = (flags: Record<string, string | boolean>) => {
  try {
    parseDoctorOptions(flags, {});
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('the doctor options', () => {
  it('defaults to the GitHubRunners stack, the last 24 hours and api.github.com', () => {
    expect(parseDoctorOptions({}, {})).toMatchObject({
      stackName: 'GitHubRunners',
      since: '24h',
      sinceMs: 86_400_000,
      apiUrl: 'https://api.github.com',
      hook: undefined,
    });
  });

  it('names the flags in every problem, reported together', () => {
    expect(problemsOf({ 'hook-id': 'x', since: '5d', 'webhook-secret-arn': 'nope' })).toEqual([
      `--hook-id must be the webhook's number (got "x")`,
      '--since may be at most 3d: GitHub keeps deliveries for 3 days',
      '--webhook-secret-arn must be a Secrets Manager ARN (got "nope")',
    ]);
    expect(problemsOf({ 'hook-id': '7' })).toEqual([
      '--hook-id needs --org (the organisation that owns the webhook)',
    ]);
  });

  it('reads an organisation hook, or the App hook', () => {
    expect(parseDoctorOptions({ org: 'octo', 'hook-id': '7' }, {}).hook).toEqual({
      kind: 'org',
      org: 'octo',
      hookId: 7,
    });
    expect(parseDoctorOptions({ app: true }, {}).hook).toEqual({ kind: 'app' });
  });
});

describe('the doctor targets', () => {
  const stack = {
    status: 'UPDATE_COMPLETE',
    outputs: { ClusterName: 'runners', TaskDefinitionArn: 'arn:td:3', WebhookSecretArn: 'arn:w' },
    tags: { Env: 'prod' },
    alarmNames: ['a'],
  };

  it("takes the stack's outputs, with flags winning", () => {
    const targets = resolveTargets(parseDoctorOptions({ cluster: 'other' }, {}), stack);
    expect(targets).toMatchObject({
      cluster: 'other',
      taskDefinition: 'arn:td:3',
      webhookSecretArn: 'arn:w',
    });
  });

  it("renders the default group template for --org and the stack's Env tag", () => {
    const org = { ...stack, outputs: { ...stack.outputs, RunnerScope: 'org' } };
    expect(resolveTargets(parseDoctorOptions({ org: 'octo' }, {}), org).group).toBe('octo-prod');
    expect(resolveTargets(parseDoctorOptions({ org: 'octo', group: 'Default' }, {}), org).group).toBe(
      'Default',
    );
  });

  it("reads the stack's scope from its RunnerScope output, before --scope and the default (repo)", () => {
    const scoped = (scope: string) => ({ ...stack, outputs: { ...stack.outputs, RunnerScope: scope } });
    const options = parseDoctorOptions({ org: 'octo', scope: 'org' }, {});
    expect(resolveTargets(options, scoped('repo'))).toMatchObject({ scopeKind: 'repo', scopeFrom: 'stack' });
    expect(resolveTargets(options, stack)).toMatchObject({ scopeKind: 'org', scopeFrom: 'flag' });
    expect(resolveTargets(parseDoctorOptions({ org: 'octo' }, {}), stack)).toMatchObject({
      scopeKind: 'repo',
      scopeFrom: 'default',
      scope: undefined,
      group: undefined,
    });
  });

  it('registers repository runners where --repo says, and names no runner group for them', () => {
    const options = parseDoctorOptions({ repo: 'octo/app' }, {});
    expect(options).toMatchObject({ org: 'octo', repo: { owner: 'octo', repo: 'app' } });
    expect(resolveTargets(options, stack)).toMatchObject({
      scope: { kind: 'repo', owner: 'octo', repo: 'app' },
      group: undefined,
    });
  });

  it("renders a group template that names the repository with --repo, from the stack's output", () => {
    const perRepository = {
      ...stack,
      outputs: {
        ...stack.outputs,
        RunnerScope: 'org',
        RunnerGroupTemplate: '<detail_org>-<detail_repo_name>',
      },
    };
    expect(resolveTargets(parseDoctorOptions({ repo: 'octo/app' }, {}), perRepository).group).toBe(
      'octo-app',
    );
    expect(resolveTargets(parseDoctorOptions({ org: 'octo' }, {}), perRepository).group).toBeUndefined();
  });

  it('refuses a --repo that is not OWNER/NAME, outside --org, and an unknown --scope', () => {
    expect(problemsOf({ repo: 'app' })).toEqual([
      '--repo must be OWNER/NAME, a repository whose jobs the runners serve (got "app")',
    ]);
    expect(problemsOf({ repo: 'other/app', org: 'octo', scope: 'repository' })).toEqual([
      '--repo other/app is not in --org octo',
      '--scope must be repo, org, enterprise (got "repository")',
    ]);
  });
});
