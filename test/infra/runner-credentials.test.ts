/**
 * What credential reaches a runner task, in every shape of the stack (test/support/stack-variants.ts):
 * never a long-lived GitHub token, no AWS permission for job code, and the configs bucket takes
 * config writes from the functions alone.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { STACK_VARIANTS, synthesizeVariant } from '../support/stack-variants';
import {
  environmentOf,
  functionOf,
  only,
  statementsOf,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

type Statement = Record<string, unknown>;
const bucketStatements = (json: TemplateJson) =>
  (only(json, 'AWS::S3::BucketPolicy').Properties.PolicyDocument as { Statement: Statement[] }).Statement;
const roleArnOf = (json: TemplateJson, id: string) => functionOf(json, id).Properties.Role;

describe.each(STACK_VARIANTS)('with %s', (_, context) => {
  let json: TemplateJson;
  let report: ValidationReport;

  beforeAll(async () => {
    ({ json, report } = await synthesizeVariant(context));
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

  it('gives the task role no permission: job code cannot act in AWS as the runner', () => {
    expect(json.Resources.TaskRole?.Properties.Policies).toBeUndefined();
    expect(json.Resources.TaskRole?.Properties.ManagedPolicyArns).toBeUndefined();
    const attached = Object.values(json.Resources).filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties.Roles).includes('"TaskRole"'),
    );
    expect(attached).toEqual([]);
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

  it('refuses config reads by every principal but the task execution role and the capacity function (the signer of standbys’ reads)', () => {
    expect(bucketStatements(json)).toContainEqual(
      expect.objectContaining({
        Sid: 'OnlyTheTaskExecutionRoleReadsConfigs',
        Effect: 'Deny',
        Action: 's3:GetObject',
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [{ 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] }, roleArnOf(json, 'Capacity')],
          },
        },
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
