import { createHash } from 'node:crypto';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CAPACITY_MESSAGE_GROUP } from '../shared/capacity/ask-capacity';
import { parseCapacitySettings } from '../shared/capacity/capacity-groups';
import { parseConfig } from '../shared/config';
import { wildcardResource } from './acknowledge';
import type { FunctionPlacement } from './bundled-function';
import type { InstanceLedger } from './instance-ledger';
import type { JobLedger } from './job-ledger';
import type { DeployedGroup } from './runner-capacity';
import type { RunnerConfigBucket } from './runner-config-bucket';
import {
  describeRunnerTasksStatement,
  launchRunnerStatements,
  launchWildcardFindings,
  type RunnerTaskScope,
  readSecretStatement,
  stopRunnerTasksStatement,
} from './runner-permissions';
import { ScheduledSweep } from './scheduled-sweep';
import { SystemPart } from './system-part';

/** How often the capacity function runs without an event: its own repair of a lost one. */
export const CAPACITY_RATE = Duration.minutes(1);

/** Throttled events older than this are dropped: the schedule has read the state since. */
const MAX_EVENT_AGE = Duration.minutes(10);

/**
 * EventBridge's names for the events the capacity function takes (AWS: "Amazon ECS events",
 * "EC2 Spot Instance interruption notices", "Amazon EC2 Auto Scaling events").
 */
export const CAPACITY_EVENTS = {
  task: 'ECS Task State Change',
  containerInstance: 'ECS Container Instance State Change',
  spotInterruption: 'EC2 Spot Instance Interruption Warning',
  autoScaling: [
    'EC2 Instance Launch Successful',
    'EC2 Instance Launch Unsuccessful',
    'EC2 Instance Terminate Successful',
  ],
} as const;

/**
 * What the functions that claim instances and ask for new ones get (the webhook, the launcher, the
 * reconciler): the capacity queue, the right to send to it, and the instance ledger. Every capacity
 * event goes through this one FIFO queue (one message group): EventBridge's rules and schedule and
 * our functions' requests for an instance. Lambda's event source hands the capacity function one
 * batch at a time, in order, never throttled (an asynchronous invoke of a function of reserved
 * concurrency 1 is throttled and retried with a backoff of up to five minutes: the simulation's
 * first design). Content-based deduplication: EventBridge's events carry their ids, our requests
 * theirs. Made before its callers; the function after them.
 */
export class CapacityAccess extends SystemPart {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly functionName: string;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly stackName: string; readonly instances: InstanceLedger },
  ) {
    super(scope, id);
    this.instances = props.instances;
    this.functionName = capacityFunctionName(props.stackName);
    this.deadLetters = new sqs.Queue(this, 'CapacityDeadLetters', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'CapacityEvents', {
      fifo: true,
      contentBasedDeduplication: true,
      // Six times the function's timeout, as Lambda asks of a queue it reads.
      visibilityTimeout: Duration.seconds(6 * CAPACITY_TIMEOUT_SECONDS),
      // An event older than this has been read again by a round since.
      retentionPeriod: Duration.hours(1),
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 3 },
    });
  }

  readonly instances: InstanceLedger;

  /** The callers' `CAPACITY_QUEUE_URL`. */
  get environment(): Readonly<Record<string, string>> {
    return { CAPACITY_QUEUE_URL: this.queue.queueUrl };
  }

  statements(): iam.PolicyStatement[] {
    return [
      this.instances.useStatement(),
      new iam.PolicyStatement({
        sid: 'AskForInstances',
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
      }),
    ];
  }

  /** EventBridge's target for a capacity event: the queue, in the one message group. */
  target(): events.IRuleTarget {
    return new targets.SqsQueue(this.queue, { messageGroupId: CAPACITY_MESSAGE_GROUP });
  }
}

/** The capacity function's timeout, under the schedule's minute. */
const CAPACITY_TIMEOUT_SECONDS = 55;

/** `<stackName>-capacity`, within Lambda's 64 characters (a long stack name shortened, with a hash of it). */
export function capacityFunctionName(stackName: string): string {
  const name = `${stackName}-capacity`;
  if (name.length <= 64) return name;
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  return `${stackName.slice(0, 64 - '-capacity'.length - hash.length - 1)}-${hash}-capacity`;
}

export interface CapacityFunctionProps {
  /** The functions' shared settings, owned capacity's (`INSTANCES_TABLE`, `CAPACITY_*`) included. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tasks: RunnerTaskScope;
  readonly groups: readonly DeployedGroup[];
  readonly ledger: JobLedger;
  /** Its name and the instance ledger, as its callers know them. */
  readonly access: CapacityAccess;
  readonly configs: RunnerConfigBucket;
  readonly credentials: secretsmanager.Secret;
  /** The launcher's queue: the function hands each waiting job's launch to it. */
  readonly overflowQueue: sqs.IQueue;
  readonly placement: FunctionPlacement;
}

/**
 * The capacity function (owned capacity): the one writer of the groups' desired capacity. It
 * takes the cluster's task and container instance state changes, the groups' launches and
 * terminations, Spot interruption warnings (with a Spot group) and a schedule every minute, and
 * gives each queued job a pristine instance and its task, keeps the pools, and terminates an
 * instance once its job is done. One at a time (reserved concurrency 1): two runs never set one
 * group's desired capacity from two readings.
 *
 * As the sweeps, a failed run is not retried: the next event or the next minute reads the state
 * again. An event that waited longer than {@link MAX_EVENT_AGE} behind others is dropped: by then
 * a scheduled run has read what it said.
 */
