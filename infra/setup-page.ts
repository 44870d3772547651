import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { parseSetupConfig } from '../shared/setup/setup-config';
import { acknowledge } from './acknowledge';
import { BundledFunction, type FunctionPlacement } from './bundled-function';
import { checkEnvironment } from './check-environment';
import type { InfraSettings } from './settings';
import { SystemPart } from './system-part';

/** The setup API's stage: the page is `https://{api}.execute-api.{region}.amazonaws.com/github/setup`. */
const STAGE_NAME = 'github';

export interface SetupPageProps {
  readonly settings: InfraSettings;
  /** Where the App's id and key go: the functions' GitHub credentials secret. */
  readonly credentials: secretsmanager.Secret;
  /** Where the App's webhook secret goes. */
  readonly webhookSecret: secretsmanager.Secret;
  /** The stack's webhook: the App's webhook URL. */
  readonly webhookUrl: string;
  readonly placement: FunctionPlacement;
}

/**
 * The setup page (`functions/setup`): GitHub's App manifest flow for the deployment's scope, on an
 * API of its own (`/setup`, `/setup/callback`), behind a one-time setup secret generated at deploy
 * that only a reader of the stack's secrets can see. Its own API because the webhook's WAF admits
 * only GitHub's hook ranges, and the operator's browser is elsewhere (docs/security.md). The
 * function may write the GitHub credentials and the webhook secret, and nothing else of the stack.
 */
export class SetupPage extends SystemPart {
  readonly setupSecret: secretsmanager.Secret;
  readonly fn: BundledFunction;
  readonly api: apigw.RestApi;
  readonly url: string;
  /** A shell command that prints the one-time setup link (the `SetupLinkCommand` output). */
  readonly linkCommand: string;

  constructor(scope: Construct, id: string, props: SetupPageProps) {
    super(scope, id);
    const { settings } = props;
    const stack = Stack.of(this);
    this.setupSecret = new secretsmanager.Secret(this, 'SetupSecret', {
      secretName: settings.names.setupSecretName,
      description:
        'One-time key of the setup page (open SetupLinkCommand); setup records its completion here and the key stops working',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 40,
        excludePunctuation: true,
      },
    });

    const { webhookEnvironment } = settings;
    const environment: Record<string, string> = {
      SETUP_SECRET_ARN: this.setupSecret.secretArn,
      GITHUB_AUTH_SECRET_ARN: props.credentials.secretArn,
      WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      WEBHOOK_URL: props.webhookUrl,
      STACK_NAME: stack.stackName,
      RUNNER_SCOPE: webhookEnvironment.RUNNER_SCOPE ?? 'repo',
      ...(webhookEnvironment.GITHUB_API_URL !== undefined && {
        GITHUB_API_URL: webhookEnvironment.GITHUB_API_URL,
      }),
      ...(webhookEnvironment.ALLOWED_ORGS !== undefined && { ALLOWED_ORGS: webhookEnvironment.ALLOWED_ORGS }),
      ...(settings.redeliverEnvironment?.GITHUB_ORG !== undefined && {
        GITHUB_ORG: settings.redeliverEnvironment.GITHUB_ORG,
      }),
      // Spot profiles: the webhook re-runs a job an interruption failed, which needs actions: write.
      ...(settings.profiles.some((profile) => profile.spot) && { SETUP_SPOT_RERUN: 'true' }),
      POWERTOOLS_LOG_LEVEL: webhookEnvironment.POWERTOOLS_LOG_LEVEL ?? 'INFO',
    };
    checkEnvironment('setup', environment, (env) => parseSetupConfig(env));
    this.fn = new BundledFunction(this, 'Setup', {
      ...props.placement,
      name: 'setup',
      description: "The setup page: GitHub's App manifest flow, storing the App's credentials",
      environment,
      // The conversion, three secret writes and the readiness panel's GitHub calls.
      timeout: Duration.seconds(29),
    });
    const { role } = this.fn;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'UseSetupSecret',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [this.setupSecret.secretArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StoreGitHubCredentials',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [props.credentials.secretArn, props.webhookSecret.secretArn],
      }),
    );

    const accessLogs = new logs.LogGroup(this, 'SetupApiAccessLogs', {
      retention: settings.logRetentionDays,
    });
    this.api = new apigw.RestApi(this, 'SetupRestApi', {
      description: 'The setup page of the GitHub runners (behind a one-time setup secret)',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        // One operator's browser: a handful of requests a minute.
        throttlingRateLimit: 5,
        throttlingBurstLimit: 20,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const integration = new apigw.LambdaIntegration(this.fn.function, { allowTestInvoke: false });
    const setup = this.api.root.addResource('setup');
    setup.addMethod('GET', integration);
    setup.addMethod('POST', integration);
    setup.addResource('callback').addMethod('GET', integration);
    this.api.node.tryRemoveChild('Endpoint');
    this.url = this.api.urlForPath('/setup');

    acknowledge(
      this.api,
      "A browser opening a one-time link cannot present an API Gateway authorizer's token or a Cognito login that this stack would first have to set up: the function checks the one-time setup key, then its HMAC in an HttpOnly SameSite cookie, on every request.",
      'APIG4',
      'COG4',
    );
    acknowledge(
      this.api,
      'The function validates the query, the form and the cookies itself; a request validator would only repeat it.',
      'APIG2',
    );
    acknowledge(
      this.api,
      "Execution logging needs the account-wide API Gateway CloudWatch role; the stage's access log records every request and the function logs each setup step.",
      'APIG6',
    );
    acknowledge(
      this.api,
      "No WAF: the operator's address is not known in advance (the webhook's WAF admits only GitHub's hook ranges, docs/security.md). The stage is throttled to 5 requests a second, and nothing happens without the one-time key.",
      'APIG3',
    );
    acknowledge(
      this.setupSecret,
      'A one-time key: setup completing retires it; a new one comes with a new stack.',
      'SMG4',
    );

    const region = stack.region;
    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output('SetupUrl', this.url, 'The setup page (it opens with the link SetupLinkCommand prints)');
    output('SetupSecretArn', this.setupSecret.secretArn, "The setup page's one-time secret");
    this.linkCommand = `echo "${this.url}?key=$(aws secretsmanager get-secret-value --region ${region} --secret-id ${this.setupSecret.secretArn} --query SecretString --output text | sed -E 's/.*"key":"([^"]*)".*/\\1/')"`;
    output(
      'SetupLinkCommand',
      this.linkCommand,
      'Prints the one-time setup link (open it once: it works until setup completes)',
    );
    output(
      'SetupSecretConsoleUrl',
      `https://${region}.console.aws.amazon.com/secretsmanager/secret?name=${encodeURIComponent(settings.names.setupSecretName)}&region=${region}`,
      'The setup secret in the console: Retrieve secret value shows the key of SetupUrl?key=…',
    );
  }
}
