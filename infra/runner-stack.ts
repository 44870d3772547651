import { CfnOutput, Duration, Stack, type StackProps, Tags, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { WEBHOOK_METRICS } from '../shared/defaults';
import { ConfigError } from '../shared/errors';
import { parseRedeliverSettings } from '../shared/github/redeliver';
import { METRIC } from '../shared/metrics';
import { QUEUED_LAUNCH_DEADLINE_MS } from '../shared/queue/launch-queued-job';
import { acknowledge, wildcardResource } from './acknowledge';
import { BundledFunction, type BundledFunctionProps } from './bundled-function';
import {
  clusterTasksArn,
  launchRunnerStatements,
  listRunnerTasksStatement,
  type RunnerTaskScope,
  readSecretStatement,
  stopIdleRunnersStatement,
  taskFamilyArn,
} from './runner-permissions';
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

/** Overflow messages the launcher takes per invocation (it handles them one at a time). */
export const LAUNCHER_BATCH_SIZE = 10;

/** How often the reaper and the redelivery sweep run. */
export const SWEEP_RATE = Duration.minutes(5);

/** What the webhook needs to know about the runner capacity. */
interface Capacity {
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly capacityProviderName: string;
}

/**
 * The whole system in one stack: the seed's roles and task definition (from the same builders as
 * `npm run infra:render`), the secrets, the runner image repository, the runner capacity, the
 * webhook behind an HTTP API, the overflow queue and its launcher, the reaper and the redelivery
 * sweep (each when its settings allow), with alarms.
 */
export class RunnerStack extends Stack {
  /** Where the esbuild output is; undefined: the project's `dist/`. */
  private readonly distDir: string | undefined;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    this.distDir = props.distDir;
    const { settings } = props;
    const { names } = settings;
    const where: AccountScope = { partition: this.partition, region: this.region, account: this.account };
    const jit = settings.registration === 'jit';

    for (const [key, value] of Object.entries({ ...settings.tags, Env: settings.targetEnv })) {
      Tags.of(this).add(key, value);
    }

    // Secrets. The operator puts the GitHub values in (README: put-secret-value); the generated
    // placeholder only makes a secret exist. The webhook secret is generated here. With JIT
    // registration no task reads an admin token, so there is no registration-token secret at all.
    const registrationToken = jit
      ? undefined
      : new secretsmanager.Secret(this, 'RegistrationToken', {
          secretName: names.registrationTokenSecretName,
          description: 'GitHub Actions PAT used for self-hosted runner registrations (set by the operator)',
        });
    const githubAuth =
      jit || settings.redeliverEnvironment !== undefined
        ? new secretsmanager.Secret(this, 'GitHubAuth', {
            secretName: names.githubAuthSecretName,
            description:
              'GitHub credentials of the functions: {"token": "..."} or {"appId", "privateKey", "installationId"?} (set by the operator)',
          })
        : undefined;
    // What the webhook, the launcher and the reaper read: the credentials, with JIT registration only.
    const jitCredentials = jit ? githubAuth : undefined;
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
      description: jit
        ? 'What ECS needs to start a runner task: image, logs'
        : 'What ECS needs to start a runner task: image, logs, registration token',
      assumeRolePolicyDocument: ecsTasksTrustPolicy(where),
      policies: [
        {
          policyName: names.taskExecutionRolePolicyName,
          policyDocument: taskExecutionRolePolicy({
            ...where,
            imageRepositoryName: names.imageRepositoryName,
            logGroupName: names.logGroupName,
            registrationTokenSecretArn: registrationToken?.secretArn,
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
        registrationTokenSecretArn: registrationToken?.secretArn,
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
    const tasks: RunnerTaskScope = {
      ...where,
      clusterName: capacity.clusterName,
      clusterArn: capacity.clusterArn,
      taskFamily: names.taskFamily,
      taskRoleArn: taskRole.attrArn,
      executionRoleArn: executionRole.attrArn,
    };

    // The overflow queue: jobs the webhook could not start a task for within GitHub's 10 s. The
    // launcher handles a batch one message at a time, each with up to QUEUED_LAUNCH_DEADLINE_MS, so
    // its timeout fits a whole batch; AWS asks for a visibility timeout of at least six times the
    // function's timeout for an SQS event source. GitHub cancels a job queued for 24 hours, so a
    // message older than a day has no job left to serve.
    const launcherTimeout = Duration.seconds(
      Math.ceil((LAUNCHER_BATCH_SIZE * QUEUED_LAUNCH_DEADLINE_MS) / 1000) + 10,
    );
    const deadLetters = new sqs.Queue(this, 'OverflowDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const overflow = new sqs.Queue(this, 'Overflow', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(6 * launcherTimeout.toSeconds()),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: settings.overflowMaxReceiveCount },
    });

    // The functions' shared settings (README's configuration table): the webhook's, the launcher's
    // and the reaper's environments are this one, less what each does not use.
    const shared: Record<string, string> = {
      ECS_CLUSTER: capacity.clusterName,
      ECS_TASK_DEFINITION: names.taskFamily,
      ECS_CONTAINER_NAME: names.containerName,
      ECS_CAPACITY_PROVIDER: capacity.capacityProviderName,
      TARGET_ENV: settings.targetEnv,
      RUNNER_REGISTRATION: settings.registration,
      ...(jitCredentials !== undefined && { GITHUB_AUTH_SECRET_ARN: jitCredentials.secretArn }),
      ...settings.webhookEnvironment,
    };
    const environment = {
      WEBHOOK_SECRET_ARN: webhookSecret.secretArn,
      ...shared,
      OVERFLOW_QUEUE_URL: overflow.queueUrl,
    };
    checkEnvironment('webhook', environment, (env) => parseConfig(env));
    const webhook = this.bundledFunction('Webhook', {
      name: 'webhook',
      description: 'GitHub workflow_job webhook: one ephemeral runner task per queued job',
      environment,
      logRetention: settings.logRetentionDays,
      reservedConcurrentExecutions: settings.reservedConcurrency,
    });
    for (const statement of launchRunnerStatements(tasks)) webhook.role.addToPolicy(statement);
    webhook.role.addToPolicy(readSecretStatement('ReadWebhookSecret', webhookSecret.secretArn));
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'QueueOverflowJobs',
        actions: ['sqs:SendMessage'],
        resources: [overflow.queueArn],
      }),
    );
    if (jitCredentials !== undefined) {
      webhook.role.addToPolicy(readSecretStatement('ReadGitHubCredentials', jitCredentials.secretArn));
      // A `completed` job of ours makes the webhook check its run's runner tasks and stop idle ones.
      webhook.role.addToPolicy(stopIdleRunnersStatement(tasks));
    }

    // The launcher receives no webhooks: no webhook secret. The queue URL is for its retry delays.
    const launcherEnvironment = { ...shared, OVERFLOW_QUEUE_URL: overflow.queueUrl };
    checkEnvironment('launcher', launcherEnvironment, (env) => parseConfig(env));
    const launcher = this.bundledFunction('Launcher', {
      name: 'launcher',
      description: 'Overflow queue consumer: starts the runner tasks the webhook could not start in time',
      environment: launcherEnvironment,
      logRetention: settings.logRetentionDays,
      timeout: launcherTimeout,
    });
    for (const statement of launchRunnerStatements(tasks)) launcher.role.addToPolicy(statement);
    launcher.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ConsumeOverflowJobs',
        // Receive, delete and GetQueueAttributes for the event source mapping; ChangeMessageVisibility
        // for the launcher's own retry delay of a failed message.
        actions: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ChangeMessageVisibility',
        ],
        resources: [overflow.queueArn],
      }),
    );
    if (jitCredentials !== undefined) {
      launcher.role.addToPolicy(readSecretStatement('ReadGitHubCredentials', jitCredentials.secretArn));
    }
    const launcherSource = new lambda.EventSourceMapping(this, 'LauncherSource', {
      target: launcher.function,
      eventSourceArn: overflow.queueArn,
      batchSize: LAUNCHER_BATCH_SIZE,
      reportBatchItemFailures: true,
      // RunTask's rate is the account's: two launchers leave most of it to the webhook.
      maxConcurrency: 2,
    });
    // The mapping reads the queue as the launcher's role: the policy must exist first.
    launcherSource.node.addDependency(launcher.role);

    // The reaper needs GitHub to tell busy runners from idle ones: with JIT registration only.
    const reaper =
      jitCredentials !== undefined
        ? this.scheduledFunction('Reaper', {
            name: 'reaper',
            description: 'Every 5 minutes: stops runner tasks idle past RUNNER_IDLE_TIMEOUT',
            environment: shared,
            check: (env) => parseConfig(env),
            timeout: Duration.minutes(2),
            logRetention: settings.logRetentionDays,
            statements: [
              listRunnerTasksStatement(tasks, 'ListRunnerTasks'),
              stopIdleRunnersStatement(tasks),
              readSecretStatement('ReadGitHubCredentials', jitCredentials.secretArn),
            ],
          })
        : undefined;

    // The redelivery sweep needs the webhook's id, known once the operator has created the webhook.
    const redeliver =
      settings.redeliverEnvironment !== undefined && githubAuth !== undefined
        ? this.scheduledFunction('Redeliver', {
            name: 'redeliver',
            description: 'Every 5 minutes: redelivers the workflow_job deliveries GitHub failed to deliver',
            environment: {
              GITHUB_AUTH_SECRET_ARN: githubAuth.secretArn,
              ...settings.redeliverEnvironment,
            },
            check: (env) => parseRedeliverSettings(env),
            // Under the schedule's 5 minutes, so sweeps do not overlap; a sweep may wait out a rate limit.
            timeout: Duration.minutes(4),
            logRetention: settings.logRetentionDays,
            statements: [readSecretStatement('ReadGitHubCredentials', githubAuth.secretArn)],
          })
        : undefined;

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
        description:
          'ECS did not start a runner task within the deadline and the overflow queue did not take the job either: GitHub got a 503.',
        metric: new cloudwatch.Metric({
          namespace: WEBHOOK_METRICS.namespace,
          metricName: METRIC.runTaskFailures,
          dimensionsMap: { service: WEBHOOK_METRICS.service },
        }),
      },
      {
        id: 'LauncherErrors',
        description:
          'The launcher function failed (not a job that failed to start: those are retried from the queue).',
        metric: launcher.function.metricErrors(),
      },
      {
        id: 'OverflowDeadLetters',
        description:
          'Queued jobs got no runner task after every try (overflowMaxReceiveCount): read the launcher log, then redrive or drop them.',
        metric: deadLetters.metricApproximateNumberOfMessagesVisible(),
        statistic: 'Maximum',
      },
      ...(reaper === undefined
        ? []
        : [
            {
              id: 'ReaperErrors',
              description: 'The reaper failed: idle runner tasks are left to their own idle timeout.',
              metric: reaper.function.metricErrors(),
            },
          ]),
      ...(redeliver === undefined
        ? []
        : [
            {
              id: 'RedeliverErrors',
              description:
                'The redelivery sweep failed (credentials, hook id, GitHub): failed deliveries are not redelivered.',
              metric: redeliver.function.metricErrors(),
            },
          ]),
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
    if (registrationToken !== undefined) {
      output(
        'RegistrationTokenSecretArn',
        registrationToken.secretArn,
        'Put the runner admin token here (README)',
      );
    }
    if (githubAuth !== undefined) {
      output(
        'GitHubAuthSecretArn',
        githubAuth.secretArn,
        'Put the GitHub credentials here: {"token": "..."} or a GitHub App\'s {"appId", "privateKey", "installationId"?} (README)',
      );
      output(
        'GitHubAuthSecretCommand',
        `aws secretsmanager put-secret-value --region ${this.region} --secret-id ${githubAuth.secretArn} --secret-string file://github-auth.json`,
        'Stores the GitHub credentials from github-auth.json (README)',
      );
    }
    output('OverflowQueueUrl', overflow.queueUrl, 'Jobs waiting for the launcher');
    output(
      'OverflowDeadLetterQueueUrl',
      deadLetters.queueUrl,
      'Jobs that got no runner task after every try',
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

    if (registrationToken !== undefined) {
      acknowledge(
        registrationToken,
        'The value is a GitHub token the operator creates and rotates in GitHub; Secrets Manager cannot rotate it.',
        'SMG4',
      );
    }
    if (githubAuth !== undefined) {
      acknowledge(
        githubAuth,
        'The value is a GitHub token or GitHub App key the operator creates and rotates in GitHub; Secrets Manager cannot rotate it.',
        'SMG4',
      );
    }
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
      jit
        ? "The seed's contract: ORGANIZATION, RUNNER_CONFIG_ARGS and RUNNER_LABELS are per-job settings the webhook overrides; no credential is in the task definition (JIT registration)."
        : "The seed's contract: ORGANIZATION, RUNNER_CONFIG_ARGS and RUNNER_LABELS are per-job settings the webhook overrides; the token comes from Secrets Manager.",
      'ECS2',
    );
    const launchFindings = [
      'IAM5[Resource::*]',
      ...[clusterTasksArn(tasks), `${taskFamilyArn(tasks)}:*`].map((arn) => wildcardResource(this, arn)),
    ];
    const launchReason =
      'Task ARNs exist only after RunTask: tagging is scoped to the cluster and to RunTask itself, describing and stopping to the cluster; ListTasks has no resource and is scoped by ecs:cluster; RunTask takes any revision of the runner family.';
    acknowledge(webhook.role, launchReason, ...launchFindings);
    acknowledge(launcher.role, launchReason, ...launchFindings);
    if (reaper !== undefined) {
      acknowledge(
        reaper.role,
        "Task ARNs are known only from ListTasks: describing and stopping are scoped to the cluster's tasks; ListTasks has no resource and is scoped by ecs:cluster.",
        'IAM5[Resource::*]',
        wildcardResource(this, clusterTasksArn(tasks)),
      );
    }
    acknowledge(
      api,
      'GitHub cannot sign requests for an API Gateway authorizer; the function verifies X-Hub-Signature-256 (HMAC) on every delivery.',
      'APIG4',
    );
  }

  private bundledFunction(id: string, props: Omit<BundledFunctionProps, 'distDir'>): BundledFunction {
    return new BundledFunction(this, id, {
      ...props,
      ...(this.distDir !== undefined && { distDir: this.distDir }),
    });
  }

  /**
   * One of our functions on a 5-minute EventBridge schedule. A failed sweep is not retried: the
   * next one, 5 minutes later, is its retry (and the error alarm counts each failure once).
   */
  private scheduledFunction(
    id: string,
    props: {
      readonly name: string;
      readonly description: string;
      readonly environment: Readonly<Record<string, string>>;
      readonly check: (env: Record<string, string>) => unknown;
      readonly timeout: Duration;
      readonly logRetention: number;
      readonly statements: readonly iam.PolicyStatement[];
    },
  ): BundledFunction {
    checkEnvironment(props.name, props.environment, props.check);
    const fn = this.bundledFunction(id, {
      name: props.name,
      description: props.description,
      environment: props.environment,
      logRetention: props.logRetention,
      timeout: props.timeout,
    });
    for (const statement of props.statements) fn.role.addToPolicy(statement);
    fn.function.configureAsyncInvoke({ retryAttempts: 0 });
    new events.Rule(this, `${id}Schedule`, {
      description: `Runs the ${props.name} function every 5 minutes`,
      schedule: events.Schedule.rate(SWEEP_RATE),
      targets: [new targets.LambdaFunction(fn.function)],
    });
    return fn;
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
    definitions: readonly {
      id: string;
      description: string;
      metric: cloudwatch.Metric;
      /** `Sum` unless given: how many in 5 minutes. */
      statistic?: string;
    }[],
  ): void {
    const topic =
      settings.alarmTopicArn === undefined
        ? undefined
        : sns.Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);
    for (const { id, description, metric, statistic = 'Sum' } of definitions) {
      const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
        alarmDescription: description,
        metric: metric.with({ statistic, period: Duration.minutes(5) }),
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
 * Runs a function's own configuration check at synth, so a wrong template or list fails here
 * instead of at the first cold start. Values known only at deploy time get a valid stand-in.
 */
function checkEnvironment(
  name: string,
  environment: Readonly<Record<string, string>>,
  check: (env: Record<string, string>) => unknown,
): void {
  const standIn = (variable: string, value: string) =>
    !Token.isUnresolved(value)
      ? value
      : variable.endsWith('_ARN')
        ? 'arn:aws:deploy-time:value'
        : variable.endsWith('_URL')
          ? 'https://deploy-time.invalid/value'
          : 'deploy-time-value';
  try {
    check(
      Object.fromEntries(
        Object.entries(environment).map(([variable, value]) => [variable, standIn(variable, value)]),
      ),
    );
  } catch (error) {
    if (error instanceof ConfigError)
      throw new Error(`${name} settings in the CDK context: ${error.message}`);
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
