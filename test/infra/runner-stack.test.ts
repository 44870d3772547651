/** The synthesized stack: resources, least-privilege policies, cdk-nag, outputs. Synthesized once. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BundledFunction, secretsExtensionKnown } from '../../infra/bundled-function';
import { contextTable } from '../../infra/context-table';
import { stackNames } from '../../infra/resource-names';
import { agentSettings, blockInstanceMetadataFromTasks, pullRunnerImage } from '../../infra/runner-capacity';
import { LAUNCHER_BATCH_SIZE } from '../../infra/runner-stack';
import { CONTEXT_KEYS, DEFAULT_IMAGE_TAG } from '../../infra/settings';
import { SEED, WEBHOOK_METRICS } from '../../shared/defaults';
import { METRIC } from '../../shared/metrics';
import { QUEUED_LAUNCH_DEADLINE_MS } from '../../shared/queue/launch-queued-job';
import { SECRET_MAX_AGE_SECONDS } from '../../shared/secrets/webhook-secrets';
import { expectedStatements } from '../support/expected-statements';
import {
  environmentOf,
  extensionOf,
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

let template: Template;
let json: TemplateJson;
let report: ValidationReport;
let expected: ReturnType<typeof expectedStatements>;

beforeAll(async () => {
  ({ template, json, report } = await synthesize());
  expected = expectedStatements(json);
});

const props = (id: string) => {
  const resource = json.Resources[id];
  if (resource === undefined) throw new Error(`no resource ${id}`);
  return resource.Properties;
};
const ref = (type: string) => ({ Ref: only(json, type).id });

/** The launcher's event source mapping (owned capacity adds the capacity function's). */
const launcherMapping = (json: TemplateJson) => {
  const found = Object.values(json.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventSourceMapping' &&
      JSON.stringify(resource.Properties.FunctionName) ===
        JSON.stringify({ Ref: functionOf(json, 'Launcher').id }),
  );
  if (found.length !== 1)
    throw new Error(`expected one event source mapping of the launcher, found ${found.length}`);
  return found[0] as TemplateJson['Resources'][string];
};

describe('secrets', () => {
  it('creates the GitHub credentials secret with no value in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: NAMES.githubAuthSecretName,
      SecretString: Match.absent(),
      // Secrets Manager's random placeholder until the operator puts the credentials in.
      GenerateSecretString: {},
    });
  });

  it('creates no registration-token secret with JIT registration (the default)', () => {
    const names = Object.values(json.Resources)
      .filter((resource) => resource.Type === 'AWS::SecretsManager::Secret')
      .map((resource) => resource.Properties.Name)
      .sort();
    expect(names).toEqual([NAMES.githubAuthSecretName, NAMES.setupSecretName, NAMES.webhookSecretName]);
  });

  it('generates the webhook secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: NAMES.webhookSecretName,
      GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true },
    });
  });
});