export class CapacityFunction extends ScheduledSweep {
  constructor(scope: Construct, id: string, props: CapacityFunctionProps) {
    const { tasks, groups, configs, access } = props;
    const groupArns = groups.map((group) => autoScalingGroupArn(tasks, group.autoScalingGroupName));
    const containerInstances = `arn:${tasks.partition}:ecs:${tasks.region}:${tasks.account}:container-instance/${tasks.clusterName}/*`;
    super(scope, id, {
      functionId: 'Capacity',
      name: 'capacity',
      functionName: access.functionName,
      description:
        "Owned capacity: a pristine instance and its task for each queued job, the pools kept, each instance terminated after its job (the cluster's and groups' events, and every minute)",
      environment: { ...props.environment, OVERFLOW_QUEUE_URL: props.overflowQueue.queueUrl },
      check: (env) => {
        parseConfig(env);
        parseCapacitySettings(env);
      },
      rate: CAPACITY_RATE,
      // Under the schedule's minute, as the reconciler: a run never outlasts the next one's turn.
      timeout: Duration.seconds(CAPACITY_TIMEOUT_SECONDS),
      reservedConcurrency: 1,
      maxEventAge: MAX_EVENT_AGE,
      scheduleTarget: access.target(),
      placement: props.placement,
      statements: [
        new iam.PolicyStatement({
          sid: 'SetOwnedGroupsCapacity',
          actions: [
            'autoscaling:SetDesiredCapacity',
            'autoscaling:TerminateInstanceInAutoScalingGroup',
            'autoscaling:SuspendProcesses',
          ],
          resources: groupArns,
        }),
        describeAutoScalingGroupsStatement([
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeWarmPool',
        ]),
        ...launchRunnerStatements(tasks),
        describeRunnerTasksStatement(tasks),
        stopRunnerTasksStatement(tasks),
        new iam.PolicyStatement({
          sid: 'ListContainerInstances',
          actions: ['ecs:ListContainerInstances'],
          resources: [tasks.clusterArn],
        }),
        new iam.PolicyStatement({
          sid: 'DescribeContainerInstances',
          actions: ['ecs:DescribeContainerInstances'],
          resources: [containerInstances],
          conditions: { ArnEquals: { 'ecs:cluster': tasks.clusterArn } },
        }),
        props.ledger.useStatement(),
        access.instances.useStatement(),
        configs.writeStatement(),
        configs.presignReadStatement(),
        readSecretStatement('ReadGitHubCredentials', props.credentials.secretArn),
        new iam.PolicyStatement({
          sid: 'HandLaunchesToTheLauncher',
          actions: ['sqs:SendMessage'],
          resources: [props.overflowQueue.queueArn],
        }),
      ],
      acknowledged: {
        reason:
          'Auto Scaling group ARNs carry a generated id: the groups are named, the id is a wildcard. Describing groups and warm pools takes no resource. Task and container instance ARNs exist only after RunTask and registration: they are scoped to the cluster (and ListTasks, which has no resource, by ecs:cluster); RunTask takes any revision of the runner families; config objects exist per job, under their prefix.',
        findings: [
          ...launchWildcardFindings(scope, tasks),
          ...groupArns.map((arn) => wildcardResource(scope, arn)),
          wildcardResource(scope, containerInstances),
          wildcardResource(scope, configs.configsArn),
        ],
      },
      failureMeans:
        'The capacity function failed: queued jobs may wait for an instance, and done instances run on, until a run works (the reconciler relaunches lost tasks meanwhile).',
    });

    // One batch at a time, in order: the function is the one writer of the desired counts.
    this.fn.function.addEventSource(
      new SqsEventSource(access.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    const rule = (ruleId: string, description: string, eventPattern: events.EventPattern) =>
      new events.Rule(this, ruleId, { description, eventPattern, targets: [access.target()] });
    rule('CapacityTaskStateChanges', "Runner tasks of the stack's cluster that started or stopped", {
      source: ['aws.ecs'],
      detailType: [CAPACITY_EVENTS.task],
      detail: { clusterArn: [tasks.clusterArn] },
    });
    rule(
      'CapacityContainerInstanceStateChanges',
      "Instances that registered with the stack's cluster, or changed state",
      {
        source: ['aws.ecs'],
        detailType: [CAPACITY_EVENTS.containerInstance],
        detail: { clusterArn: [tasks.clusterArn] },
      },
    );
    rule('CapacityInstanceLifecycle', "The owned groups' instance launches (or failures) and terminations", {
      source: ['aws.autoscaling'],
      detailType: [...CAPACITY_EVENTS.autoScaling],
      detail: { AutoScalingGroupName: groups.map((group) => group.autoScalingGroupName) },
    });
    // The warning names only the instance: it cannot be filtered to ours (the function looks it up).
    if (groups.some((group) => group.group.spot)) {
      rule('CapacitySpotInterruptions', "Spot interruption warnings (two minutes' notice) of the account", {
        source: ['aws.ec2'],
        detailType: [CAPACITY_EVENTS.spotInterruption],
      });
    }
  }
}

/** A named Auto Scaling group's ARN: its id (`autoScalingGroup:<uuid>:`) is known only once it exists. */
const autoScalingGroupArn = (scope: RunnerTaskScope, name: string): string =>
  `arn:${scope.partition}:autoscaling:${scope.region}:${scope.account}:autoScalingGroup:*:autoScalingGroupName/${name}`;

/**
 * Reading the groups (desired capacity, instances, warm pool): Auto Scaling's Describe calls take no
 * resource (AWS: "Actions, resources, and condition keys for Amazon EC2 Auto Scaling").
 */
export const describeAutoScalingGroupsStatement = (
  actions: readonly string[] = ['autoscaling:DescribeAutoScalingGroups'],
): iam.PolicyStatement =>
  new iam.PolicyStatement({ sid: 'DescribeAutoScalingGroups', actions: [...actions], resources: ['*'] });
