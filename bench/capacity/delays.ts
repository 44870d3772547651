/**
 * Every delay of the capacity simulation, in seconds, with where its range comes from. A range is
 * `[low, high]`, drawn as {@link Random.within} says (triangular, skewed long). Where no public figure
 * exists the source says "assumed" and why. One table: the simulation reads it, the report prints it.
 */
import type { Random } from './random';

export interface Delay {
  readonly range: readonly [number, number];
  /** What the delay spans. */
  readonly what: string;
  /** The public source (URL), or "assumed: …" with the reason. */
  readonly source: string;
}

const delay = (range: readonly [number, number], what: string, source: string): Delay => ({
  range,
  what,
  source,
});

/** The runner image's compressed size the pull moves (docs/runner-image.md, plus the runner release). */
export const IMAGE_COMPRESSED_MB = 370;

export const DELAYS = {
  webhookDelivery: delay(
    [0.5, 3],
    'GitHub: job queued → its workflow_job delivery reaches the webhook',
    'assumed: GitHub publishes no delivery latency; it gives a delivery 10 s to be answered (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks)',
  ),
  githubApi: delay(
    [0.15, 0.6],
    'one GitHub REST call (runner group, generate-jitconfig, job look-up)',
    'assumed: REST round trip from us-east-1, no published figure',
  ),
  s3Put: delay([0.02, 0.1], "S3 PutObject of the runner's environment file", 'assumed: no published figure'),
  runTask: delay(
    [0.15, 0.6],
    'ECS RunTask call',
    'assumed: no published latency (the bench measures our own client against a loopback stand-in, not AWS)',
  ),
  autoScalingApi: delay(
    [0.1, 0.4],
    'one EC2 Auto Scaling call (DescribeAutoScalingGroups, SetDesiredCapacity, TerminateInstanceInAutoScalingGroup)',
    'assumed: no published latency',
  ),
  lambdaAsync: delay(
    [0.05, 0.5],
    "an asynchronous Invoke (InvocationType Event) → the capacity function's handler runs",
    'assumed: Lambda queues the event and publishes no delay (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html)',
  ),
  sqsSend: delay([0.01, 0.05], 'SQS SendMessage', 'assumed: no published latency'),
  sqsToLambda: delay(
    [0.05, 1],
    'a message in an SQS queue → the handler of the function its event source mapping feeds',
    'assumed: the event source mapping long-polls the queue (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), no published delay',
  ),
  lambdaOverhead: delay(
    [0.005, 0.03],
    'a warm Lambda invocation, besides the calls it makes',
    'assumed: warm invocations of a small Node.js handler',
  ),
  eventBridge: delay(
    [0.5, 3],
    'an AWS service event (ECS task or container instance change, Auto Scaling launch or termination) → the capacity function',
    'EventBridge bus delivery measured at well under a second since its 2023 latency work (https://medium.com/postnl-engineering/improved-eventbridge-latency-opens-up-new-use-cases-at-postnl-910fdf6b5dde); ECS and Auto Scaling send their events to EventBridge directly (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ecs.html); the delay before a service emits one is assumed up to a few seconds',
  ),
  asgReaction: delay(
    [1, 5],
    'SetDesiredCapacity → Auto Scaling starts the launch (or the resume)',
    'assumed: Auto Scaling acts on a desired-capacity change in its next activity, seconds',
  ),
  ec2Launch: delay(
    [6, 20],
    'RunInstances → the instance is running (pending state)',
    '1.5 s API + 4.9 s pending → running measured on c5.xlarge (https://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html); an encrypted EBS root (ours) launches slower (https://www.martysweet.co.uk/ec2-launch-times/)',
  ),
  ec2Boot: delay(
    [18, 35],
    'running → the ECS-optimised AMI booted: cloud-init has run our user data, Docker and the ECS agent start',
    '17 s running → network up, 5.6 s more to sshd for Amazon Linux (https://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html); Amazon Linux 2023 the fastest general-purpose AMI (https://www.martysweet.co.uk/ec2-launch-times/); Docker and the agent after cloud-init: assumed a few seconds more',
  ),
  agentRegistration: delay(
    [2, 8],
    'ECS agent started → its container instance ACTIVE, agent connected',
    'assumed: the agent registers at its start (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ECS_agent.html), no published duration',
  ),
  warmResume: delay(
    [8, 20],
    'a stopped warm-pool instance → running (StartInstances by Auto Scaling)',
    'assumed as a launch without the volume creation; AWS: warm-pool instances "can be launched to serve traffic in as low as 30 seconds" (https://www.infoq.com/news/2021/05/aws-warm-pools/), this row and the next two sum to about that',
  ),
  warmBoot: delay(
    [10, 22],
    'a resumed instance running → Docker and the ECS agent started (a reboot of a volume that booted once: no first-boot work, its blocks already read)',
    'assumed; a second boot of a hydrated EBS volume is much faster than the first (https://news.ycombinator.com/item?id=40455208, "Making EC2 boot time faster")',
  ),
  warmPoolStop: delay(
    [20, 60],
    'a warm-pool instance booted and pulled the image → stopped (Warmed:Stopped)',
    'assumed: the lifecycle to Warmed:Stopped (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html) publishes no duration',
  ),
  imagePull: delay(
    [8, 25],
    `pull of the runner image (≈ ${IMAGE_COMPRESSED_MB} MB compressed), started by the user data at boot`,
    'size: 170 MB compressed without the runner release (docs/runner-image.md), plus ≈ 200 MB for the release (assumed from the release asset, not measured here); rate assumed 15–45 MB/s of download and gzip decompression on one core, written to gp3 at its 125 MB/s baseline (https://aws.amazon.com/ebs/general-purpose/)',
  ),
  taskStart: delay(
    [1, 4],
    'a task placed on an instance with the image cached → its container RUNNING',
    'assumed: the agent creates and starts the container (https://docs.aws.amazon.com/AmazonECS/latest/bestpracticesguide/task.html), no published duration',
  ),
  dockerdStart: delay(
    [1, 3],
    "container RUNNING → the task's own dockerd answers (docker-in-docker on the task's scratch volume)",
    'assumed: dockerd starts in seconds on a volume with no images; with the next row, the ~8–10 s of runner start reported for GitHub Actions (https://news.ycombinator.com/item?id=40455208); docs/infrastructure.md estimates 5–10 s',
  ),
  runnerConnect: delay(
    [3, 6],
    'the runner started from its JIT config → connected to GitHub, waiting for its job',
    'assumed: the listener (.NET) starts and opens its session; with the row above, the ~8–10 s reported for runner start and job assignment (https://news.ycombinator.com/item?id=40455208)',
  ),
  standbyPoll: delay(
    [0, 0.5],
    "a job's config written → the standby's next GET of it (it polls every 0.5 s) and the DELETE",
    'the entry point polls every RUNNER_STANDBY_POLL = 0.5 s (infra/runner-image/entrypoint.sh); an S3 GET of a small object: tens of ms, assumed',
  ),
  jobAssignment: delay(
    [0.5, 2],
    'runner connected → GitHub assigns it the job (job started)',
    'assumed: the runner long-polls for its job; no published figure',
  ),
  taskStop: delay(
    [3, 10],
    'job completed → the runner and dockerd exit, the task STOPPED',
    'assumed: the entry point stops dockerd, the agent reports the stop',
  ),
  terminate: delay(
    [20, 60],
    'TerminateInstanceInAutoScalingGroup → the instance gone from the group (its termination event)',
    'assumed; billing stops as the instance shuts down (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html): counted to the terminate call',
  ),
  provisioningPlacement: delay(
    [1, 5],
    'managed scaling: capacity appears (an instance registers, a task stops) → ECS places a PROVISIONING task on it',
    'assumed: ECS retries placement of PROVISIONING tasks (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html), no published interval',
  ),
  alarmEvaluation: delay(
    [10, 60],
    "managed scaling: a minute's CapacityProviderReservation datapoint → its alarm evaluated and the policy run",
    'assumed: the metric is published each minute and acted on through CloudWatch alarms, a latency AWS names without a figure (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/capacity-cluster-speed-up-ec2.html)',
  ),
} as const satisfies Record<string, Delay>;

