import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { acknowledge } from './acknowledge';
import type { AlarmDefinition } from './alarms';
import { BundledFunction, type FunctionPlacement } from './bundled-function';
import { checkEnvironment } from './check-environment';
import type { JobLedger } from './job-ledger';
import type { RunnerConfigBucket } from './runner-config-bucket';
import { METRIC, runnerMetric } from './runner-metrics';
import {
  acknowledgeLaunchStatements,
  describeRunnerTasksStatement,
  launchRunnerStatements,
  type RunnerTaskScope,
  readSecretStatement,
  stopRunnerTasksStatement,
} from './runner-permissions';
import type { InfraSettings } from './settings';
import { SystemPart } from './system-part';

export interface WebhookApiProps {
  /** The functions' shared settings; the webhook adds its secret and the overflow queue. */
  readonly environment: Readonly<Record<string, string>>;
  readonly settings: InfraSettings;
  readonly webhookSecret: secretsmanager.Secret;
  readonly jitCredentials: secretsmanager.Secret | undefined;
  readonly overflowQueue: sqs.IQueue;
  readonly ledger: JobLedger;
  readonly configs: RunnerConfigBucket;
  readonly tasks: RunnerTaskScope;
  readonly placement: FunctionPlacement;
}

/** The webhook function behind an HTTP API: `POST /webhook`, throttled, with access logs. */
export class WebhookApi extends SystemPart {
  readonly webhook: BundledFunction;
  readonly api: apigw.HttpApi;
  readonly url: string;
  readonly alarms: readonly AlarmDefinition[];

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    const { settings, tasks } = props;
    const environment = {
      WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      ...props.environment,
      OVERFLOW_QUEUE_URL: props.overflowQueue.queueUrl,
    };
    checkEnvironment('webhook', environment, (env) => parseConfig(env));
    this.webhook = new BundledFunction(this, 'Webhook', {
      ...props.placement,
      name: 'webhook',
      description: 'GitHub workflow_job webhook: one ephemeral runner task per queued job',
      environment,
      // GitHub waits 10 s for an answer: a longer run has no one left to answer.
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: settings.reservedConcurrency,
    });
    const { role } = this.webhook;
    for (const statement of launchRunnerStatements(tasks)) role.addToPolicy(statement);
    role.addToPolicy(readSecretStatement('ReadWebhookSecret', props.webhookSecret.secretArn));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'QueueOverflowJobs',
        actions: ['sqs:SendMessage'],
        resources: [props.overflowQueue.queueArn],
      }),
    );
    role.addToPolicy(describeRunnerTasksStatement(tasks));
    role.addToPolicy(props.ledger.useStatement());
    role.addToPolicy(props.configs.writeStatement());
    props.configs.acknowledgeWriter(role);
    if (props.jitCredentials !== undefined) {
      role.addToPolicy(readSecretStatement('ReadGitHubCredentials', props.jitCredentials.secretArn));
      // A `completed` job of ours makes the webhook check its run's runner tasks and stop idle ones.
      role.addToPolicy(stopRunnerTasksStatement(tasks));
    }
    acknowledgeLaunchStatements(role, tasks);

    const accessLogs = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: settings.logRetentionDays,
    });
    this.api = new apigw.HttpApi(this, 'WebhookApi', {
      description: 'GitHub organisation webhook (workflow_job)',
      createDefaultStage: false,
    });
    new apigw.HttpStage(this, 'WebhookApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.apiThrottle,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });
    this.api.addRoutes({
      path: '/webhook',
      methods: [apigw.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Webhook', this.webhook.function),
    });
    this.url = `${this.api.apiEndpoint}/webhook`;
    acknowledge(
      this.api,
      'GitHub cannot sign requests for an API Gateway authorizer; the function verifies X-Hub-Signature-256 (HMAC) on every delivery.',
      'APIG4',
    );

    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output('WebhookUrl', this.url, 'Organisation webhook: Payload URL');
    output('WebhookContentType', 'application/json', 'Organisation webhook: Content type');
    output(
      'WebhookEvents',
      'workflow_job',
      'Organisation webhook: "Let me select individual events" → Workflow jobs only',
    );

    this.alarms = [
      {
        id: 'WebhookErrors',
        description:
          'The webhook function failed (a fault of ours or a cold start with a bad configuration).',
        metric: this.webhook.function.metricErrors(),
      },
      {
        id: 'WebhookThrottles',
        description:
          'The webhook function was throttled: deliveries are answered 5xx (see reservedConcurrency).',
        metric: this.webhook.function.metricThrottles(),
      },
      {
        id: 'WebhookServerErrors',
        description: 'GitHub got 5xx answers (503: no runner task within the deadline). Redeliver them.',
        metric: this.api.metricServerError(),
      },
      {
        id: 'RunTaskFailures',
        description:
          'ECS did not start a runner task within the deadline and the overflow queue did not take the job either: GitHub got a 503.',
        metric: runnerMetric(METRIC.runTaskFailures, 'webhook'),
      },
      {
        id: 'WebhookSetupErrors',
        description:
          'A delivery failed on a setup mistake retrying cannot fix (runner group, GitHub refusal, access denied, missing task definition or cluster): GitHub got a 503 with the fix; the webhook log has the detail.',
        metric: runnerMetric(METRIC.setupErrors, 'webhook'),
      },
    ];
  }
}
