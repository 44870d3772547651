/**
 * What credential reaches a runner task, in every shape of the stack (JIT, token registration,
 * organisation scope, a GitHub App's webhook): never a long-lived GitHub token, and the configs
 * bucket takes config writes from the functions alone. Each shape passes cdk-nag.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  environmentOf,
  functionOf,
  only,
  statementsOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

const VARIANTS: ReadonlyArray<[string, Record<string, unknown>]> = [
  ['JIT registration', {}],
  ['token registration', { registration: 'token' }],
  ['organisation scope', { runnerScope: 'org' }],
  ["a GitHub App's webhook", { githubHook: 'app', allowedOrgs: 'octo-org' }],
];

type Statement = Record<string, unknown>;
const bucketStatements = (json: TemplateJson) =>
  (only(json, 'AWS::S3::BucketPolicy').Properties.PolicyDocument as { Statement: Statement[] }).Statement;
const roleArnOf = (json: TemplateJson, id: string) => functionOf(json, id).Properties.Role;

describe.each(VARIANTS)('with %s', (_, context) => {
  let json: TemplateJson;
  let report: ValidationReport;

  beforeAll(async () => {
    ({ json, report } = await synthesize(context));
  });

  it('gives the runner container no secret: no admin token in any task definition', () => {
    const definitions = Object.values(json.Resources).filter((r) => r.Type === 'AWS::ECS::TaskDefinition');
    expect(definitions.length).toBeGreaterThan(0);
    for (const definition of definitions) {
      for (const container of definition.Properties.ContainerDefinitions as Array<Record<string, unknown>>) {
        expect(container.Secrets).toBeUndefined();
        expect(JSON.stringify(container)).not.toContain('RUNNER_ADMIN_TOKEN');
      }
    }
  });

  it('lets the task execution role read no secret', () => {
    expect(JSON.stringify(json.Resources.TaskExecutionRole?.Properties)).not.toContain('secretsmanager');
  });

  it('refuses config writes by every principal but the functions that launch runners', () => {
    const arn = { 'Fn::GetAtt': [only(json, 'AWS::S3::Bucket').id, 'Arn'] };
    expect(bucketStatements(json)).toContainEqual({
      Sid: 'OnlyTheFunctionsWriteConfigs',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', [arn, '/runner-config/*']] },
      Condition: {
        ArnNotEquals: {
          'aws:PrincipalArn': ['Webhook', 'Launcher', 'Reconciler', 'Capacity'].map((id) =>
            roleArnOf(json, id),
          ),
        },
      },
    });
  });

  it('refuses config reads by every principal but the task execution role', () => {
    expect(bucketStatements(json)).toContainEqual(
      expect.objectContaining({
        Sid: 'OnlyTheTaskExecutionRoleReadsConfigs',
        Effect: 'Deny',
        Action: 's3:GetObject',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] } } },
      }),
    );
  });

  it('keeps the lifecycle rule as the backstop: a config the reconciler did not delete expires in a day', () => {
    expect(only(json, 'AWS::S3::Bucket').Properties.LifecycleConfiguration).toEqual({
      Rules: [expect.objectContaining({ ExpirationInDays: 1, Status: 'Enabled' })],
    });
  });

  it('lets the capacity function read the GitHub credentials the other functions read, and no other secret', () => {
    const credentials = environmentOf(json, 'Webhook').GITHUB_AUTH_SECRET_ARN;
    expect(environmentOf(json, 'Capacity').GITHUB_AUTH_SECRET_ARN).toEqual(credentials);
    expect(
      statementsOf(json, 'Capacity').filter((statement) =>
        JSON.stringify(statement.Action).includes('secretsmanager:'),
      ),
    ).toEqual([
      {
        Sid: 'ReadGitHubCredentials',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: credentials,
      },
    ]);
  });

  it('has no unacknowledged cdk-nag finding, owned capacity included', () => {
    const [plugin] = report.pluginReports;
    expect(plugin?.violations).toEqual([]);
    expect(plugin?.conclusion).toBe('success');
  });
});
