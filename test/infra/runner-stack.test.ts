/** The synthesized stack: resources, least-privilege policies, cdk-nag, outputs. Synthesized once. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BundledFunction } from '../../infra/bundled-function';
import { CONTEXT_KEYS } from '../../infra/settings';
import { SEED, WEBHOOK_METRICS } from '../../shared/defaults';
import { METRIC } from '../../shared/webhook/handle-webhook';
import { only, synthesize, type TemplateJson, type ValidationReport } from '../support/synth-stack';

let template: Template;
let json: TemplateJson;
let report: ValidationReport;

beforeAll(async () => {
  ({ template, json, report } = await synthesize());
});

const props = (id: string) => {
  const resource = json.Resources[id];
  if (resource === undefined) throw new Error(`no resource ${id}`);
  return resource.Properties;
};
const ref = (type: string) => ({ Ref: only(json, type).id });
const policyOf = (roleId: string) => {
  const found = Object.values(json.Resources).find(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  if (found === undefined) throw new Error(`no policy for ${roleId}`);
  return (found.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
};

describe('secrets', () => {
  it('creates the registration-token secret under the seed name, with no value in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: SEED.registrationTokenSecretName,
      SecretString: Match.absent(),
    });
  });

  it('generates the webhook secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'github-actions-runner-webhook-secret',
      GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true },
    });
  });
});

describe('task roles', () => {
  it.each([
    ['TaskRole', SEED.taskRoleName, SEED.taskRolePolicyName],
    ['TaskExecutionRole', SEED.taskExecutionRoleName, SEED.taskExecutionRolePolicyName],
  ])('%s keeps the seed names and trusts only ECS tasks of this account', (id, roleName, policyName) => {
    const role = props(id);
    expect(role.RoleName).toBe(roleName);
    expect((role.Policies as Array<{ PolicyName: string }>).map((policy) => policy.PolicyName)).toEqual([
      policyName,
    ]);
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    `:ecs:${SEED.region}:`,
                    { Ref: 'AWS::AccountId' },
                    ':*',
                  ],
                ],
              },
            },
          },
        },
      ],
    });
  });

  it("gives the task role the seed's ec2:Describe* policy", () => {
    const [policy] = props('TaskRole').Policies as Array<{ PolicyDocument: unknown }>;
    expect(policy?.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: ['ec2:Describe*'], Effect: 'Allow', Resource: '*' }],
    });
  });

  it('scopes the execution role to the runner repository, log group and registration token', () => {
    const [policy] = props('TaskExecutionRole').Policies as Array<{
      PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> };
    }>;
    const statements = policy?.PolicyDocument.Statement ?? [];
    expect(statements.map((statement) => [statement.Action, JSON.stringify(statement.Resource)])).toEqual([
      [['ecr:GetAuthorizationToken'], '"*"'],
      [
        ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        expect.stringContaining(`:repository/${SEED.imageRepositoryName}`),
      ],
      [
        ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        expect.stringContaining(`:log-group:${SEED.logGroupName}:*`),
      ],
      [['secretsmanager:GetSecretValue'], expect.stringContaining('RegistrationToken')],
    ]);
  });
});

describe('runner image repository and logs', () => {
  it('scans on push and expires untagged images', () => {
    template.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryName: SEED.imageRepositoryName,
      ImageScanningConfiguration: { ScanOnPush: true },
      LifecyclePolicy: { LifecyclePolicyText: Match.stringLikeRegexp('"tagStatus":"untagged"') },
    });
  });

  it('keeps runner logs in the seed log group, with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: SEED.logGroupName,
      RetentionInDays: 30,
    });
  });
});

describe('capacity', () => {
  it('runs an ECS cluster with an Auto Scaling capacity provider: managed scaling and termination protection', () => {
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: {
        ManagedScaling: { Status: 'ENABLED', TargetCapacity: 100 },
        ManagedTerminationProtection: 'ENABLED',
      },
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0',
      MaxSize: '10',
      NewInstancesProtectedFromScaleIn: true,
    });
  });

  it('boots the ECS-optimised AMI with IMDSv2 at one hop, metadata closed to tasks, an encrypted root volume', () => {
    const launchTemplate = only(json, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(json.Parameters ?? {})).toContain(
      '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id',
    );
    expect(launchTemplate.MetadataOptions).toEqual({ HttpPutResponseHopLimit: 1, HttpTokens: 'required' });
    expect(launchTemplate.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 50, VolumeType: 'gp3' } },
    ]);
    expect(launchTemplate.InstanceType).toBe('t3.medium');
    expect(JSON.stringify(launchTemplate.UserData)).toContain(
      'iptables --insert FORWARD 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP',
    );
  });
});

describe('webhook function', () => {
  it('runs our esbuild bundle on Node.js 24, arm64, with the stack environment', () => {
    const fn = only(json, 'AWS::Lambda::Function').Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      WEBHOOK_SECRET_ARN: { Ref: expect.stringMatching(/^WebhookSecret/) },
      ECS_CLUSTER: ref('AWS::ECS::Cluster'),
      ECS_TASK_DEFINITION: SEED.taskFamily,
      ECS_CONTAINER_NAME: SEED.containerName,
      ECS_CAPACITY_PROVIDER: ref('AWS::ECS::CapacityProvider'),
      TARGET_ENV: SEED.targetEnv,
    });
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('may run runner tasks, pass the two task roles, and read its own secret; nothing else', () => {
    const roleId = (only(json, 'AWS::Lambda::Function').Properties.Role as { 'Fn::GetAtt': [string] })[
      'Fn::GetAtt'
    ][0];
    const statements = policyOf(roleId);
    const summary = statements.map((statement) => ({
      Sid: statement.Sid,
      Action: statement.Action,
      Condition: statement.Condition,
    }));
    const cluster = { 'Fn::GetAtt': [only(json, 'AWS::ECS::Cluster').id, 'Arn'] };
    expect(summary).toEqual([
      { Sid: undefined, Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Condition: undefined },
      { Sid: 'RunRunnerTasks', Action: 'ecs:RunTask', Condition: { ArnEquals: { 'ecs:cluster': cluster } } },
      {
        Sid: 'TagRunnerTasksAtLaunch',
        Action: 'ecs:TagResource',
        Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      },
      {
        Sid: 'FindTheTaskOfAJob',
        Action: 'ecs:ListTasks',
        Condition: { ArnEquals: { 'ecs:cluster': cluster } },
      },
      {
        Sid: 'PassRunnerTaskRoles',
        Action: 'iam:PassRole',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      { Sid: 'ReadWebhookSecret', Action: 'secretsmanager:GetSecretValue', Condition: undefined },
    ]);
    expect(statements[4]?.Resource).toEqual([
      { 'Fn::GetAtt': ['TaskRole', 'Arn'] },
      { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] },
    ]);
    expect(statements[5]?.Resource).toEqual({ Ref: expect.stringMatching(/^WebhookSecret/) });
    expect(JSON.stringify(statements[1]?.Resource)).toContain(`:task-definition/${SEED.taskFamily}:*`);
  });

  it('answers POST /webhook on an HTTP API with access logs and throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhook' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue() },
    });
  });
});

it('alarms on function errors and throttles, 5xx answers and RunTask failures', () => {
  const alarms = Object.values(json.Resources)
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map((resource) => `${resource.Properties.Namespace}/${resource.Properties.MetricName}`)
    .sort();
  expect(alarms).toEqual([
    'AWS/ApiGateway/5xx',
    'AWS/Lambda/Errors',
    'AWS/Lambda/Throttles',
    `${WEBHOOK_METRICS.namespace}/${METRIC.runTaskFailures}`,
  ]);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: METRIC.runTaskFailures,
    Dimensions: [{ Name: 'service', Value: WEBHOOK_METRICS.service }],
  });
});

it('outputs the organisation webhook settings and the secret ARNs', () => {
  expect(Object.keys(json.Outputs).sort()).toEqual(
    [
      'CapacityProviderName',
      'ClusterName',
      'RegistrationTokenSecretArn',
      'RunnerRepositoryUri',
      'TaskDefinitionArn',
      'WebhookContentType',
      'WebhookEvents',
      'WebhookSecretArn',
      'WebhookSecretCommand',
      'WebhookUrl',
    ].sort(),
  );
  expect(json.Outputs.WebhookContentType?.Value).toBe('application/json');
  expect(json.Outputs.WebhookEvents?.Value).toBe('workflow_job');
  expect(JSON.stringify(json.Outputs.WebhookUrl?.Value)).toContain('/webhook');
});

describe('cdk-nag AwsSolutions', () => {
  it('finds no unacknowledged problem', () => {
    const [plugin] = report.pluginReports;
    expect(plugin?.pluginName).toBe('AwsSolutions');
    expect(plugin?.violations).toEqual([]);
    expect(plugin?.conclusion).toBe('success');
  });

  it('has a reason for every acknowledgment', () => {
    const acknowledged = report.pluginReports.flatMap((plugin) => plugin.suppressedViolations);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { acknowledgedId, reason } of acknowledged) {
      expect(`${acknowledgedId}: ${reason}`).toMatch(/: .{40,}/);
    }
  });
});

it('fails with what to run when the esbuild output is missing', () => {
  const stack = new Stack(new App(), 'Missing');
  expect(
    () =>
      new BundledFunction(stack, 'Webhook', {
        name: 'webhook',
        description: 'x',
        environment: {},
        logRetention: RetentionDays.ONE_DAY,
        distDir: '/nonexistent-dist',
      }),
  ).toThrow('/nonexistent-dist/webhook/index.mjs is missing: run `npm run build` first');
});

it('README lists every context setting', () => {
  const readme = readFileSync('README.md', 'utf8');
  const missing = CONTEXT_KEYS.map((entry) => entry.key).filter((key) => !readme.includes(`| \`${key}\` |`));
  expect(missing).toEqual([]);
});
