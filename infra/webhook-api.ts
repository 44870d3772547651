import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { TEMPLATE_DEFAULTS } from '../shared/defaults';
import { acknowledge } from './acknowledge';
import type { AlarmDefinition } from './alarms';
import { BundledFunction, type FunctionPlacement } from './bundled-function';
import type { CapacityAccess } from './capacity-function';
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

/** The REST API's stage: the webhook URL is `https://{api}.execute-api.{region}.amazonaws.com/github/webhook`. */
const STAGE_NAME = 'github';

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
  /** Owned capacity's function, asked for an instance when none is free; none: ECS places the tasks. */
  readonly capacity: CapacityAccess | undefined;
  readonly placement: FunctionPlacement;
}

/**
 * The webhook function behind a REST API: `POST /webhook`, throttled, with access logs. A REST
 * API, not an HTTP API: only a REST API stage can have a WAF web ACL (`WebhookFirewall`, which
 * refuses sources outside GitHub's hook ranges before the stage's throttle counts them).
 */
export class WebhookApi extends SystemPart {
  readonly webhook: BundledFunction;
  readonly api: apigw.RestApi;
  readonly url: string;
  readonly alarms: readonly AlarmDefinition[];

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    const { settings, tasks } = props;
    const environment = {
      WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      ...props.environment,
      ...props.capacity?.environment,
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
    for (const statement of props.capacity?.statements() ?? []) role.addToPolicy(statement);
    acknowledgeLaunchStatements(role, tasks);

    const accessLogs = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: settings.logRetentionDays,
    });
    this.api = new apigw.RestApi(this, 'WebhookRestApi', {
      description: 'GitHub webhook (workflow_job), behind a WAF web ACL of GitHub hook ranges',
      // Regional: WAF sees the caller's own address (an edge API's would be CloudFront's).
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // No account-wide API Gateway logging role from this stack (it is one setting per account and region).
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        // One stage-wide limit for all callers; the web ACL refuses other sources before it counts.
        throttlingRateLimit: settings.apiThrottle.rateLimit,
        throttlingBurstLimit: settings.apiThrottle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    this.api.root.addResource('webhook').addMethod(
      'POST',
      // Proxy integration: the function gets the REST (1.0) event, body as sent (shared/webhook/lambda-event.ts).
      new apigw.LambdaIntegration(this.webhook.function, { allowTestInvoke: false }),
    );
    this.url = this.api.urlForPath('/webhook');
    // RestApi adds an output of the stage's root URL; the stack's output is WebhookUrl, the docs' and the doctor's.
    this.api.node.tryRemoveChild('Endpoint');
    acknowledge(
      this.api,
      'GitHub cannot sign requests for an API Gateway authorizer or send a Cognito token; the function verifies X-Hub-Signature-256 (HMAC) on every delivery, and the WAF web ACL admits only GitHub hook ranges.',
      'APIG4',
      'COG4',
    );
    acknowledge(
      this.api,
      'A request validator cannot check an HMAC signature over the body; the function verifies X-Hub-Signature-256 and parses the payload itself.',
      'APIG2',
    );
    acknowledge(
      this.api,
      "Execution logging needs the account-wide API Gateway CloudWatch role, one setting shared by every API of the account and region; the stage's access log records every request and the function logs each delivery.",
      'APIG6',
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
    // The doctor and the setup page check what this scope needs (repository runners: no group).
    const runnerScope = settings.webhookEnvironment.RUNNER_SCOPE ?? 'repo';
    output('RunnerScope', runnerScope, 'Where runners register (RUNNER_SCOPE): repo, org or enterprise');
    if (runnerScope !== 'repo') {
      output(
        'RunnerGroupTemplate',
        settings.webhookEnvironment.RUNNER_GROUP_TEMPLATE ?? TEMPLATE_DEFAULTS.group,
        'The runner group template (RUNNER_GROUP_TEMPLATE) the doctor checks',
      );
    }

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
