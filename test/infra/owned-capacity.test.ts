/**
 * Owned capacity (`capacityMode=owned`, the default): the capacity function, its events and its
 * scoped permissions, the groups ECS no longer scales, the instance ledger, the pools per profile
 * in `CAPACITY_GROUPS`; and `capacityMode=managed`, which keeps ECS managed scaling as before.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { capacityFunctionName } from '../../infra/capacity-function';
import { readSettings } from '../../infra/settings';
import { parseCapacitySettings } from '../../shared/capacity/capacity-groups';
import { expectedStatements } from '../support/expected-statements';
import {
  environmentOf,
  functionOf,
  hasFunction,
  idOf,
  only,
  statementsOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

const RUN_LABEL = '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>';

/** Pools per profile: a scheduled hot pool, arm64 hot and warm, Spot that reuses instances and falls back to On-Demand. */
const PROFILES = [
  { name: 'default', labels: [RUN_LABEL], hotPool: 2, hotSchedule: 'Mon-Fri 07:00-19:00' },
  {
    name: 'arm64',
    labels: [RUN_LABEL, 'arm64'],
    architecture: 'arm64',
    instanceTypes: ['t4g.large'],
    warmPool: 1,
    hotPool: 1,
    maxInstances: 5,
  },
  {
    name: 'large',
    labels: [RUN_LABEL, 'arm64', 'large'],
    architecture: 'arm64',
    spot: true,
    instanceTypes: ['m7g.2xlarge', 'm6g.2xlarge'],
    maxInstances: 4,
    reuseIdleMinutes: 15,
    onInterruption: 'on-demand',
  },
];

const resources = (json: TemplateJson, type: string) =>
  Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);

