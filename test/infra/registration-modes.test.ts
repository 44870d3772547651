/**
 * The stack in its other shapes: token registration, and the redelivery sweep once the
 * webhook's id is known (an organisation hook with JIT, a GitHub App's hook with token registration).
 * The default (JIT, no sweep) is in runner-stack.test.ts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stackNames } from '../../infra/resource-names';
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

/** The stack's names: from its name (GitHubRunners) and region (the seed's, us-east-1). */
const NAMES = stackNames('githubrunners', SEED.region);

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

describe('registration=token', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let expected: ReturnType<typeof expectedStatements>;
  const seedSecret = () => ({ Ref: idOf(json, 'AWS::SecretsManager::Secret', 'RegistrationToken') });

  beforeAll(async () => {
    ({ json, report } = await synthesize({ registration: 'token' }));
    expected = expectedStatements(json);
  });

  it("keeps the seed's registration-token secret, and creates no other GitHub credentials secret", () => {
    expect(secretNames(json)).toEqual([
      NAMES.registrationTokenSecretName,
      NAMES.setupSecretName,
      NAMES.webhookSecretName,
    ]);
  });

  it('gives the runner task no secret: the function hands it a registration token in its environment file', () => {
    const [container] = only(json, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as Array<
      Record<string, unknown>
    >;
    expect(container?.Secrets).toBeUndefined();
  });

  it('lets the execution role read no secret', () => {
    const [policy] = (json.Resources.TaskExecutionRole?.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    }>;
    expect(policy?.PolicyDocument.Statement.map((statement) => statement.Sid)).toEqual([
      'EcrAuthorization',
      'PullRunnerImage',
      'RunnerLogs',
    ]);
  });

  it("gives the webhook, the launcher and the reconciler the seed's secret as their GitHub credentials", () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      const variables = environmentOf(json, id);
      expect(variables.RUNNER_REGISTRATION).toBe('token');
      expect(variables.GITHUB_AUTH_SECRET_ARN).toEqual(seedSecret());
    }
  });

  it('lets the webhook start and stop tasks, read its secrets, queue a job and ask for instances', () => {
    expect(statementsOf(json, 'Webhook')).toEqual([
      expected.logsStatement('Webhook'),
      ...expected.launchStatements(),
      ...expected.webhookStatements(),
      expected.describeRunnerTasks(),
      expected.useJobLedger(),
      expected.writeRunnerConfigs(),
      expected.readGitHubCredentials('RegistrationToken'),
      expected.stopRunnerTasks(),
      expected.useInstanceLedger(),
      expected.askForInstances(),
    ]);
  });

  it('lets the launcher start tasks, consume the queue, read the GitHub credentials and ask for instances', () => {
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
      'ReadGitHubCredentials',
      'UseInstanceLedger',
      'AskForInstances',
    ]);
  });

  it('deploys the reconciler every minute: it deletes each config once its task runs', () => {
    expect(hasFunction(json, 'Reconciler')).toBe(true);
    expect(statementsOf(json, 'Reconciler')).toContainEqual(
      expected.readGitHubCredentials('RegistrationToken'),
    );
    // The reconciler's schedule, the hook ranges refresh of the webhook's WAF, and the capacity
    // function's schedule and its three event rules (owned capacity), besides the image's rules.
    expect(resourceIds(json, 'AWS::Events::Rule').filter((id) => !id.startsWith('Image'))).toHaveLength(6);
  });

  it('still deploys the overflow queue and the launcher', () => {
    expect(hasFunction(json, 'Launcher')).toBe(true);
    // The launcher's, and owned capacity's capacity function's.
    expect(resourceIds(json, 'AWS::Lambda::EventSourceMapping')).toHaveLength(2);
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

  it('creates the GitHub credentials secret for the sweep and the launching functions', () => {
    expect(secretNames(json)).toEqual([
      NAMES.githubAuthSecretName,
      NAMES.registrationTokenSecretName,
      NAMES.setupSecretName,
      NAMES.webhookSecretName,
    ]);
    expect(environmentOf(json, 'Redeliver')).toEqual({
      GITHUB_AUTH_SECRET_ARN: { Ref: idOf(json, 'AWS::SecretsManager::Secret', 'GitHubAuth') },
      GITHUB_HOOK: 'app',
    });
    // The functions launch with the sweep's credentials: no task reads the seed's admin token.
    for (const id of ['Webhook', 'Launcher', 'Reconciler'])
      expect(environmentOf(json, id).GITHUB_AUTH_SECRET_ARN).toEqual({
        Ref: idOf(json, 'AWS::SecretsManager::Secret', 'GitHubAuth'),
      });
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