describe('task roles', () => {
  it.each([
    ['TaskRole', NAMES.taskRoleName, []],
    ['TaskExecutionRole', NAMES.taskExecutionRoleName, [SEED.taskExecutionRolePolicyName]],
  ])(
    '%s is named after the stack and its region, and trusts only ECS tasks of this account',
    (id, roleName, policyNames) => {
      const role = props(id);
      expect(role.RoleName).toBe(roleName);
      expect(
        ((role.Policies ?? []) as Array<{ PolicyName: string }>).map((policy) => policy.PolicyName),
      ).toEqual(policyNames);
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
    },
  );

  it("gives the task role no permission by default: no ec2:Describe*, which reads every instance's user data", () => {
    expect(props('TaskRole').Policies).toBeUndefined();
    const attached = Object.values(json.Resources).filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: 'TaskRole' }]),
    );
    expect(attached).toEqual([]);
    expect(JSON.stringify(json.Resources)).not.toContain('ec2:Describe');
  });

  it('lets the execution role alone read the runner configs (and the capacity function presign a standby read): GetObject under the prefix, GetBucketLocation', () => {
    const bucket = idOf(json, 'AWS::S3::Bucket', 'RunnerConfigs');
    const configs = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/runner-config/*']] };
    const readers = Object.values(json.Resources).filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties).includes('s3:GetObject') &&
        JSON.stringify(resource.Properties).includes(bucket) &&
        // The capacity function's statements are asserted whole in owned-capacity.test.ts.
        !JSON.stringify(resource.Properties).includes('PresignStandbyConfigReads'),
    );
    expect(readers.map((policy) => policy.Properties)).toEqual([
      {
        PolicyName: 'read-runner-configs',
        Roles: [{ Ref: 'TaskExecutionRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ReadRunnerConfigs', Effect: 'Allow', Action: 's3:GetObject', Resource: configs },
            {
              Sid: 'LocateRunnerConfigs',
              Effect: 'Allow',
              Action: 's3:GetBucketLocation',
              Resource: { 'Fn::GetAtt': [bucket, 'Arn'] },
            },
          ],
        },
      },
    ]);
  });

  it('scopes the execution role to the runner repository and log group, with no secret to read (JIT)', () => {
    const [policy] = props('TaskExecutionRole').Policies as Array<{
      PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> };
    }>;
    const statements = policy?.PolicyDocument.Statement ?? [];
    expect(statements.map((statement) => [statement.Action, JSON.stringify(statement.Resource)])).toEqual([
      [['ecr:GetAuthorizationToken'], '"*"'],
      [
        ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        expect.stringContaining(`:repository/${NAMES.imageRepositoryName}`),
      ],
      [
        ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        expect.stringContaining(`:log-group:${NAMES.logGroupName}:*`),
      ],
    ]);
  });
});

describe('runner image repository and logs', () => {
  it('keeps tags immutable, scans on push and expires untagged images', () => {
    template.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryName: NAMES.imageRepositoryName,
      ImageTagMutability: 'IMMUTABLE',
      ImageScanningConfiguration: { ScanOnPush: true },
      LifecyclePolicy: { LifecyclePolicyText: Match.stringLikeRegexp('"tagStatus":"untagged"') },
    });
  });

  it('runs the image the stack builds, read from its parameter at every deploy', () => {
    const [container] = only(json, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as Array<{
      Image: unknown;
    }>;
    expect(container?.Image).toBe('{{resolve:ssm:/GitHubRunners/runner-image/x86_64}}');
  });

  it('runs an image the operator pushed by its immutable tag, and builds none', async () => {
    const pinned = await synthesize({ imageTag: DEFAULT_IMAGE_TAG });
    const [container] = only(pinned.json, 'AWS::ECS::TaskDefinition').Properties
      .ContainerDefinitions as Array<{
      Image: unknown;
    }>;
    expect(JSON.stringify(container?.Image)).toContain(`:${DEFAULT_IMAGE_TAG}"`);
    expect(JSON.stringify(container?.Image)).not.toContain(':latest');
    expect(Object.values(pinned.json.Resources).map((resource) => resource.Type)).not.toContain(
      'AWS::CodeBuild::Project',
    );
  });

  it('keeps runner logs in the seed log group, with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: NAMES.logGroupName,
      RetentionInDays: 30,
    });
  });
});

describe('capacity', () => {
  it('runs an ECS cluster with an Auto Scaling capacity provider whose capacity the system owns: no managed scaling, every instance protected from scale-in', () => {
    expect(only(json, 'AWS::ECS::CapacityProvider').Properties.AutoScalingGroupProvider).toEqual({
      AutoScalingGroupArn: ref('AWS::AutoScaling::AutoScalingGroup'),
      ManagedScaling: { Status: 'DISABLED' },
      ManagedTerminationProtection: 'DISABLED',
      ManagedDraining: 'ENABLED',
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0',
      MaxSize: '10',
      NewInstancesProtectedFromScaleIn: true,
      DesiredCapacity: Match.absent(),
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
    const userData = JSON.stringify(launchTemplate.UserData);
    // The DOCKER-USER rule, applied at boot and after every Docker start (a docker.service drop-in).
    expect(userData).toContain(
      'iptables -w -I DOCKER-USER 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP',
    );
    expect(userData).toContain('ExecStartPost=/usr/local/sbin/block-task-imds');
    expect(userData).toContain('ECS_AWSVPC_BLOCK_IMDS=true');
    expect(userData).not.toContain('--insert FORWARD');
    for (const line of [...blockInstanceMetadataFromTasks(), ...agentSettings({ warmPool: false })]) {
      expect(userData).toContain(JSON.stringify(line).slice(1, -1));
    }
  });

  it('lets no inbound traffic reach the instances: their one security group has no ingress rule', () => {
    const group = only(json, 'AWS::EC2::SecurityGroup');
    const launchTemplate = only(json, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData as {
      NetworkInterfaces: Array<{ Groups: unknown[] }>;
    };
    expect(launchTemplate.NetworkInterfaces.map((nic) => nic.Groups)).toEqual([
      [{ 'Fn::GetAtt': [group.id, 'GroupId'] }],
    ]);
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(Object.values(json.Resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress')).toEqual(
      [],
    );
  });

  it('runs the runner container privileged, under ECS init, for Docker in jobs: a job is root on its instance', () => {
    const [container] = only(json, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as Array<
      Record<string, unknown>
    >;
    expect(container?.Privileged).toBe(true);
    expect(container?.LinuxParameters).toEqual({ InitProcessEnabled: true });
  });

  it('writes boot commands that bash parses and shellcheck passes', () => {
    const script = [
      '#!/bin/bash',
      ...blockInstanceMetadataFromTasks(),
      ...agentSettings({ warmPool: true }),
      ...pullRunnerImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/runner:2.338.0', 'us-east-1'),
    ].join('\n');
    const path = join(mkdtempSync(join(tmpdir(), 'user-data-')), 'user-data.sh');
    writeFileSync(path, `${script}\n`);
    execFileSync('bash', ['-n', path]);
    // shellcheck runs where the project's shell lint runs (npm run lint:shell); bash -n everywhere.
    const shellcheck = spawnSync('shellcheck', ['--version']);
    if (shellcheck.status === 0) execFileSync('shellcheck', [path]);
  });
});

describe('every function', () => {
  it('reads its secrets through the Parameters and Secrets extension, cached as long as the code caches them', () => {
    const ids = ['Webhook', 'Launcher', 'Reconciler', 'Redeliver'].filter((id) => hasFunction(json, id));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    for (const id of ids) {
      const { layers, variables } = extensionOf(json, id);
      // The layer's ARN comes from CDK's table of AWS's regional layer ARNs (arm64).
      expect(JSON.stringify(layers)).toMatch(/:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:/);
      expect(variables).toMatchObject({
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773',
        SECRETS_MANAGER_TTL: String(SECRET_MAX_AGE_SECONDS),
        PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'warn',
      });
    }
  });
});

describe('a region without the extension in CDK', () => {
  it('synthesizes functions that read Secrets Manager through the SDK', async () => {
    expect(secretsExtensionKnown('eu-central-2')).toBe(false);
    const { json: zurich } = await synthesize({ region: 'eu-central-2' });
    const { layers, variables } = extensionOf(zurich, 'Webhook');
    expect(layers).toBeUndefined();
    expect(variables).toEqual({});
  });
});

describe('webhook function', () => {
  it('runs our esbuild bundle on Node.js 24, arm64, with the stack environment', () => {
    const fn = functionOf(json, 'Webhook').Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(environmentOf(json, 'Webhook')).toEqual({
      WEBHOOK_SECRET_ARN: { Ref: idOf(json, 'AWS::SecretsManager::Secret', 'WebhookSecret') },
      ECS_CLUSTER: ref('AWS::ECS::Cluster'),
      ECS_TASK_DEFINITION: NAMES.taskFamily,
      ECS_CONTAINER_NAME: SEED.containerName,
      ECS_CAPACITY_PROVIDER: ref('AWS::ECS::CapacityProvider'),
      TARGET_ENV: SEED.targetEnv,
      RUNNER_REGISTRATION: 'jit',
      JOBS_TABLE: { Ref: idOf(json, 'AWS::DynamoDB::Table', 'Jobs') },
      RUNNER_CONFIG_BUCKET: { Ref: idOf(json, 'AWS::S3::Bucket', 'RunnerConfigs') },
      GITHUB_AUTH_SECRET_ARN: expected.githubAuth(),
      INSTANCES_TABLE: { Ref: idOf(json, 'AWS::DynamoDB::Table', 'Instances') },
      CAPACITY_GROUPS: expect.anything(),
      CAPACITY_MAX_INSTANCES: '200',
      CAPACITY_QUEUE_URL: { Ref: idOf(json, 'AWS::SQS::Queue', 'CapacityEvents') },
      OVERFLOW_QUEUE_URL: { Ref: idOf(json, 'AWS::SQS::Queue', 'Overflow') },
    });
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("stops within GitHub's 10 s: the webhook's timeout is at most 10 s", () => {
    expect(functionOf(json, 'Webhook').Properties.Timeout).toBeLessThanOrEqual(10);
  });

  it('may run runner tasks, pass the two task roles, queue a job, use the ledgers, read its secrets, stop idle runners and ask for instances; nothing else', () => {
    expect(statementsOf(json, 'Webhook')).toEqual([
      expected.logsStatement('Webhook'),
      ...expected.launchStatements(),
      ...expected.webhookStatements(),
      expected.describeRunnerTasks(),
      expected.useJobLedger(),
      expected.writeRunnerConfigs(),
      expected.readGitHubCredentials(),
      expected.stopRunnerTasks(),
      expected.useInstanceLedger(),
      expected.askForInstances(),
    ]);
  });

  it('answers POST /webhook on a regional REST API (a proxy to the function) with access logs and throttling', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'webhook' });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
    });
    // The webhook's one method; the setup page's API has its own three (test/infra/setup-page.test.ts).
    const methods = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Method');
    expect(methods.filter(([id]) => id.startsWith('WebhookRestApi'))).toHaveLength(1);
    expect(methods.filter(([id]) => !id.startsWith('SetupRestApi'))).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'github',
      // Sized for bursts: a 256-job matrix is 3 to 4 deliveries per job within seconds.
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 1000,
        }),
      ],
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    });
    expect(Object.values(json.Resources).some((r) => r.Type.startsWith('AWS::ApiGatewayV2::'))).toBe(false);
  });
});

describe('overflow queue and launcher', () => {
  const launcherTimeout = (LAUNCHER_BATCH_SIZE * QUEUED_LAUNCH_DEADLINE_MS) / 1000 + 10;

  it('keeps overflow jobs a day (GitHub cancels a job queued 24 h), encrypted, with a dead-letter queue after 10 tries', () => {
    expect(props(idOf(json, 'AWS::SQS::Queue', 'Overflow'))).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 86_400,
      VisibilityTimeout: 6 * launcherTimeout,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'OverflowDeadLetters'), 'Arn'] },
        maxReceiveCount: 10,
      },
      Tags: [{ Key: 'Env', Value: SEED.targetEnv }],
    });
  });

  it('keeps dead letters 14 days, encrypted', () => {
    expect(props(idOf(json, 'AWS::SQS::Queue', 'OverflowDeadLetters'))).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
      Tags: [{ Key: 'Env', Value: SEED.targetEnv }],
    });
  });

  it.each(['Overflow', 'OverflowDeadLetters'])('refuses requests without TLS on queue %s', (prefix) => {
    const queue = idOf(json, 'AWS::SQS::Queue', prefix);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sqs:*',
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
  });

  it("runs the launcher with the webhook's environment but the webhook secret, and a timeout that fits a whole batch", () => {
    const { WEBHOOK_SECRET_ARN, ...rest } = environmentOf(json, 'Webhook');
    expect(WEBHOOK_SECRET_ARN).toBeDefined();
    expect(environmentOf(json, 'Launcher')).toEqual(rest);
    expect(functionOf(json, 'Launcher').Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: launcherTimeout,
    });
    expect(launcherTimeout * 1000).toBeGreaterThanOrEqual(LAUNCHER_BATCH_SIZE * QUEUED_LAUNCH_DEADLINE_MS);
  });

  it('feeds the launcher batches of 10, reports failed messages one by one, at most 2 at a time', () => {
    expect(launcherMapping(json).Properties).toEqual({
      EventSourceArn: expected.overflowArn(),
      FunctionName: { Ref: functionOf(json, 'Launcher').id },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      Tags: [{ Key: 'Env', Value: SEED.targetEnv }],
    });
  });

  it('creates the event source mapping after the policy that lets the launcher read the queue', () => {
    const mapping = launcherMapping(json) as { DependsOn?: string[] };
    const roleId = (functionOf(json, 'Launcher').Properties.Role as { 'Fn::GetAtt': [string] })[
      'Fn::GetAtt'
    ][0];
    expect(mapping.DependsOn).toEqual(
      expect.arrayContaining([idOf(json, 'AWS::IAM::Policy', 'Launcher/Role/DefaultPolicy'), roleId]),
    );
  });

  it('lets the launcher start and describe runner tasks, consume the queue, use the ledgers, read the GitHub credentials and ask for instances; nothing else', () => {
    expect(statementsOf(json, 'Launcher')).toEqual([
      expected.logsStatement('Launcher'),
      ...expected.launchStatements(),
      {
        Sid: 'ConsumeOverflowJobs',
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ChangeMessageVisibility',
        ],
        Resource: expected.overflowArn(),
      },
      expected.describeRunnerTasks(),
      expected.useJobLedger(),
      expected.writeRunnerConfigs(),
      expected.readGitHubCredentials(),
      expected.useInstanceLedger(),
      expected.askForInstances(),
    ]);
  });
});

describe('reconciler (JIT registration)', () => {
  it("runs every minute with the launcher's environment but the queue, plus its own settings", () => {
    const { OVERFLOW_QUEUE_URL, ...rest } = environmentOf(json, 'Launcher');
    expect(OVERFLOW_QUEUE_URL).toBeDefined();
    expect(environmentOf(json, 'Reconciler')).toEqual({
      ...rest,
      RECONCILE_CAPACITY_WAIT: '600',
      RECONCILE_MAX_ATTEMPTS: '3',
    });
    expect(props(idOf(json, 'AWS::Events::Rule', 'ReconcilerSchedule'))).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [functionOf(json, 'Reconciler').id, 'Arn'] }, Id: 'Target0' }],
    });
    expect(functionOf(json, 'Reconciler').Properties.Timeout).toBeLessThan(60);
  });

  it('does not retry a failed run: the next one is a minute away', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionOf(json, 'Reconciler').id },
      MaximumRetryAttempts: 0,
    });
  });

  it("may relaunch, describe and stop the cluster's runner tasks, use the ledgers, read the GitHub credentials, ask for instances and read the groups; nothing else", () => {
    expect(statementsOf(json, 'Reconciler')).toEqual([
      expected.logsStatement('Reconciler'),
      ...expected.launchStatements(),
      expected.describeRunnerTasks(),
      expected.stopRunnerTasks(),
      expected.useJobLedger(),
      expected.writeRunnerConfigs(),
      expected.readGitHubCredentials(),
      expected.useInstanceLedger(),
      expected.askForInstances(),
      expected.describeAutoScalingGroups('autoscaling:DescribeAutoScalingGroups'),
    ]);
  });
});

describe('runner config bucket', () => {
  const bucket = () => idOf(json, 'AWS::S3::Bucket', 'RunnerConfigs');

  it('blocks public access, encrypts, keeps no versions and expires configs after a day', () => {
    expect(props(bucket())).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [
          expect.objectContaining({
            ExpirationInDays: 1,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          }),
        ],
      },
    });
    expect(props(bucket()).VersioningConfiguration).toBeUndefined();
  });

  it('refuses requests without TLS, config reads by anyone but the task execution role, and config writes by anyone but the functions', () => {
    const policy = only(json, 'AWS::S3::BucketPolicy').Properties as {
      Bucket: unknown;
      PolicyDocument: { Statement: unknown[] };
    };
    expect(policy.Bucket).toEqual({ Ref: bucket() });
    const arn = { 'Fn::GetAtt': [bucket(), 'Arn'] };
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: [arn, { 'Fn::Join': ['', [arn, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'OnlyTheTaskExecutionRoleReadsConfigs',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [arn, '/runner-config/*']] },
        // The capacity function signs standbys' reads of their configs.
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [
              { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] },
              functionOf(json, 'Capacity').Properties.Role,
            ],
          },
        },
      },
      {
        Sid: 'OnlyTheFunctionsWriteConfigs',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [arn, '/runner-config/*']] },
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': ['Webhook', 'Launcher', 'Reconciler', 'Capacity'].map(
              (id) => functionOf(json, id).Properties.Role,
            ),
          },
        },
      },
    ]);
  });

  it('is named to the webhook, the launcher and the reconciler', () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      expect(environmentOf(json, id).RUNNER_CONFIG_BUCKET).toEqual({ Ref: bucket() });
    }
  });

  it('lets no function read a config', () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      expect(JSON.stringify(statementsOf(json, id))).not.toContain('s3:GetObject');
    }
  });
});

describe('job ledger', () => {
  const jobs = () => idOf(json, 'AWS::DynamoDB::Table', 'Jobs');

  it('keys jobs by number, expires them by TTL, indexes open jobs, on demand with point-in-time recovery', () => {
    expect(props(jobs())).toEqual({
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'jobId', AttributeType: 'N' },
        { AttributeName: 'openShard', AttributeType: 'S' },
        { AttributeName: 'queuedAt', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'open-jobs',
          KeySchema: [
            { AttributeName: 'openShard', KeyType: 'HASH' },
            { AttributeName: 'queuedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      Tags: [{ Key: 'Env', Value: SEED.targetEnv }],
    });
  });

  it('is kept when the stack is deleted or the table replaced', () => {
    const table = json.Resources[jobs()] as {
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    };
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('is named to the webhook, the launcher and the reconciler, not to the redelivery sweep', () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      expect(environmentOf(json, id).JOBS_TABLE).toEqual({ Ref: jobs() });
    }
  });

  it('lets nobody delete an item', () => {
    expect(JSON.stringify(json.Resources)).not.toContain('dynamodb:DeleteItem');
  });
});

describe('dashboard', () => {
  const body = () => JSON.stringify(only(json, 'AWS::CloudWatch::Dashboard').Properties.DashboardBody);
  /** A text inside the body's JSON, as `body()` shows it (escaped twice). */
  const inBody = (text: string) => JSON.stringify(JSON.stringify(text).slice(1, -1)).slice(1, -1);

  it.each([METRIC.timeToTaskRunning, METRIC.timeToJobStarted])(
    'shows p50 and p95 of %s from the webhook and the reconciler',
    (metric) => {
      for (const service of [WEBHOOK_METRICS.service, 'github-runners-reconciler']) {
        for (const stat of ['p50', 'p95']) {
          expect(body()).toContain(
            `[\\"GitHubRunners\\",\\"${metric}\\",\\"service\\",\\"${service}\\",{\\"label\\":\\"${stat} (${service})\\",\\"stat\\":\\"${stat}\\"`,
          );
        }
      }
    },
  );

  it.each([METRIC.served, METRIC.queued, METRIC.stuck, METRIC.runnersStopped, METRIC.setupErrors])(
    'graphs %s',
    (metric) => {
      expect(body()).toContain(`\\"${metric}\\"`);
    },
  );

  it.each([METRIC.timeToInstanceReady, METRIC.timeToJobStarted])(
    'shows p50 and p95 of owned capacity %s per profile and path (hot, warm, cold), whichever function publishes it',
    (metric) => {
      for (const stat of ['p50', 'p95']) {
        expect(body()).toContain(
          inBody(`SEARCH('{GitHubRunners,Path,Profile,service} MetricName="${metric}"', '${stat}', 300)`),
        );
      }
    },
  );

  it.each([
    [METRIC.idleInstanceMinutes, 'Sum'],
    [METRIC.jobsPerInstance, 'Average'],
    [METRIC.instancesLaunched, 'Sum'],
    [METRIC.instancesTerminated, 'Sum'],
  ])('graphs owned capacity %s (%s)', (metric, stat) => {
    expect(body()).toContain(inBody(`SEARCH('GitHubRunners MetricName="${metric}"', '${stat}', 300)`));
  });
});