export type DelayName = keyof typeof DELAYS;

/** ECS managed scaling as our stack configures it (infra/runner-capacity.ts), each with its source. */
export const MANAGED_SCALING = {
  /** Seconds between CapacityProviderReservation datapoints. */
  metricPeriodSeconds: 60,
  /** The stack's `targetCapacityPercent` default (infra/settings.ts). */
  targetCapacity: 100,
  /** Scale out on one datapoint above the target; scale in after 15 below it. */
  scaleOutDatapoints: 1,
  scaleInDatapoints: 15,
  /** The reservation with tasks waiting and no instance: 200, so at least two instances launch. */
  fromZeroReservation: 200,
  /** The default we do not change: an instance this new contributes nothing to the metric. */
  instanceWarmupSeconds: 300,
  minimumScalingStepSize: 1,
  maximumScalingStepSize: 10_000,
  sources: [
    'CapacityProviderReservation = M / N × 100, published each minute, a target tracking policy with a high and a low alarm: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-auto-scaling.html',
    'high alarm: above the target for 1 minute; low alarm: below it for 15 minutes: https://github.com/aws/containers-roadmap/issues/900 (and https://aws.amazon.com/blogs/containers/deep-dive-on-amazon-ecs-cluster-auto-scaling/)',
    'no instance and tasks waiting: the reservation is 200, "at least 2 instances being launched": https://github.com/aws/containers-roadmap/issues/1716',
    'instanceWarmupPeriod 300 s by default, minimumScalingStepSize 1, maximumScalingStepSize 10,000: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedScaling.html',
    'during a warm-up a new scale-out only adds what goes beyond the capacity already asked for: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html',
  ],
} as const;

