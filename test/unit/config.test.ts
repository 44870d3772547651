import { describe, expect, it } from '@jest/globals';
import { parseConfig, readWebhookSecretSetting } from '../../shared/config';
import { ConfigError } from '../../shared/errors';

const minimal = {
  WEBHOOK_SECRET: 's3cret',
  ECS_CLUSTER: 'runners',
  GITHUB_TOKEN: 'ghp_test',
  RUNNER_CONFIG_BUCKET: 'github-runners-config',
};

describe('parseConfig', () => {
  it('reproduces the seed with only a secret, a cluster, GitHub credentials and the config bucket', () => {
    const config = parseConfig(minimal);
    expect(config.ecs).toEqual({
      cluster: 'runners',
      subnets: [],
      securityGroups: [],
      assignPublicIp: false,
    });
    expect(config.profiles).toEqual([
      {
        name: 'default',
        labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>'],
        taskDefinition: 'github-actions-self-hosted-runner-debian-task',
        containerName: 'github-actions-self-hosted-runner-debian-container',
        capacityProviderStrategy: undefined,
        cpu: undefined,
        memory: undefined,
        distinctInstance: true,
        publicRepositories: false,
      },
    ]);
    expect(config.targetEnv).toBe('sandpit');
    expect(config.publicRepositoriesAllowed).toEqual([]);
    expect(config.internalRepositoriesTrusted).toBe(false);
    expect(config.runnerGroupShared).toBe(false);
    expect(config.scope).toBe('repo');
    expect(config.registration).toBe('jit');
    expect(config.jobsTable).toBeUndefined();
    expect(config.templates.group).toBe('<detail_org>-<target_env>');
    expect(config.dryRun).toBe(false);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseConfig(minimal))).toBe(true);
  });

  it('reports every problem in one error', () => {
    let error: unknown;
    try {
      parseConfig({
        RUNNER_SCOPE: 'team',
        TARGET_ENV: 'prod env',
        LAUNCH_DEADLINE_MS: '20000',
        DRY_RUN: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('ECS_CLUSTER is required');
    expect(problems).toContain('RUNNER_SCOPE must be one of org, repo, enterprise');
    expect(problems).toContain('TARGET_ENV');
    expect(problems).toContain('LAUNCH_DEADLINE_MS');
    expect(problems).toContain('DRY_RUN must be true or false');
  });

  it('needs no cluster in a dry run', () => {
    expect(parseConfig({ WEBHOOK_SECRET: 's', DRY_RUN: 'true' }).dryRun).toBe(true);
  });

  it('keeps the previous secret after the current one for rotation', () => {
    expect(readWebhookSecretSetting({ ...minimal, WEBHOOK_SECRET_PREVIOUS: 'old' }, [])).toEqual({
      kind: 'plain',
      secrets: ['s3cret', 'old'],
    });
  });

  it('takes the secret from Secrets Manager when an ARN is given', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf';
    expect(readWebhookSecretSetting({ WEBHOOK_SECRET_ARN: arn, ECS_CLUSTER: 'c' }, [])).toEqual({
      kind: 'secrets-manager',
      arn,
    });
  });

  it('refuses both a plain secret and an ARN', () => {
    const problems: string[] = [];
    readWebhookSecretSetting({ ...minimal, WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:x' }, problems);
    expect(problems.join('\n')).toMatch(/not both/);
  });

  it('refuses a GitHub App webhook without ALLOWED_ORGS: it would serve any organisation', () => {
    expect(() => parseConfig({ ...minimal, GITHUB_HOOK: 'app' })).toThrow(
      /GITHUB_HOOK=app needs ALLOWED_ORGS/,
    );
    expect(parseConfig({ ...minimal, GITHUB_HOOK: 'app', ALLOWED_ORGS: 'octo-org' }).githubHook).toBe('app');
  });

  it('refuses JIT registration without the bucket its config travels through', () => {
    const { RUNNER_CONFIG_BUCKET: _, ...withoutBucket } = minimal;
    expect(() => parseConfig(withoutBucket)).toThrow(/RUNNER_CONFIG_BUCKET/);
    expect(
      parseConfig({ ...minimal, GITHUB_TOKEN: 'ghp_x', RUNNER_CONFIG_BUCKET: 'runner-config' }).registration,
    ).toBe('jit');
  });

  it('shows the JIT path in a dry run without credentials or a bucket', () => {
    expect(parseConfig({ DRY_RUN: 'true' }).registration).toBe('jit');
  });

  it('lists every problem of RUNNER_PROFILES at cold start', () => {
    let error: unknown;
    try {
      parseConfig({
        ...minimal,
        RUNNER_PROFILES: JSON.stringify([
          { name: 'Large', labels: ['large'] },
          { name: 'x', labels: [], cpu: 'big' },
          { name: 'x', labels: ['<nope>'], capacityProviderStrategy: [{ weight: 1 }] },
        ]),
      });
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('RUNNER_PROFILES[0].name must match [a-z0-9-]{1,32}');
    expect(problems).toContain('RUNNER_PROFILES[1].labels must be a non-empty array');
    expect(problems).toContain('RUNNER_PROFILES[1].cpu must be a whole number');
    expect(problems).toContain('RUNNER_PROFILES[2].name "x" is used twice');
    expect(problems).toContain('RUNNER_PROFILES[2].labels "<nope>": unknown variable');
    expect(problems).toContain('RUNNER_PROFILES[2].capacityProviderStrategy');
    expect(() => parseConfig({ ...minimal, RUNNER_PROFILES: '{' })).toThrow(/JSON array/);
  });

  it('reads comma lists, trimming blanks and lower-casing allow-lists', () => {
    const config = parseConfig({
      ...minimal,
      ALLOWED_ORGS: ' Octo-Org, ,other ',
      ALLOWED_REPOS: 'Octo-Org/Repo',
      ECS_SUBNETS: 'subnet-1,subnet-2',
      ECS_SECURITY_GROUPS: 'sg-1',
      RUNNER_LABELS_TEMPLATE: '<detail_org>-<target_env>,gpu',
    });
    expect(config.allowedOrgs).toEqual(['octo-org', 'other']);
    expect(config.allowedRepos).toEqual(['octo-org/repo']);
    expect(config.ecs.subnets).toEqual(['subnet-1', 'subnet-2']);
    expect(config.templates.labels).toEqual(['<detail_org>-<target_env>', 'gpu']);
  });

  it("reads the public repositories opted in, lower-cased, and each profile's own opt-in", () => {
    const config = parseConfig({
      ...minimal,
      PUBLIC_REPOSITORIES_ALLOWED: 'Octo-Org/Site, octo-org/docs',
      INTERNAL_REPOSITORIES_TRUSTED: 'true',
      RUNNER_PROFILES: JSON.stringify([
        { name: 'open', labels: ['open'], publicRepositories: true },
        { name: 'closed', labels: ['closed'] },
      ]),
    });
    expect(config.publicRepositoriesAllowed).toEqual(['octo-org/site', 'octo-org/docs']);
    expect(config.internalRepositoriesTrusted).toBe(true);
    expect(config.profiles.map((p) => p.publicRepositories)).toEqual([true, false]);
  });

  it('reports malformed public repository settings together with the other problems', () => {
    let error: unknown;
    try {
      parseConfig({
        ...minimal,
        PUBLIC_REPOSITORIES_ALLOWED: 'site',
        INTERNAL_REPOSITORIES_TRUSTED: 'yes',
        RUNNER_GROUP_SHARED: 'sure',
        RUNNER_PROFILES: JSON.stringify([{ name: 'open', labels: ['open'], publicRepositories: 'yes' }]),
      });
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PUBLIC_REPOSITORIES_ALLOWED entries are owner/name (got "site")');
    expect(problems).toContain('INTERNAL_REPOSITORIES_TRUSTED must be true or false');
    expect(problems).toContain('RUNNER_GROUP_SHARED must be true or false');
    expect(problems).toContain('RUNNER_PROFILES[0].publicRepositories must be true or false');
  });

  it('refuses a TARGET_ENV that starts with a dash', () => {
    expect(() => parseConfig({ ...minimal, TARGET_ENV: '-prod' })).toThrow(/TARGET_ENV/);
  });

  it('refuses a template with an unknown variable at cold start', () => {
    expect(() => parseConfig({ ...minimal, RUNNER_NAME_TEMPLATE: '<org>-x' })).toThrow(
      /RUNNER_NAME_TEMPLATE: unknown variable <org>/,
    );
  });

  it('refuses security groups without subnets', () => {
    expect(() => parseConfig({ ...minimal, ECS_SECURITY_GROUPS: 'sg-1' })).toThrow(/needs ECS_SUBNETS/);
  });
});