it("deploys the redelivery sweep by default with no hook named: the GitHub App's own hook needs no id", () => {
  const environment = environmentOf(json, 'Redeliver');
  expect(environment.GITHUB_AUTH_SECRET_ARN).toEqual(expected.githubAuth());
  expect(Object.keys(environment)).not.toEqual(
    expect.arrayContaining([expect.stringMatching(/^GITHUB_(HOOK|HOOK_ID|ORG)$/)]),
  );
});

it('alarms on function errors and throttles, 5xx answers, RunTask failures, setup errors, dead letters and stuck jobs', () => {
  const alarms = Object.values(json.Resources)
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map((resource) => {
      const [dimension] = resource.Properties.Dimensions as Array<{ Value: unknown }>;
      const value = JSON.stringify(dimension?.Value).replace(/[0-9A-F]{8}"/, '"');
      return `${resource.Properties.Namespace}/${resource.Properties.MetricName} ${resource.Properties.Statistic} ${value}`;
    })
    .sort();
  expect(alarms).toEqual(
    [
      'AWS/ApiGateway/5XXError Sum "WebhookRestApi"',
      'AWS/Lambda/Errors Sum {"Ref":"WebhookFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"RedeliverFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"HookRangesFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"LauncherFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"ReconcilerFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"CapacityFunction"}',
      'AWS/Lambda/Throttles Sum {"Ref":"WebhookFunction"}',
      'AWS/CodeBuild/FailedBuilds Sum {"Ref":"RunnerImageBuildX8664"}',
      'AWS/Lambda/Errors Sum {"Ref":"ImageReleaseFunction"}',
      'AWS/Lambda/Errors Sum {"Ref":"ImageRolloutFunction"}',
      'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum {"Fn::GetAtt":["OverflowDeadLetters","QueueName"]}',
      `${WEBHOOK_METRICS.namespace}/${METRIC.runTaskFailures} Sum "${WEBHOOK_METRICS.service}"`,
      `GitHubRunners/SetupErrors Sum "${WEBHOOK_METRICS.service}"`,
      'GitHubRunners/SetupErrors Sum "github-runners-launcher"',
      'GitHubRunners/JobsStuck Maximum "github-runners-reconciler"',
      'GitHubRunners/LaunchAttemptsExhausted Sum "github-runners-reconciler"',
      'GitHubRunners/RunnerVersionRefused Sum "github-runners-reconciler"',
    ].sort(),
  );
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: METRIC.runTaskFailures,
    Dimensions: [{ Name: 'service', Value: WEBHOOK_METRICS.service }],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: METRIC.stuck,
    Period: 60,
    EvaluationPeriods: 3,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  // At the first runner GitHub refuses for its release.
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: METRIC.runnerVersionRefused,
    Threshold: 1,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: METRIC.setupErrors,
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 1,
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
});

it('outputs the organisation webhook settings, the secret ARNs and the queues', () => {
  expect(Object.keys(json.Outputs).sort()).toEqual(
    [
      'CapacityProviderName',
      'ClusterName',
      'GitHubAuthSecretArn',
      'GitHubAuthSecretCommand',
      'ImageBuildProjects',
      'ImageReleaseFunction',
      'InstancesTableName',
      'JobsTableName',
      'OverflowDeadLetterQueueUrl',
      'OverflowQueueUrl',
      'RunnerConfigBucketName',
      'RunnerImageParameters',
      'RunnerRepositoryUri',
      'RunnerScope',
      'SetupLinkCommand',
      'SetupSecretArn',
      'SetupSecretConsoleUrl',
      'SetupUrl',
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
  // The doctor reads the scope: repository runners (the default) have no runner group to check.
  expect(json.Outputs.RunnerScope?.Value).toBe('repo');
  expect(JSON.stringify(json.Outputs.WebhookUrl?.Value)).toContain('/webhook');
  expect(json.Outputs.GitHubAuthSecretArn?.Value).toEqual(expected.githubAuth());
  expect(JSON.stringify(json.Outputs.GitHubAuthSecretCommand?.Value)).toContain(
    'aws secretsmanager put-secret-value',
  );
  expect(json.Outputs.OverflowQueueUrl?.Value).toEqual({ Ref: idOf(json, 'AWS::SQS::Queue', 'Overflow') });
  expect(json.Outputs.OverflowDeadLetterQueueUrl?.Value).toEqual({
    Ref: idOf(json, 'AWS::SQS::Queue', 'OverflowDeadLetters'),
  });
});

it('keeps the logical ids of named and addressed resources from before the stack had parts (no replacement on deploy)', () => {
  expect(Object.keys(json.Resources)).toEqual(
    expect.arrayContaining([
      'GitHubAuth96258E4C',
      'WebhookSecretF21E29CC',
      'RunnerRepository01784BF2',
      'RunnerLogsF9B1C0E8',
      'TaskRole',
      'TaskExecutionRole',
      'TaskDefinition',
      'Vpc8378EB38',
      'ClusterEB0386A7',
      'CapacityProviderF92AC12E',
      'Overflow8C2F862D',
      'OverflowDeadLettersFCAF1299',
      // Not the HTTP API's WebhookApi28122C53: WAF protects REST APIs only, so the API (and its URL) is new.
      'WebhookRestApiF8BFEBD3',
      'WebhookFunction6FF7199F',
    ]),
  );
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

it('docs/infrastructure.md lists every context setting, as CONTEXT_KEYS has them', () => {
  const document = readFileSync('docs/infrastructure.md', 'utf8');
  expect(document).toContain(contextTable());
  const missing = CONTEXT_KEYS.map((entry) => entry.key).filter(
    (key) => !document.includes(`| \`${key}\` |`),
  );
  expect(missing).toEqual([]);
});
