/** Context settings, an existing cluster, and `npm run infra:render` against the seed's documents. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { stackNames } from '../../infra/resource-names';
import { createRunnerApp, readSettingsFile } from '../../infra/runner-app';
import { SEED_FILES, SEED_TASK_ROLE_POLICY } from '../../infra/seed-documents';
import { DEFAULT_IMAGE_TAG, readSettings, SettingsError } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import { environmentOf, standInDist, synthesize } from '../support/synth-stack';

const fromContext = (context: Record<string, unknown>) => readSettings((key) => context[key], {});

describe('settings', () => {
  it("defaults to names of the stack's own, the seed's region and environment", () => {
    const settings = fromContext({});
    const { targetEnv, region } = SEED;
    expect(settings.names).toEqual(stackNames('githubrunners', region));
    expect([settings.region, settings.targetEnv, settings.cpu, settings.memoryMiB]).toEqual([
      region,
      targetEnv,
      2048,
      3584,
    ]);
    expect(settings.capacity).toEqual({
      kind: 'new',
      mode: 'owned',
      maxInstancesTotal: 200,
      instanceTypes: ['t3.medium'],
      minCapacity: 0,
      maxCapacity: 10,
      rootVolumeGiB: 50,
      vpcId: undefined,
    });
    // JIT registration has GitHub credentials: the redelivery sweep is on, with no hook named.
    expect([settings.registration, settings.overflowMaxReceiveCount, settings.redeliverEnvironment]).toEqual([
      'jit',
      10,
      {},
    ]);
  });

  it('reads -c strings: lists, numbers and JSON', () => {
    const settings = fromContext({
      instanceTypes: 'm7g.large, c7g.large',
      maxCapacity: '4',
      tags: '{"Team":"platform"}',
      allowedOrgs: 'octo-org',
      taskRolePolicy:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}',
    });
    expect(settings.capacity).toMatchObject({ instanceTypes: ['m7g.large', 'c7g.large'], maxCapacity: 4 });
    expect(settings.tags).toEqual({ Team: 'platform' });
    expect(settings.webhookEnvironment).toEqual({ ALLOWED_ORGS: 'octo-org' });
    expect(settings.taskRolePolicy?.Statement[0]?.Action).toBe('s3:GetObject');
  });

  it('reports every problem of the context at once', () => {
    let message = '';
    try {
      fromContext({
        cpu: 'lots',
        logRetentionDays: 10,
        clusterName: 'runners',
        tags: '["not", "an", "object"]',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const problem of [
      'cpu must be a whole number from 128 to 196608 (got "lots")',
      'clusterName and capacityProviderName go together',
      'logRetentionDays must be one of 1, 3, 5, 7, 14, 30,',
      'tags must be an object of string tag values',
    ]) {
      expect(message).toContain(problem);
    }
  });

  it('passes the GitHub settings to the functions and reads the redelivery hook', () => {
    const settings = fromContext({
      registration: 'token',
      githubApiUrl: 'https://github.example.com/api/v3',
      runnerGroupCreate: true,
      runnerGroupPublic: 'false',
      jobQueuedCheckAfter: 45,
      runnerIdleTimeout: '600',
      overflowMaxReceiveCount: '5',
      githubOrg: 'octo-org',
      githubHookId: '123456',
      redeliverSince: '12h',
      redeliverMax: '20',
    });
    expect(settings.registration).toBe('token');
    expect(settings.overflowMaxReceiveCount).toBe(5);
    expect(settings.webhookEnvironment).toEqual({
      GITHUB_API_URL: 'https://github.example.com/api/v3',
      RUNNER_GROUP_CREATE: 'true',
      RUNNER_GROUP_PUBLIC: 'false',
      JOB_QUEUED_CHECK_AFTER: '45',
      RUNNER_IDLE_TIMEOUT: '600',
    });
    expect(settings.redeliverEnvironment).toEqual({
      GITHUB_ORG: 'octo-org',
      GITHUB_HOOK_ID: '123456',
      REDELIVER_SINCE: '12h',
      REDELIVER_MAX: '20',
      GITHUB_API_URL: 'https://github.example.com/api/v3',
    });
  });

  it("sweeps the GitHub App's hook with githubHook=app", () => {
    const settings = fromContext({ githubHook: 'app', allowedOrgs: 'octo-org', logLevel: 'DEBUG' });
    expect(settings.redeliverEnvironment).toEqual({ GITHUB_HOOK: 'app', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    expect(settings.webhookEnvironment).toMatchObject({ GITHUB_HOOK: 'app', ALLOWED_ORGS: 'octo-org' });
  });

  it('refuses githubHook=app without allowedOrgs: the App would serve any organisation that installs it', () => {
    expect(() => fromContext({ githubHook: 'app' })).toThrow(
      'githubHook=app needs allowedOrgs: a GitHub App webhook with no ALLOWED_ORGS serves any organisation that installs the App',
    );
  });

  it('deploys no redelivery sweep with redeliver=false, even with its hook set', () => {
    expect(
      fromContext({ githubOrg: 'octo-org', githubHookId: '1', redeliver: 'false' }).redeliverEnvironment,
    ).toBeUndefined();
  });

  it('passes the allowed webhook sources to the webhook, from a comma list or a JSON array', () => {
    for (const value of ['192.30.252.0/22, 2a0a:a440::/29', '["192.30.252.0/22","2a0a:a440::/29"]']) {
      expect(fromContext({ webhookAllowedCidrs: value }).webhookEnvironment.WEBHOOK_ALLOWED_CIDRS).toBe(
        '192.30.252.0/22,2a0a:a440::/29',
      );
    }
    expect(() => fromContext({ webhookAllowedCidrs: '192.30.252.0/33,github.com' })).toThrow(
      'webhookAllowedCidrs must be IPv4 or IPv6 CIDRs (got "192.30.252.0/33", "github.com")',
    );
  });

  it("refuses imageTag=latest and defaults to the image's runner version", () => {
    expect(fromContext({}).imageTag).toBe(DEFAULT_IMAGE_TAG);
    expect(DEFAULT_IMAGE_TAG).toMatch(/^\d+\.\d+\.\d+$/);
    expect(() => fromContext({ imageTag: 'latest' })).toThrow('imageTag must name one build');
  });

  it("gives the task role no policy unless asked: the seed's with taskRoleSeedPolicy=true", () => {
    expect(fromContext({}).taskRolePolicy).toBeUndefined();
    expect(fromContext({ taskRoleSeedPolicy: 'true' }).taskRolePolicy).toEqual(SEED_TASK_ROLE_POLICY);
    expect(() => fromContext({ taskRoleSeedPolicy: 'yes' })).toThrow(
      'taskRoleSeedPolicy must be true or false',
    );
  });

  it("sweeps with no hook named for githubOrg alone (the webhook id exists only after the first deploy): the App's own hook", () => {
    expect(fromContext({ githubOrg: 'octo-org', redeliverMax: '20' }).redeliverEnvironment).toEqual({
      REDELIVER_MAX: '20',
    });
  });

  it('deploys no redelivery sweep with token registration and no hook: the stack has no GitHub credentials', () => {
    expect(fromContext({ registration: 'token' }).redeliverEnvironment).toBeUndefined();
    expect(
      fromContext({ registration: 'token', githubHook: 'app', allowedOrgs: 'octo-org' }).redeliverEnvironment,
    ).toEqual({
      GITHUB_HOOK: 'app',
    });
  });

  it("puts GitHub's hook ranges in front of the webhook on github.com, the operator's list when given, any source on GHES without one", () => {
    expect(fromContext({}).webhookFirewall).toEqual({ sources: { kind: 'github' }, rateLimit: 3000 });
    expect(
      fromContext({ webhookAllowedCidrs: '203.0.113.0/24', webhookRateLimit: '500' }).webhookFirewall,
    ).toEqual({
      sources: { kind: 'cidrs', cidrs: ['203.0.113.0/24'] },
      rateLimit: 500,
    });
    expect(fromContext({ githubApiUrl: 'https://ghe.example.com/api/v3' }).webhookFirewall.sources).toEqual({
      kind: 'any',
    });
    expect(() => fromContext({ webhookRateLimit: '5' })).toThrow('webhookRateLimit');
  });

  it('reports wrong registration and hook settings at once', () => {
    expect(() => fromContext({ registration: 'pat', githubHook: 'org', githubHookId: 'abc' })).toThrow(
      SettingsError,
    );
    let message = '';
    try {
      fromContext({
        registration: 'pat',
        githubHook: 'org',
        githubHookId: 'abc',
        overflowMaxReceiveCount: 0,
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const problem of [
      'registration must be jit or token (got "pat")',
      'githubHook must be app',
      'set githubHook=app or githubOrg + githubHookId, not both',
      'githubHookId must be the webhook\'s numeric id (got "abc")',
      'githubHookId needs githubOrg',
      'overflowMaxReceiveCount must be a whole number from 1 to 1000',
    ]) {
      expect(message).toContain(problem);
    }
  });

  it("fails the synth on a webhook setting the webhook's own configuration check refuses", async () => {
    const distDir = await standInDist();
    expect(() =>
      createRunnerApp({ context: { runnerLabelsTemplate: '<no_such_variable>' }, env: {}, distDir }),
    ).toThrow(/webhook settings in the CDK context: invalid configuration:[\s\S]*RUNNER_LABELS_TEMPLATE/);
  });

  it("fails the synth on a sweep setting the redelivery sweep's own check refuses", async () => {
    const distDir = await standInDist();
    expect(() =>
      createRunnerApp({
        context: { githubOrg: 'octo-org', githubHookId: '1', redeliverSince: 'yesterday' },
        env: {},
        distDir,
      }),
    ).toThrow(/redeliver settings in the CDK context: [\s\S]*REDELIVER_SINCE/);
  });

  it("fails the synth on a runnerIdleTimeout the functions' configuration check refuses", async () => {
    const distDir = await standInDist();
    expect(() => createRunnerApp({ context: { runnerIdleTimeout: '10' }, env: {}, distDir })).toThrow(
      /webhook settings in the CDK context: [\s\S]*RUNNER_IDLE_TIMEOUT must be a whole number of seconds, at least 60/,
    );
  });
});

it('refuses an existing cluster unless its unblocked instance metadata is accepted: the runner is privileged', () => {
  expect(() => fromContext({ clusterName: 'runners', capacityProviderName: 'runners-ec2' })).toThrow(
    /clusterName: this stack blocks the instance metadata from tasks only on the instances it launches[\s\S]*existingClusterUnblockedMetadata=true/,
  );
});

it('uses an existing cluster and capacity provider by name', async () => {
  const { json, report } = await synthesize({
    clusterName: 'runners',
    capacityProviderName: 'runners-ec2',
    existingClusterUnblockedMetadata: 'true',
  });
  expect(Object.values(json.Resources).map((resource) => resource.Type)).not.toContain('AWS::ECS::Cluster');
  expect(Object.values(json.Resources).map((resource) => resource.Type)).not.toContain(
    'AWS::AutoScaling::AutoScalingGroup',
  );
  for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
    const variables = environmentOf(json, id);
    expect([variables.ECS_CLUSTER, variables.ECS_CAPACITY_PROVIDER]).toEqual(['runners', 'runners-ec2']);
  }
  expect(report.pluginReports[0]?.violations).toEqual([]);
});

describe('npm run infra:render', () => {
  const seedFile = async (name: string) =>
    JSON.parse(await readFile(join('test/fixtures/seed', name), 'utf8'));
  let out: string;
  let stdout: string;

  it('writes the five seed documents and the commands that register them', async () => {
    out = await mkdtemp(join(tmpdir(), 'seed-'));
    ({ stdout } = await promisify(execFile)('node_modules/.bin/tsx', [
      'infra/render-seed.ts',
      '--account',
      '123456789012',
      '--region',
      SEED.region,
      '--out',
      out,
    ]));
    expect(stdout).toContain(
      `ecs register-task-definition --cli-input-json file://${out}/${SEED_FILES.taskDefinition}`,
    );
    const definition = JSON.parse(await readFile(join(out, SEED_FILES.taskDefinition), 'utf8'));
    expect(definition.containerDefinitions[0].image).toBe(
      `123456789012.dkr.ecr.${SEED.region}.amazonaws.com/${stackNames('githubrunners', SEED.region).imageRepositoryName}:${DEFAULT_IMAGE_TAG}`,
    );
  });

  it("keeps the seed's trust policies but for the confused-deputy conditions (and the empty Sid)", async () => {
    for (const name of [SEED_FILES.taskRoleTrustPolicy, SEED_FILES.taskExecutionRoleTrustPolicy]) {
      const [seed, rendered] = [await seedFile(name), JSON.parse(await readFile(join(out, name), 'utf8'))];
      const { Sid, ...seedStatement } = seed.Statement[0];
      const { Condition, ...renderedStatement } = rendered.Statement[0];
      expect(Sid).toBe('');
      expect(renderedStatement).toEqual(seedStatement);
      expect(Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': `arn:aws:ecs:${SEED.region}:123456789012:*` },
      });
    }
  });

  it("keeps the seed's task role policy", async () => {
    const name = SEED_FILES.taskRolePolicy;
    expect(JSON.parse(await readFile(join(out, name), 'utf8'))).toEqual(await seedFile(name));
  });

  it("grants every action of the seed's execution policy but reading the admin token, scoped to the runner's resources", async () => {
    const name = SEED_FILES.taskExecutionRolePolicy;
    const actions = (document: { Statement: Array<{ Action: string[] }> }) =>
      document.Statement.flatMap((statement) => statement.Action).sort();
    const rendered = JSON.parse(await readFile(join(out, name), 'utf8'));
    // No task reads the registration-token secret: the functions do.
    expect(actions(rendered)).toEqual(
      actions(await seedFile(name)).filter((action) => action !== 'secretsmanager:GetSecretValue'),
    );
    const wildcards = rendered.Statement.filter(
      (statement: { Resource: unknown }) => statement.Resource === '*',
    );
    expect(wildcards.map((statement: { Action: string[] }) => statement.Action)).toEqual([
      ['ecr:GetAuthorizationToken'],
    ]);
    expect(JSON.stringify(rendered)).not.toContain(
      stackNames('githubrunners', SEED.region).registrationTokenSecretName,
    );
  });
});

describe('the settings file', () => {
  const write = async (content: string) => {
    const path = join(await mkdtemp(join(tmpdir(), 'settings-')), 'runners.config.json');
    await writeFile(path, content);
    return path;
  };

  it('is read under the -c context: -c wins, the file fills the rest', async () => {
    const settingsFile = await write(
      '{"targetEnv": "from-file", "maxCapacity": 4, "allowedOrgs": "octo-org"}',
    );
    const { settings } = createRunnerApp({
      context: { targetEnv: 'from-c' },
      env: {},
      distDir: await standInDist(),
      settingsFile,
    });
    expect(settings.targetEnv).toBe('from-c');
    expect(settings.capacity).toMatchObject({ maxCapacity: 4 });
    expect(settings.webhookEnvironment.ALLOWED_ORGS).toBe('octo-org');
  });

  it('is another file with the settingsFile context key, which must then exist', async () => {
    const settingsFile = await write('{"targetEnv": "named"}');
    const distDir = await standInDist();
    expect(createRunnerApp({ context: { settingsFile }, env: {}, distDir }).settings.targetEnv).toBe('named');
    expect(() =>
      createRunnerApp({ context: { settingsFile: '/nonexistent/runners.json' }, env: {}, distDir }),
    ).toThrow('settingsFile /nonexistent/runners.json does not exist');
  });

  it('may be absent: no settings', () => {
    expect(readSettingsFile('/nonexistent/runners.config.json', false)).toEqual({});
  });

  it('refuses unknown keys and anything but a JSON object', async () => {
    expect(() => readSettingsFile(writeSync('{"targetEnvv": "x"}'), false)).toThrow(
      'runners.config.json: key "targetEnvv" is no setting; did you mean targetEnv?',
    );
    expect(() => readSettingsFile(writeSync('[1]'), false)).toThrow('must hold one JSON object');
    expect(() => readSettingsFile(writeSync('{'), false)).toThrow('is not JSON');
  });

  it('has a committed example that the app accepts', () => {
    const example = readSettingsFile('runners.config.example.json', true);
    expect(() => readSettings((key) => example[key], {})).not.toThrow();
    expect(readFileSync('.gitignore', 'utf8').split('\n')).toContain('runners.config.json');
  });
});

/** A settings file written synchronously, for the checks that need no app. */
function writeSync(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'settings-')), 'runners.config.json');
  writeFileSync(path, content);
  return path;
}