/** Lambda's retries of a throttled asynchronous invocation (the capacity function has reserved concurrency 1). */
export const LAMBDA_THROTTLE_RETRY = {
  firstSeconds: 1,
  maxSeconds: 300,
  source:
    '"The retry interval increases exponentially from 1 second after the first attempt to a maximum of 5 minutes": https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html',
} as const;

/** us-east-1 list prices of what an instance costs. */
export const PRICES = {
  instanceType: 't3.medium',
  /** On-Demand, Linux, per hour. */
  instancePerHour: 0.0416,
  /** A public IPv4 address (every instance has one: the stack's VPC has no NAT), per hour while running. */
  publicIpv4PerHour: 0.005,
  /** gp3, per GB-month; the root volume exists while the instance does, stopped or running. */
  ebsGbMonth: 0.08,
  rootVolumeGiB: 50,
  hoursPerMonth: 730,
  sources: [
    't3.medium $0.0416/h On-Demand, Linux, us-east-1: https://aws.amazon.com/ec2/pricing/on-demand/',
    'public IPv4 $0.005/h: https://aws.amazon.com/vpc/pricing/',
    'gp3 $0.08/GB-month: https://aws.amazon.com/ebs/pricing/ (a stopped warm-pool instance pays its volume only: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html)',
    'root volume 50 GiB: the stack default rootVolumeGiB (infra/settings.ts)',
  ],
} as const;

/** Draws one delay, in whole milliseconds. */
export const draw = (random: Random, name: DelayName): number =>
  // Whole milliseconds, as Date.now() gives: the code under simulation makes timers of what is left.
  Math.round(random.within(DELAYS[name].range) * 1000);
