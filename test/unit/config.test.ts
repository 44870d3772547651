import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';

const minimal = { WEBHOOK_SECRET: 's3cret', ECS_CLUSTER: 'runners' };

describe('parseConfig', () => {
  it('reproduces the seed with only a secret and a cluster', () => {
    const config = parseConfig(minimal);
    expect(config.ecs).toEqual({
      cluster: 'runners',
      taskDefinition: 'github-actions-self-hosted-runner-debian-task',
      containerName: 'github-actions-self-hosted-runner-debian-container',
      capacityProvider: undefined,
      subnets: [],
      securityGroups: [],
      assignPublicIp: false,
    });
    expect(config.targetEnv).toBe('sandpit');
    expect(config.scope).toBe('org');
    expect(config.templates.labels).toEqual([
      '<detail_org>-<target_env>-<detail_repo_name>-<wf_job_run_id>-<wf_job_run_attempt>',
    ]);
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
    expect(problems).toContain('WEBHOOK_SECRET_ARN');
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
    expect(parseConfig({ ...minimal, WEBHOOK_SECRET_PREVIOUS: 'old' }).webhookSecret).toEqual({
      kind: 'plain',
      secrets: ['s3cret', 'old'],
    });
  });

  it('takes the secret from Secrets Manager when an ARN is given', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf';
    expect(parseConfig({ WEBHOOK_SECRET_ARN: arn, ECS_CLUSTER: 'c' }).webhookSecret).toEqual({
      kind: 'secrets-manager',
      arn,
    });
  });

  it('refuses both a plain secret and an ARN', () => {
    expect(() => parseConfig({ ...minimal, WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:x' })).toThrow(
      /not both/,
    );
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

  it('refuses a template with an unknown variable at cold start', () => {
    expect(() => parseConfig({ ...minimal, RUNNER_NAME_TEMPLATE: '<org>-x' })).toThrow(
      /RUNNER_NAME_TEMPLATE: unknown variable <org>/,
    );
  });

  it('refuses security groups without subnets', () => {
    expect(() => parseConfig({ ...minimal, ECS_SECURITY_GROUPS: 'sg-1' })).toThrow(/needs ECS_SUBNETS/);
  });
});
