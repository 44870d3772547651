import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { QUEUED_LAUNCH_DEADLINE_MS } from '../shared/queue/launch-queued-job';
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
} from './runner-permissions';
import { SystemPart } from './system-part';

/** Overflow messages the launcher takes per invocation (it handles them one at a time). */
export const LAUNCHER_BATCH_SIZE = 10;

/** The launcher handles a batch one message at a time, each with up to QUEUED_LAUNCH_DEADLINE_MS. */
const LAUNCHER_TIMEOUT = Duration.seconds(
  Math.ceil((LAUNCHER_BATCH_SIZE * QUEUED_LAUNCH_DEADLINE_MS) / 1000) + 10,
);

/**
 * The overflow queue: jobs the webhook could not start a task for within GitHub's 10 s. AWS asks
 * for a visibility timeout of at least six times the consumer's timeout for an SQS event source.
 * GitHub cancels a job queued for 24 hours, so a message older than a day has no job left to serve.
 */
export class OverflowQueue extends SystemPart {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly alarms: readonly AlarmDefinition[];

  constructor(scope: Construct, id: string, props: { readonly maxReceiveCount: number }) {
    super(scope, id);
    this.deadLetters = new sqs.Queue(this, 'OverflowDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Overflow', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(6 * LAUNCHER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: props.maxReceiveCount },
    });
    new CfnOutput(this, 'OverflowQueueUrl', {
      value: this.queue.queueUrl,
      description: 'Jobs waiting for the launcher',
    });
    new CfnOutput(this, 'OverflowDeadLetterQueueUrl', {
      value: this.deadLetters.queueUrl,
      description: 'Jobs that got no runner task after every try',
    });
    this.alarms = [
      {
        id: 'OverflowDeadLetters',
        description:
          'Queued jobs got no runner task after every try (overflowMaxReceiveCount): read the launcher log, then redrive or drop them.',
        metric: this.deadLetters.metricApproximateNumberOfMessagesVisible(),
        statistic: 'Maximum',
      },
    ];
  }
}

export interface LauncherProps {
  /** The launcher's environment but the queue URL: the functions' shared settings. */
  readonly environment: Readonly<Record<string, string>>;
  readonly overflow: OverflowQueue;
  readonly ledger: JobLedger;
  readonly configs: RunnerConfigBucket;
  readonly tasks: RunnerTaskScope;
  readonly jitCredentials: secretsmanager.Secret | undefined;
  /** Owned capacity's function, asked for an instance when none is free; none: ECS places the tasks. */
  readonly capacity: CapacityAccess | undefined;
  readonly placement: FunctionPlacement;
}

/** The overflow queue's consumer: starts the runner tasks the webhook could not start in time. */
export class Launcher extends SystemPart {
  readonly launcher: BundledFunction;
  readonly alarms: readonly AlarmDefinition[];

  constructor(scope: Construct, id: string, props: LauncherProps) {
    super(scope, id);
    const { queue } = props.overflow;
    // The launcher receives no webhooks: no webhook secret. The queue URL is for its retry delays.
    const environment = {
      ...props.environment,
      ...props.capacity?.environment,
      OVERFLOW_QUEUE_URL: queue.queueUrl,
    };
    checkEnvironment('launcher', environment, (env) => parseConfig(env));
    this.launcher = new BundledFunction(this, 'Launcher', {
      ...props.placement,
      name: 'launcher',
      description: 'Overflow queue consumer: starts the runner tasks the webhook could not start in time',
      environment,
      timeout: LAUNCHER_TIMEOUT,
    });
    const { role } = this.launcher;
    for (const statement of launchRunnerStatements(props.tasks)) role.addToPolicy(statement);
    role.addToPolicy(
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
        resources: [queue.queueArn],
      }),
    );
    role.addToPolicy(describeRunnerTasksStatement(props.tasks));
    role.addToPolicy(props.ledger.useStatement());
    role.addToPolicy(props.configs.writeStatement());
    props.configs.acknowledgeWriter(role);
    if (props.jitCredentials !== undefined) {
      role.addToPolicy(readSecretStatement('ReadGitHubCredentials', props.jitCredentials.secretArn));
    }
    for (const statement of props.capacity?.statements() ?? []) role.addToPolicy(statement);
    acknowledgeLaunchStatements(role, props.tasks);

    const source = new lambda.EventSourceMapping(this, 'LauncherSource', {
      target: this.launcher.function,
      eventSourceArn: queue.queueArn,
      batchSize: LAUNCHER_BATCH_SIZE,
      reportBatchItemFailures: true,
      // RunTask's rate is the account's: two launchers leave most of it to the webhook.
      maxConcurrency: 2,
    });
    // The mapping reads the queue as the launcher's role: the policy must exist first.
    source.node.addDependency(role);

    this.alarms = [
      {
        id: 'LauncherErrors',
        description:
          'The launcher function failed (not a job that failed to start: those are retried from the queue).',
        metric: this.launcher.function.metricErrors(),
      },
      {
        id: 'LauncherSetupErrors',
        description:
          'A queued job failed on a setup mistake retrying cannot fix (runner group, GitHub refusal, access denied, missing task definition or cluster): read the launcher log.',
        metric: runnerMetric(METRIC.setupErrors, 'launcher'),
      },
    ];
  }
}
