/**
 * The stack in its other shapes: the seed's token registration, and the redelivery sweep once the
 * webhook's id is known (an organisation hook with JIT, a GitHub App's hook with token registration).
 * The default (JIT, no sweep) is in runner-stack.test.ts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { GITHUB_AUTH_SECRET_NAME } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import { expectedStatements } from '../support/expected-statements';
import {
  environmentOf,
  functionOf,
  hasFunction,
  idOf,
  only,
  statementsOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

const secretNames = (json: TemplateJson) =>
  Object.values(json.Resources)
    .filter((resource) => resource.Type === 'AWS::SecretsManager::Secret')
    .map((resource) => resource.Properties.Name)
    .sort();

const resourceIds = (json: TemplateJson, type: string) =>
  Object.entries(json.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);

function expectNagClean(report: ValidationReport) {
  const [plugin] = report.pluginReports;
  expect(plugin?.violations).toEqual([]);
  expect(plugin?.conclusion).toBe('success');
  for (const { acknowledgedId, reason } of plugin?.suppressedViolations ?? []) {
    expect(`${acknowledgedId}: ${reason}`).toMatch(/: .{40,}/);
  }
}

describe('registration=token (the seed)', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let expected: ReturnType<typeof expectedStatements>;

  beforeAll(async () => {
    ({ json, report } = await synthesize({ registration: 'token' }));
    expected = expectedStatements(json);
  });

  it('creates the registration-token secret and no GitHub credentials secret', () => {
    expect(secretNames(json)).toEqual([
      SEED.registrationTokenSecretName,
      'github-actions-runner-webhook-secret',
    ]);
  });

  it('gives the runner task the admin token from the registration-token secret', () => {
    const [container] = only(json, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as Array<
      Record<string, unknown>
    >;
    expect(container?.Secrets).toEqual([
      {
        Name: 'RUNNER_ADMIN_TOKEN',
        ValueFrom: { Ref: idOf(json, 'AWS::SecretsManager::Secret', 'RegistrationToken') },
      },
    ]);
  });

  it('lets the execution role read the registration token', () => {
    const [policy] = (json.Resources.TaskExecutionRole?.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    }>;
    expect(policy?.PolicyDocument.Statement.at(-1)).toEqual({
      Sid: 'RegistrationToken',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [{ Ref: idOf(json, 'AWS::SecretsManager::Secret', 'RegistrationToken') }],
    });
  });

  it('gives the webhook and the launcher no GitHub credentials', () => {
    for (const id of ['Webhook', 'Launcher']) {
      const variables = environmentOf(json, id);
      expect(variables.RUNNER_REGISTRATION).toBe('token');
      expect(variables.GITHUB_AUTH_SECRET_ARN).toBeUndefined();
    }
  });

  it('lets the webhook start tasks, read its secret and queue a job; nothing else (no stopping tasks)', () => {
    expect(statementsOf(json, 'Webhook')).toEqual([
      expected.logsStatement('Webhook'),
      ...expected.launchStatements(),
      ...expected.webhookStatements(),
      expected.describeRunnerTasks(),
      expected.useJobLedger(),
      expected.writeRunnerConfigs(),
    ]);
  });

  it('lets the launcher start tasks and consume the queue; no GitHub credentials', () => {
    const statements = statementsOf(json, 'Launcher');
    expect(statements.map((statement) => statement.Sid)).toEqual([
      undefined,
      'RunRunnerTasks',
      'TagRunnerTasksAtLaunch',
      'FindTheTaskOfAJob',
      'PassRunnerTaskRoles',
      'ConsumeOverflowJobs',
      'DescribeRunnerTasks',
      'UseJobLedger',
      'WriteRunnerConfigs',
    ]);
  });

  it('deploys no reconciler and no schedule: without GitHub credentials it cannot tell idle runners', () => {
    expect(hasFunction(json, 'Reconciler')).toBe(false);
    // Only the hook ranges refresh of the webhook's WAF, which needs no GitHub credentials.
    expect(resourceIds(json, 'AWS::Events::Rule')).toEqual([expect.stringMatching(/^HookRangesSchedule/)]);
  });

  it('still deploys the overflow queue and the launcher', () => {
    expect(hasFunction(json, 'Launcher')).toBe(true);
    expect(resourceIds(json, 'AWS::Lambda::EventSourceMapping')).toHaveLength(1);
  });

  it('outputs the registration-token secret, not the GitHub credentials secret', () => {
    expect(Object.keys(json.Outputs)).toContain('RegistrationTokenSecretArn');
    expect(Object.keys(json.Outputs).filter((key) => key.startsWith('GitHubAuth'))).toEqual([]);
  });

  it('has no unacknowledged cdk-nag finding, each acknowledgment with its reason', () => {
    expectNagClean(report);
  });
});

describe('the redelivery sweep of an organisation webhook (JIT)', () => {
  const apiUrl = 'https://github.example.com/api/v3';
  let json: TemplateJson;
  let report: ValidationReport;
  let expected: ReturnType<typeof expectedStatements>;

  beforeAll(async () => {
    ({ json, report } = await synthesize({
      githubOrg: 'octo-org',
      githubHookId: '123456',
      redeliverSince: '12h',
      redeliverMax: '20',
      githubApiUrl: apiUrl,
    }));
    expected = expectedStatements(json);
  });

  it('runs with the GitHub credentials, the hook and the sweep settings', () => {
    expect(environmentOf(json, 'Redeliver')).toEqual({
      GITHUB_AUTH_SECRET_ARN: expected.githubAuth(),
      GITHUB_ORG: 'octo-org',
      GITHUB_HOOK_ID: '123456',
      REDELIVER_SINCE: '12h',
      REDELIVER_MAX: '20',
      GITHUB_API_URL: apiUrl,
    });
  });

  it('may read the GitHub credentials; nothing else in AWS', () => {
    expect(statementsOf(json, 'Redeliver')).toEqual([
      expected.logsStatement('Redeliver'),
      expected.readGitHubCredentials(),
    ]);
  });

  it('runs every 5 minutes, finishes within them, and is not retried', () => {
    expect(json.Resources[idOf(json, 'AWS::Events::Rule', 'RedeliverSchedule')]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [{ Arn: { 'Fn::GetAtt': [functionOf(json, 'Redeliver').id, 'Arn'] } }],
    });
    expect(functionOf(json, 'Redeliver').Properties.Timeout).toBeLessThan(300);
    const invokeConfigs = resourceIds(json, 'AWS::Lambda::EventInvokeConfig').map(
      (id) => json.Resources[id]?.Properties,
    );
    expect(invokeConfigs).toContainEqual({
      FunctionName: { Ref: functionOf(json, 'Redeliver').id },
      MaximumRetryAttempts: 0,
      Qualifier: '$LATEST',
    });
  });

  it('alarms on its errors', () => {
    const alarmed = Object.values(json.Resources)
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map((resource) => JSON.stringify(resource.Properties.Dimensions));
    expect(alarmed).toContain(
      JSON.stringify([{ Name: 'FunctionName', Value: { Ref: functionOf(json, 'Redeliver').id } }]),
    );
  });

  it('points every function at the same GitHub API', () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler', 'Redeliver']) {
      expect(environmentOf(json, id).GITHUB_API_URL).toBe(apiUrl);
    }
  });

  it('has no unacknowledged cdk-nag finding, each acknowledgment with its reason', () => {
    expectNagClean(report);
  });
});

describe("the redelivery sweep of a GitHub App's webhook, with token registration", () => {
  let json: TemplateJson;
  let report: ValidationReport;

  beforeAll(async () => {
    ({ json, report } = await synthesize({
      registration: 'token',
      githubHook: 'app',
      allowedOrgs: 'octo-org',
    }));
  });

  it('creates the GitHub credentials secret for the sweep alone', () => {
    expect(secretNames(json)).toEqual([
      GITHUB_AUTH_SECRET_NAME,
      SEED.registrationTokenSecretName,
      'github-actions-runner-webhook-secret',
    ]);
    expect(environmentOf(json, 'Redeliver')).toEqual({
      GITHUB_AUTH_SECRET_ARN: { Ref: idOf(json, 'AWS::SecretsManager::Secret', 'GitHubAuth') },
      GITHUB_HOOK: 'app',
    });
    for (const id of ['Webhook', 'Launcher'])
      expect(environmentOf(json, id).GITHUB_AUTH_SECRET_ARN).toBeUndefined();
    expect(hasFunction(json, 'Reconciler')).toBe(false);
  });

  it('outputs both secrets', () => {
    expect(Object.keys(json.Outputs)).toEqual(
      expect.arrayContaining([
        'RegistrationTokenSecretArn',
        'GitHubAuthSecretArn',
        'GitHubAuthSecretCommand',
      ]),
    );
  });

  it('has no unacknowledged cdk-nag finding, each acknowledgment with its reason', () => {
    expectNagClean(report);
  });
});