/** A CloudFormation string with deploy-time parts (`Ref`s) as `<LogicalId>`. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === 'string') return `<${node.Ref}>`;
  const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
  return parts.map(render).join(separator);
}

/** The logical id of the one resource of `type` whose id starts with `prefix` and a hash follows. */
const idStarting = (json: TemplateJson, type: string, prefix: string): string => {
  const ids = resources(json, type)
    .map(([id]) => id)
    .filter((id) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}…, found ${ids.length}`);
  return ids[0] as string;
};

/** The capacity queue: every capacity event goes through it. */
const capacityQueue = (json: TemplateJson) => ({
  'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'CapacityEvents'), 'Arn'],
});

/** The EventBridge rules whose events go to the capacity queue, by construct id (hash left off). */
function capacityRules(json: TemplateJson): Record<string, Record<string, unknown>> {
  const target = capacityQueue(json);
  return Object.fromEntries(
    resources(json, 'AWS::Events::Rule')
      .filter(([, rule]) =>
        (rule.Properties.Targets as Array<{ Arn: unknown }>).some(
          (t) => JSON.stringify(t.Arn) === JSON.stringify(target),
        ),
      )
      .map(([id, rule]) => [id.replace(/[0-9A-F]{8}$/, ''), rule.Properties]),
  );
}

function expectNagClean(report: ValidationReport) {
  const [plugin] = report.pluginReports;
  expect(plugin?.violations).toEqual([]);
  expect(plugin?.conclusion).toBe('success');
}

describe('the default stack: one owned group', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let expected: ReturnType<typeof expectedStatements>;
  let annotations: Annotations;

  beforeAll(async () => {
    const synthesized = await synthesize();
    ({ json, report } = synthesized);
    expected = expectedStatements(json);
    annotations = Annotations.fromStack(synthesized.stack);
  });

  const cluster = () => ({ 'Fn::GetAtt': [only(json, 'AWS::ECS::Cluster').id, 'Arn'] });
  const group = () => ({ Ref: only(json, 'AWS::AutoScaling::AutoScalingGroup').id });

  it('turns ECS managed scaling and managed termination protection off; ECS still drains an instance Auto Scaling terminates', () => {
    expect(only(json, 'AWS::ECS::CapacityProvider').Properties.AutoScalingGroupProvider).toEqual({
      AutoScalingGroupArn: group(),
      ManagedScaling: { Status: 'DISABLED' },
      ManagedTerminationProtection: 'DISABLED',
      ManagedDraining: 'ENABLED',
    });
  });

  it('protects every new instance from scale-in, and sets no desired capacity a deploy would reset', () => {
    const { Properties } = only(json, 'AWS::AutoScaling::AutoScalingGroup');
    expect(Properties).toMatchObject({ MinSize: '0', MaxSize: '10', NewInstancesProtectedFromScaleIn: true });
    expect(Properties.DesiredCapacity).toBeUndefined();
  });

  it('adds no drain hook function of CDK: the capacity function terminates only idle instances', () => {
    expect(resources(json, 'AWS::AutoScaling::LifecycleHook')).toEqual([]);
    expect(
      resources(json, 'AWS::Lambda::Function')
        .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual([
      'CapacityFunction',
      'HookRangesFunction',
      'ImageReleaseFunction',
      'ImageRolloutFunction',
      'LauncherFunction',
      'ReconcilerFunction',
      'RedeliverFunction',
      'SetupFunction',
      'WebhookFunction',
    ]);
  });

  it('keeps instances in a table keyed by instance id, with a sparse index of free instances per group, oldest ready first', () => {
    const id = idOf(json, 'AWS::DynamoDB::Table', 'Instances');
    const table = json.Resources[id] as { DeletionPolicy?: string; Properties: Record<string, unknown> };
    expect(table.Properties).toEqual({
      KeySchema: [{ AttributeName: 'instanceId', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'instanceId', AttributeType: 'S' },
        { AttributeName: 'freeGroup', AttributeType: 'S' },
        { AttributeName: 'readyAt', AttributeType: 'N' },
        { AttributeName: 'openGroup', AttributeType: 'S' },
        { AttributeName: 'launchedAt', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'free',
          KeySchema: [
            { AttributeName: 'freeGroup', KeyType: 'HASH' },
            { AttributeName: 'readyAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'open-instances',
          KeySchema: [
            { AttributeName: 'openGroup', KeyType: 'HASH' },
            { AttributeName: 'launchedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      Tags: [{ Key: 'Env', Value: 'sandpit' }],
    });
    expect(table.DeletionPolicy).toBe('Retain');
  });

  it('runs the capacity function one at a time, under the minute, without retrying a failed run, dropping events stale behind others', () => {
    expect(functionOf(json, 'Capacity').Properties).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      FunctionName: 'GitHubRunners-capacity',
      ReservedConcurrentExecutions: 1,
      Timeout: 55,
    });
    expect(
      resources(json, 'AWS::Lambda::EventInvokeConfig').find(
        ([, config]) =>
          JSON.stringify(config.Properties.FunctionName) ===
          JSON.stringify({ Ref: functionOf(json, 'Capacity').id }),
      )?.[1].Properties,
    ).toEqual({
      FunctionName: { Ref: functionOf(json, 'Capacity').id },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
  });

  it("takes the cluster's task and container instance changes, the group's launches and terminations, and a minute's schedule; no Spot warnings without a Spot group", () => {
    const detail = { clusterArn: [cluster()] };
    expect(capacityRules(json)).toEqual({
      CapacitySchedule: expect.objectContaining({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' }),
      CapacityTaskStateChanges: expect.objectContaining({
        EventPattern: { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'], detail },
        State: 'ENABLED',
      }),
      CapacityContainerInstanceStateChanges: expect.objectContaining({
        EventPattern: { source: ['aws.ecs'], 'detail-type': ['ECS Container Instance State Change'], detail },
      }),
      CapacityInstanceLifecycle: expect.objectContaining({
        EventPattern: {
          source: ['aws.autoscaling'],
          'detail-type': [
            'EC2 Instance Launch Successful',
            'EC2 Instance Launch Unsuccessful',
            'EC2 Instance Terminate Successful',
          ],
          detail: { AutoScalingGroupName: [group()] },
        },
      }),
    });
  });

  it('gives every rule the one target, the capacity queue, in its one message group', () => {
    for (const rule of Object.values(capacityRules(json))) {
      expect(rule.Targets).toEqual([
        { Arn: capacityQueue(json), Id: 'Target0', SqsParameters: { MessageGroupId: 'capacity' } },
      ]);
    }
  });

  it('feeds the capacity function from a FIFO queue, one batch of ten at a time, with a dead-letter queue', () => {
    const queue = json.Resources[idOf(json, 'AWS::SQS::Queue', 'CapacityEvents')];
    expect(queue?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: 330,
      RedrivePolicy: { maxReceiveCount: 3 },
    });
    const [mapping] = resources(json, 'AWS::Lambda::EventSourceMapping').filter(
      ([, m]) =>
        JSON.stringify(m.Properties.FunctionName) ===
        JSON.stringify({ Ref: functionOf(json, 'Capacity').id }),
    );
    expect(mapping?.[1].Properties).toMatchObject({
      EventSourceArn: capacityQueue(json),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it("lets the capacity function set, terminate in and suspend only the stack's group, describe groups and warm pools, launch and watch runner tasks and container instances of the cluster, use both ledgers, write configs (and presign a standby's read of its own) and read the GitHub credentials; nothing else", () => {
    expect(statementsOf(json, 'Capacity')).toEqual([
      expected.logsStatement('Capacity'),
      expected.setOwnedGroupsCapacity([only(json, 'AWS::AutoScaling::AutoScalingGroup').id]),
      expected.describeAutoScalingGroups(
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeWarmPool',
      ),
      ...expected.launchStatements(),
      expected.describeRunnerTasks(),
      expected.stopRunnerTasks(),
      ...expected.containerInstanceStatements(),
      expected.useJobLedger(),
      expected.useInstanceLedger(),
      expected.writeRunnerConfigs(),
      expected.presignStandbyConfigReads(),
      expected.readGitHubCredentials(),
      expected.handLaunchesToTheLauncher(),
      expected.readCapacityQueue(),
    ]);
  });

  it("gives the capacity function the functions' environment and owned capacity's, and the launcher's queue, but not its own", () => {
    const { CAPACITY_QUEUE_URL, ...rest } = environmentOf(json, 'Launcher');
    expect(CAPACITY_QUEUE_URL).toEqual({ Ref: idOf(json, 'AWS::SQS::Queue', 'CapacityEvents') });
    expect(functionOf(json, 'Capacity').Properties.FunctionName).toBe('GitHubRunners-capacity');
    expect(rest.OVERFLOW_QUEUE_URL).toBeDefined();
    expect(environmentOf(json, 'Capacity')).toEqual(rest);
    expect(rest).toMatchObject({
      INSTANCES_TABLE: { Ref: idOf(json, 'AWS::DynamoDB::Table', 'Instances') },
      CAPACITY_MAX_INSTANCES: '200',
    });
  });

  it('names the group, its capacity provider and its bound in CAPACITY_GROUPS, and nothing at its default (pristine, no pools, On-Demand)', () => {
    const text = render(environmentOf(json, 'Webhook').CAPACITY_GROUPS);
    expect(JSON.parse(text)).toEqual([
      {
        name: 'default',
        autoScalingGroupName: `<${only(json, 'AWS::AutoScaling::AutoScalingGroup').id}>`,
        capacityProvider: `<${only(json, 'AWS::ECS::CapacityProvider').id}>`,
        profiles: ['default'],
        maxInstances: 10,
      },
    ]);
    for (const id of ['Launcher', 'Reconciler', 'Capacity']) {
      expect(environmentOf(json, id).CAPACITY_GROUPS).toEqual(environmentOf(json, 'Webhook').CAPACITY_GROUPS);
    }
  });

  it('alarms on the capacity function failing', () => {
    const alarm = resources(json, 'AWS::CloudWatch::Alarm').find(([id]) =>
      id.startsWith('CapacityErrorsAlarm'),
    );
    expect(alarm?.[1].Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionOf(json, 'Capacity').id } }],
      Threshold: 1,
    });
  });

  it('warns of no instance reuse: every job gets a pristine instance', () => {
    annotations.hasNoWarning('*', Match.stringLikeRegexp('reuseIdleMinutes'));
    annotations.hasNoWarning('*', Match.stringLikeRegexp('capacityMode=managed'));
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expectNagClean(report);
  });
});

describe('pools per profile: hot on a schedule, warm, Spot that reuses instances and moves to On-Demand', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let annotations: Annotations;

  beforeAll(async () => {
    const synthesized = await synthesize({ profiles: JSON.stringify(PROFILES), maxInstancesTotal: '40' });
    ({ json, report } = synthesized);
    annotations = Annotations.fromStack(synthesized.stack);
  });

  const asg = (key: string) => idStarting(json, 'AWS::AutoScaling::AutoScalingGroup', `${key}InstancesASG`);
  const provider = (key: string) => idStarting(json, 'AWS::ECS::CapacityProvider', `${key}CapacityProvider`);
  const groups = () => render(environmentOf(json, 'Webhook').CAPACITY_GROUPS);

  it("writes each group's pools into CAPACITY_GROUPS: the largest hot pool, its schedule, the warm pool, reuse only when every profile reuses, the Spot group's fallback by name", () => {
    expect(JSON.parse(groups())).toEqual([
      {
        name: 'default',
        autoScalingGroupName: `<${asg('')}>`,
        capacityProvider: `<${provider('')}>`,
        profiles: ['default'],
        maxInstances: 10,
        hot: 2,
        hotSchedule: 'Mon-Fri 07:00-19:00',
      },
      {
        name: 'arm64',
        autoScalingGroupName: `<${asg('Arm64')}>`,
        capacityProvider: `<${provider('Arm64')}>`,
        profiles: ['arm64'],
        maxInstances: 5,
        hot: 1,
        warm: 1,
      },
      {
        name: 'arm64-spot',
        autoScalingGroupName: `<${asg('Arm64Spot')}>`,
        capacityProvider: `<${provider('Arm64Spot')}>`,
        profiles: ['large'],
        maxInstances: 4,
        reuseIdleMinutes: 15,
        spot: true,
        onInterruption: 'arm64',
      },
    ]);
    expect(environmentOf(json, 'Webhook').CAPACITY_MAX_INSTANCES).toBe('40');
  });

  it("reads back with the functions' parser as the groups the stack made (the schedule parsed)", () => {
    const settings = parseCapacitySettings({
      CAPACITY_GROUPS: groups().replace(/<([A-Za-z0-9]+)>/g, '$1'),
      CAPACITY_MAX_INSTANCES: environmentOf(json, 'Webhook').CAPACITY_MAX_INSTANCES as string,
    });
    expect(settings?.maxInstances).toBe(40);
    expect(settings?.groups.map((group) => [group.name, group.hot, group.hotSchedule, group.warm])).toEqual([
      ['default', 2, { days: [1, 2, 3, 4, 5], from: 7 * 60, to: 19 * 60 }, 0],
      ['arm64', 1, undefined, 1],
      ['arm64-spot', 0, undefined, 0],
    ]);
    expect(settings?.groups[2]).toMatchObject({
      autoScalingGroupName: asg('Arm64Spot'),
      capacityProvider: provider('Arm64Spot'),
      reuseIdleMinutes: 15,
      spot: true,
      onInterruption: 'arm64',
    });
  });

  it('keeps the stopped warm pool of arm64 on its own group, as before', () => {
    const [[, pool]] = resources(json, 'AWS::AutoScaling::WarmPool') as [
      [string, TemplateJson['Resources'][string]],
    ];
    expect(pool.Properties).toMatchObject({
      MinSize: 1,
      MaxGroupPreparedCapacity: 1,
      PoolState: 'Stopped',
      AutoScalingGroupName: { Ref: asg('Arm64') },
    });
  });

  it('owns every group: no managed scaling, scale-in protection, no desired capacity', () => {
    for (const [, cp] of resources(json, 'AWS::ECS::CapacityProvider')) {
      expect(cp.Properties.AutoScalingGroupProvider).toMatchObject({
        ManagedScaling: { Status: 'DISABLED' },
        ManagedTerminationProtection: 'DISABLED',
      });
    }
    for (const [, group] of resources(json, 'AWS::AutoScaling::AutoScalingGroup')) {
      expect(group.Properties.NewInstancesProtectedFromScaleIn).toBe(true);
      expect(group.Properties.DesiredCapacity).toBeUndefined();
    }
  });

  it("lets the capacity function set the capacity of the stack's three groups, by name, and of no other", () => {
    const [, setCapacity] = statementsOf(json, 'Capacity');
    expect(setCapacity).toEqual(
      expectedStatements(json).setOwnedGroupsCapacity([asg(''), asg('Arm64'), asg('Arm64Spot')]),
    );
  });

  it('takes Spot interruption warnings (they name only the instance) and the three groups’ launches and terminations', () => {
    const rules = capacityRules(json);
    expect(rules.CapacitySpotInterruptions?.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Spot Instance Interruption Warning'],
    });
    expect(rules.CapacityInstanceLifecycle?.EventPattern).toMatchObject({
      detail: { AutoScalingGroupName: [{ Ref: asg('') }, { Ref: asg('Arm64') }, { Ref: asg('Arm64Spot') }] },
    });
    expect(Object.keys(rules)).toHaveLength(5);
  });

  it('warns that the Spot group reuses instances: trusted repositories only', () => {
    annotations.hasWarning(
      '*',
      Match.stringLikeRegexp(
        '^Instances of profiles large serve more than one job \\(reuseIdleMinutes=15\\): this trades isolation for speed, trusted repositories only',
      ),
    );
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expectNagClean(report);
  });
});

describe('capacityMode=managed: ECS managed scaling, as before', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let annotations: Annotations;

  beforeAll(async () => {
    const synthesized = await synthesize({ capacityMode: 'managed', targetCapacityPercent: '80' });
    ({ json, report } = synthesized);
    annotations = Annotations.fromStack(synthesized.stack);
  });

  it('keeps managed scaling at the target capacity and managed termination protection', () => {
    expect(only(json, 'AWS::ECS::CapacityProvider').Properties.AutoScalingGroupProvider).toEqual({
      AutoScalingGroupArn: { Ref: only(json, 'AWS::AutoScaling::AutoScalingGroup').id },
      ManagedScaling: { Status: 'ENABLED', TargetCapacity: 80 },
      ManagedTerminationProtection: 'ENABLED',
    });
    const { Properties } = only(json, 'AWS::AutoScaling::AutoScalingGroup');
    expect(Properties.NewInstancesProtectedFromScaleIn).toBe(true);
    expect(Properties.DesiredCapacity).toBeUndefined();
  });

  it('deploys no capacity function, instance table or capacity rule, and gives the functions no owned capacity setting', () => {
    expect(hasFunction(json, 'Capacity')).toBe(false);
    expect(resources(json, 'AWS::DynamoDB::Table').map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'Jobs',
    ]);
    expect(
      resources(json, 'AWS::Events::Rule')
        .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual([
      'HookRangesSchedule',
      'ImageBuildSucceeded',
      'ImageRebuildSchedule',
      'ImageReleaseCheckSchedule',
      'ReconcilerSchedule',
      'RedeliverSchedule',
    ]);
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      expect(
        Object.keys(environmentOf(json, id)).filter((name) => /^(CAPACITY_|INSTANCES_)/.test(name)),
      ).toEqual([]);
      expect(JSON.stringify(statementsOf(json, id))).not.toMatch(
        /autoscaling:|lambda:InvokeFunction|Instances/,
      );
    }
  });

  it('warns that an instance serves later jobs', () => {
    annotations.hasWarning(
      '*',
      Match.stringLikeRegexp('^capacityMode=managed: ECS managed scaling places each job on any instance'),
    );
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expectNagClean(report);
  });
});

it('warns that reuseIdleMinutes has no effect on a group with a pristine profile', async () => {
  const { stack, json } = await synthesize({
    profiles: [
      { name: 'default', labels: [RUN_LABEL] },
      { name: 'docs', labels: [RUN_LABEL, 'docs'], reuseIdleMinutes: 30 },
    ],
  });
  expect(JSON.parse(render(environmentOf(json, 'Webhook').CAPACITY_GROUPS))).toEqual([
    expect.not.objectContaining({ reuseIdleMinutes: expect.anything() }),
  ]);
  const annotations = Annotations.fromStack(stack);
  annotations.hasWarning(
    '*',
    Match.stringLikeRegexp(
      '^reuseIdleMinutes of profiles docs has no effect: their instances \\(the default group\\) also serve profiles default, which run pristine',
    ),
  );
  annotations.hasNoWarning('*', Match.stringLikeRegexp('serve more than one job'));
});

it('gives an existing cluster nothing of owned capacity: its own scaling places the tasks', async () => {
  const { json } = await synthesize({
    clusterName: 'runners',
    capacityProviderName: 'runners-ec2',
    existingClusterUnblockedMetadata: 'true',
  });
  expect(hasFunction(json, 'Capacity')).toBe(false);
  expect(resources(json, 'AWS::DynamoDB::Table')).toHaveLength(1);
  expect(environmentOf(json, 'Webhook').CAPACITY_GROUPS).toBeUndefined();
});

it("names the capacity function after the stack, within Lambda's 64 characters", () => {
  expect(capacityFunctionName('GitHubRunners')).toBe('GitHubRunners-capacity');
  const long = capacityFunctionName('a'.repeat(100));
  expect(long).toHaveLength(64);
  expect(long).toMatch(/^a+-[0-9a-f]{8}-capacity$/);
  expect(capacityFunctionName('b'.repeat(100))).not.toBe(capacityFunctionName(`${'b'.repeat(99)}c`));
});

describe('the settings of owned capacity', () => {
  const problemsOf = (context: Record<string, unknown>): string => {
    try {
      readSettings((key) => context[key], {});
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };
  const profiles = (...entries: Record<string, unknown>[]) =>
    JSON.stringify(entries.map((entry, index) => ({ name: `p${index}`, labels: [RUN_LABEL], ...entry })));

  it('defaults to owned capacity with a ceiling of 200 instances', () => {
    expect(readSettings(() => undefined, {}).capacity).toMatchObject({
      kind: 'new',
      mode: 'owned',
      maxInstancesTotal: 200,
    });
  });

  it.each([
    [{ capacityMode: 'ecs' }, 'capacityMode must be owned or managed (got "ecs")'],
    [{ maxInstancesTotal: '0' }, 'maxInstancesTotal'],
    [
      {
        clusterName: 'runners',
        capacityProviderName: 'ec2',
        existingClusterUnblockedMetadata: 'true',
        capacityMode: 'owned',
      },
      "capacityMode is for a cluster of the stack's own: an existing cluster (clusterName) keeps its own scaling",
    ],
    [
      { targetCapacityPercent: '80' },
      "targetCapacityPercent is ECS managed scaling's: with capacityMode=owned (the default)",
    ],
    [
      { capacityMode: 'managed', profiles: profiles({ hotPool: 1 }) },
      'profiles p0: hotPool, hotSchedule, reuseIdleMinutes, onInterruption need capacityMode=owned',
    ],
    [
      { profiles: profiles({ hotPool: 1, hotSchedule: 'weekdays' }) },
      'profiles "p0": hotSchedule "weekdays" must look like "Mon-Fri 07:00-19:00"',
    ],
    [
      { profiles: profiles({ hotSchedule: 'Mon-Fri 07:00-19:00' }) },
      'profiles "p0": hotSchedule needs a hotPool',
    ],
    [
      { profiles: profiles({ hotPool: 5, maxInstances: 2 }) },
      'profiles "p0": hotPool (5) exceeds maxInstances (2)',
    ],
    [{ profiles: profiles({ hotPool: 20 }) }, "their hotPool (20) exceeds the group's maxInstances (10)"],
    [
      { profiles: profiles({ reuseIdleMinutes: 0 }) },
      'profiles "p0": reuseIdleMinutes must be a whole number from 1 to 1440',
    ],
    [
      { profiles: profiles({ reuseIdleMinutes: 10, publicRepositories: true }) },
      'profiles "p0": reuseIdleMinutes with publicRepositories: a fork\'s job would run on the instance of the next job',
    ],
    [
      { profiles: profiles({ onInterruption: 'on-demand' }) },
      'profiles "p0": onInterruption is for Spot profiles',
    ],
    [
      { profiles: profiles({ spot: true, onInterruption: 'stop' }) },
      'profiles "p0": onInterruption must be "on-demand"',
    ],
    [
      { profiles: profiles({}, { architecture: 'arm64', spot: true, onInterruption: 'on-demand' }) },
      'profiles p1: onInterruption "on-demand" needs an On-Demand profile of arm64',
    ],
    [
      { profiles: profiles({ hotPool: 1, hotSchedule: 'Mon-Fri 07:00-19:00' }, { hotPool: 1 }) },
      'profiles p0, p1 share the default instances and keep one hot pool: give them one hotSchedule (got Mon-Fri 07:00-19:00, (always))',
    ],
  ])('refuses %j', (context, problem) => {
    expect(problemsOf(context)).toContain(problem);
  });

  it('takes a Spot profile whose interrupted jobs move to the On-Demand profile of its architecture', () => {
    expect(problemsOf({ profiles: profiles({}, { spot: true, onInterruption: 'on-demand' }) })).toBe('');
  });
});
