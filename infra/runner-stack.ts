import { CfnOutput, Duration, Stack, type StackProps, Tags, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { WEBHOOK_METRICS } from '../shared/defaults';
import { ConfigError } from '../shared/errors';
import { METRIC } from '../shared/webhook/handle-webhook';
import { acknowledge, wildcardResource } from './acknowledge';
import { BundledFunction } from './bundled-function';
import {
  type AccountScope,
  ecsTasksTrustPolicy,
  logGroupArn,
  type PolicyDocument,
  runnerTaskDefinition,
  taskExecutionRolePolicy,
} from './seed-documents';
import type { CapacitySettings, InfraSettings } from './settings';

export interface RunnerStackProps extends StackProps {
  readonly settings: InfraSettings;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
}

/** What the webhook needs to know about the runner capacity. */
interface Capacity {
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly capacityProviderName: string;
}

/**
 * The whole system in one stack: the seed's secret, roles and task definition (from the same
 * builders as `npm run infra:render`), the runner image repository, the runner capacity, and the
 * webhook behind an HTTP API, with alarms.
 */
export class RunnerStack extends Stack {
  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const { names } = settings;
    const where: AccountScope = { partition: this.partition, region: this.region, account: this.account };

    for (const [key, value] of Object.entries({ ...settings.tags, Env: settings.targetEnv })) {
      Tags.of(this).add(key, value);
    }

    // Secrets. The registration token's value is the operator's (README: put-secret-value); the
    // generated placeholder only makes the secret exist. The webhook secret is generated here.
    const registrationToken = new secretsmanager.Secret(this, 'RegistrationToken', {
      secretName: names.registrationTokenSecretName,
      description: 'GitHub Actions PAT used for self-hosted runner registrations (set by the operator)',
    });
    const webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      secretName: names.webhookSecretName,
      description: 'Secret of the GitHub organisation webhook (X-Hub-Signature-256)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });

    const repository = new ecr.Repository(this, 'RunnerRepository', {
      repositoryName: names.imageRepositoryName,
      imageScanOnPush: true,
      lifecycleRules: [
        {
          description: 'drop untagged images',
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(14),
        },
      ],
    });

    const runnerLogs = new logs.LogGroup(this, 'RunnerLogs', {
      logGroupName: names.logGroupName,
      retention: settings.logRetentionDays,
    });

    // The seed's roles and inline policies, under their seed names, from the shared builders.
    const taskRole = new iam.CfnRole(this, 'TaskRole', {
      roleName: names.taskRoleName,
      description: 'What a runner job may do in AWS',
      assumeRolePolicyDocument: ecsTasksTrustPolicy(where),
      policies: [{ policyName: names.taskRolePolicyName, policyDocument: settings.taskRolePolicy }],
    });
    const executionRole = new iam.CfnRole(this, 'TaskExecutionRole', {
      roleName: names.taskExecutionRoleName,
      description: 'What ECS needs to start a runner task: image, logs, registration token',
      assumeRolePolicyDocument: ecsTasksTrustPolicy(where),
      policies: [
        {
          policyName: names.taskExecutionRolePolicyName,
          policyDocument: taskExecutionRolePolicy({
            ...where,
            imageRepositoryName: names.imageRepositoryName,
            logGroupName: names.logGroupName,
            registrationTokenSecretArn: registrationToken.secretArn,
          }),
        },
      ],
    });
    executionRole.node.addDependency(repository, runnerLogs);

    const taskDefinition = new ecs.CfnTaskDefinition(
      this,
      'TaskDefinition',
      runnerTaskDefinition({
        family: names.taskFamily,
        containerName: names.containerName,
        image: settings.imageUri ?? repository.repositoryUriForTag(settings.imageTag),
        organization: settings.organization,
        targetEnv: settings.targetEnv,
        registrationTokenSecretArn: registrationToken.secretArn,
        region: this.region,
        logGroupName: runnerLogs.logGroupName,
        logStreamPrefix: names.logStreamPrefix,
        taskRoleArn: taskRole.attrArn,
        executionRoleArn: executionRole.attrArn,
        cpu: settings.cpu,
        memoryMiB: settings.memoryMiB,
      }),
    );

    const capacity = this.capacity(settings.capacity, settings.targetEnv);

    // The webhook.
    const environment: Record<string, string> = {
      WEBHOOK_SECRET_ARN: webhookSecret.secretArn,
      ECS_CLUSTER: capacity.clusterName,
      ECS_TASK_DEFINITION: names.taskFamily,
      ECS_CONTAINER_NAME: names.containerName,
      ECS_CAPACITY_PROVIDER: capacity.capacityProviderName,
      TARGET_ENV: settings.targetEnv,
      ...settings.webhookEnvironment,
    };
    checkWebhookEnvironment(environment);
    const webhook = new BundledFunction(this, 'Webhook', {
      name: 'webhook',
      description: 'GitHub workflow_job webhook: one ephemeral runner task per queued job',
      environment,
      logRetention: settings.logRetentionDays,
      reservedConcurrentExecutions: settings.reservedConcurrency,
      ...(props.distDir !== undefined && { distDir: props.distDir }),
    });
    const taskTagArn = `arn:${this.partition}:ecs:${this.region}:${this.account}:task/${capacity.clusterName}/*`;
    const taskDefinitionArn = `arn:${this.partition}:ecs:${this.region}:${this.account}:task-definition/${names.taskFamily}`;
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunRunnerTasks',
        actions: ['ecs:RunTask'],
        resources: [taskDefinitionArn, `${taskDefinitionArn}:*`],
        conditions: { ArnEquals: { 'ecs:cluster': capacity.clusterArn } },
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagRunnerTasksAtLaunch',
        actions: ['ecs:TagResource'],
        resources: [
          `arn:${this.partition}:ecs:${this.region}:${this.account}:task/${capacity.clusterName}/*`,
        ],
        conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindTheTaskOfAJob',
        actions: ['ecs:ListTasks'],
        // ListTasks has no resource of its own to name; the cluster condition scopes it.
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': capacity.clusterArn } },
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassRunnerTaskRoles',
        actions: ['iam:PassRole'],
        resources: [taskRole.attrArn, executionRole.attrArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWebhookSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [webhookSecret.secretArn],
      }),
    );

    const accessLogs = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: settings.logRetentionDays,
    });
    const api = new apigw.HttpApi(this, 'WebhookApi', {
      description: 'GitHub organisation webhook (workflow_job)',
      createDefaultStage: false,
    });
    new apigw.HttpStage(this, 'WebhookApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.apiThrottle,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });
    api.addRoutes({
      path: '/webhook',
      methods: [apigw.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Webhook', webhook.function),
    });
    const webhookUrl = `${api.apiEndpoint}/webhook`;

    this.alarms(settings, [
      {
        id: 'WebhookErrors',
        description:
          'The webhook function failed (a fault of ours or a cold start with a bad configuration).',
        metric: webhook.function.metricErrors(),
      },
      {
        id: 'WebhookThrottles',
        description:
          'The webhook function was throttled: deliveries are answered 5xx (see reservedConcurrency).',
        metric: webhook.function.metricThrottles(),
      },
      {
        id: 'WebhookServerErrors',
        description: 'GitHub got 5xx answers (503: no runner task within the deadline). Redeliver them.',
        metric: api.metricServerError(),
      },
      {
        id: 'RunTaskFailures',
        description: 'ECS refused or failed to start runner tasks (capacity, permissions).',
        metric: new cloudwatch.Metric({
          namespace: WEBHOOK_METRICS.namespace,
          metricName: METRIC.runTaskFailures,
          dimensionsMap: { service: WEBHOOK_METRICS.service },
        }),
      },
    ]);

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('WebhookUrl', webhookUrl, 'Organisation webhook: Payload URL');
    output('WebhookContentType', 'application/json', 'Organisation webhook: Content type');
    output(
      'WebhookEvents',
      'workflow_job',
      'Organisation webhook: "Let me select individual events" → Workflow jobs only',
    );
    output(
      'WebhookSecretArn',
      webhookSecret.secretArn,
      'Organisation webhook: Secret (read it with the command below)',
    );
    output(
      'WebhookSecretCommand',
      `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${webhookSecret.secretArn} --query SecretString --output text`,
      'Prints the webhook secret to paste into GitHub',
    );
    output(
      'RegistrationTokenSecretArn',
      registrationToken.secretArn,
      'Put the runner admin token here (README)',
    );
    output(
      'RunnerRepositoryUri',
      repository.repositoryUri,
      'Push the runner image here (infra/runner-image)',
    );
    output('ClusterName', capacity.clusterName, 'ECS cluster the runner tasks run in');
    output(
      'CapacityProviderName',
      capacity.capacityProviderName,
      'Capacity provider the webhook passes to RunTask',
    );
    output('TaskDefinitionArn', taskDefinition.ref, 'Runner task definition (latest revision of the family)');

    acknowledge(
      registrationToken,
      'The value is a GitHub token the operator creates and rotates in GitHub; Secrets Manager cannot rotate it.',
      'SMG4',
    );
    acknowledge(
      webhookSecret,
      'Rotation needs the same value on the GitHub webhook; the function accepts {"secret","previous"} for a manual rotation (README).',
      'SMG4',
    );
    acknowledge(
      taskRole,
      "The taskRolePolicy setting decides what jobs may do in AWS; the seed's default is ec2:Describe* (read-only).",
      ...wildcardFindings(settings.taskRolePolicy),
    );
    acknowledge(
      executionRole,
      'ecr:GetAuthorizationToken has no resource type; the log wildcard is the streams of the runner log group only.',
      'IAM5[Resource::*]',
      wildcardResource(this, logGroupArn(where, names.logGroupName)),
    );
    acknowledge(
      taskDefinition,
      "The seed's contract: ORGANIZATION, RUNNER_CONFIG_ARGS and RUNNER_LABELS are per-job settings the webhook overrides; the token comes from Secrets Manager.",
      'ECS2',
    );
    acknowledge(
      webhook.role,
      'Task ARNs exist only after RunTask: tagging is scoped to the cluster and to RunTask itself; ListTasks has no resource and is scoped by ecs:cluster; RunTask takes any revision of the runner family.',
      'IAM5[Resource::*]',
      ...[taskTagArn, `${taskDefinitionArn}:*`].map((arn) => wildcardResource(this, arn)),
    );
    acknowledge(
      api,
      'GitHub cannot sign requests for an API Gateway authorizer; the function verifies X-Hub-Signature-256 (HMAC) on every delivery.',
      'APIG4',
    );
  }

  /** A cluster of our own with an EC2 Auto Scaling capacity provider, or the existing one named. */
  private capacity(settings: CapacitySettings, targetEnv: string): Capacity {
    if (settings.kind === 'existing') {
      return {
        clusterName: settings.clusterName,
        clusterArn: `arn:${this.partition}:ecs:${this.region}:${this.account}:cluster/${settings.clusterName}`,
        capacityProviderName: settings.capacityProviderName,
      };
    }

    // `as IVpc`: CDK's Vpc class declares optional properties that exactOptionalPropertyTypes rejects.
    const vpc: ec2.IVpc =
      settings.vpcId === undefined
        ? (new ec2.Vpc(this, 'Vpc', {
            maxAzs: 2,
            // Runners only call out (GitHub, registries): public subnets and no NAT gateway to pay for;
            // the instances' security group takes no inbound traffic.
            natGateways: 0,
            subnetConfiguration: [{ name: 'runners', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 }],
            flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
          }) as ec2.IVpc)
        : ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: settings.vpcId });
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const instanceTypes = settings.instanceTypes.map((name) => new ec2.InstanceType(name));
    const architectures = new Set(instanceTypes.map((type) => type.architecture));
    if (architectures.size !== 1) {
      throw new Error(`instanceTypes must share one architecture (got ${settings.instanceTypes.join(', ')})`);
    }
    const arm = architectures.has(ec2.InstanceArchitecture.ARM_64);

    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc,
      description: `GitHub runner instances (${targetEnv}): outbound only`,
      allowAllOutbound: true,
    });
    const instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'ECS container agent on the runner instances',
    });
    const userData = ec2.UserData.forLinux();
    // Tasks use the bridge network: drop their traffic to the instance metadata service, whose
    // credentials are the instance role's (with the one-hop IMDSv2 limit below, two fences).
    userData.addCommands(
      'iptables --insert FORWARD 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP',
    );
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(
        arm ? ecs.AmiHardwareType.ARM : ecs.AmiHardwareType.STANDARD,
      ),
      ...(instanceTypes.length === 1 && { instanceType: instanceTypes[0] }),
      securityGroup,
      role: instanceRole,
      userData,
      // IMDSv2 with one hop: a token request from a bridge-network container runs out of hops.
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      ...(settings.vpcId === undefined && { associatePublicIpAddress: true }),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(settings.rootVolumeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    const autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc,
      vpcSubnets: {
        subnetType: settings.vpcId === undefined ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
      },
      minCapacity: settings.minCapacity,
      maxCapacity: settings.maxCapacity,
      ...(instanceTypes.length === 1
        ? { launchTemplate }
        : {
            mixedInstancesPolicy: {
              launchTemplate,
              launchTemplateOverrides: instanceTypes.map((instanceType) => ({ instanceType })),
            },
          }),
    });
    const capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup,
      enableManagedScaling: true,
      enableManagedTerminationProtection: true,
      targetCapacityPercent: 100,
    });
    cluster.addAsgCapacityProvider(capacityProvider);

    acknowledge(
      instanceRole,
      "The ECS container agent's permissions as CDK writes them: ecs:Submit* and agent calls that take no resource.",
      'IAM5[Resource::*]',
      'IAM5[Action::ecs:Submit*]',
    );
    acknowledge(
      autoScalingGroup,
      'ECS managed scaling drives this group; its activity shows in the ECS and Auto Scaling consoles.',
      'AS3',
    );
    return {
      clusterName: cluster.clusterName,
      clusterArn: cluster.clusterArn,
      capacityProviderName: capacityProvider.capacityProviderName,
    };
  }

  private alarms(
    settings: InfraSettings,
    definitions: readonly { id: string; description: string; metric: cloudwatch.Metric }[],
  ): void {
    const topic =
      settings.alarmTopicArn === undefined
        ? undefined
        : sns.Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);
    for (const { id, description, metric } of definitions) {
      const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
        alarmDescription: description,
        metric: metric.with({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (topic !== undefined) alarm.addAlarmAction(new SnsAction(topic));
    }
  }
}

/**
 * Runs the webhook's own configuration check at synth, so a wrong template or list fails here
 * instead of at the first cold start. Values known only at deploy time get a valid stand-in.
 */
function checkWebhookEnvironment(environment: Readonly<Record<string, string>>): void {
  const standIn = (name: string, value: string) =>
    !Token.isUnresolved(value)
      ? value
      : name.endsWith('_ARN')
        ? 'arn:aws:deploy-time:value'
        : 'deploy-time-value';
  try {
    parseConfig(
      Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, standIn(name, value)])),
    );
  } catch (error) {
    if (error instanceof ConfigError)
      throw new Error(`webhook settings in the CDK context: ${error.message}`);
    throw error;
  }
}

/** The IAM5 findings of a policy document: each wildcard action and resource, as cdk-nag lists them. */
function wildcardFindings(policy: PolicyDocument): string[] {
  const findings = new Set<string>();
  for (const statement of policy.Statement) {
    for (const action of [statement.Action].flat())
      if (action.includes('*')) findings.add(`IAM5[Action::${action}]`);
    for (const resource of [statement.Resource ?? []].flat()) {
      if (resource.includes('*')) findings.add(`IAM5[Resource::${resource}]`);
    }
  }
  return [...findings];
}
