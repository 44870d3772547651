/** Runner profiles: a task definition each, a capacity provider per architecture and purchase option. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stackNames } from '../../infra/resource-names';
import { createRunnerApp, readSettingsFile } from '../../infra/runner-app';
import { capacityGroups, DEFAULT_INSTANCE_TYPES, parseProfiles } from '../../infra/runner-profiles';
import { readSettings } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import {
  environmentOf,
  standInDist,
  statementsOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

/** The stack's names: from its name (GitHubRunners) and region (the seed's, us-east-1). */
const NAMES = stackNames('githubrunners', SEED.region);

const RUN_LABEL = '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>';
const PROFILES = [
  { name: 'default', labels: [RUN_LABEL] },
  {
    name: 'arm64',
    labels: [RUN_LABEL, 'arm64'],
    architecture: 'arm64',
    instanceTypes: ['m7g.large'],
    warmPool: 1,
    maxInstances: 5,
  },
  {
    name: 'large',
    labels: [RUN_LABEL, 'large'],
    cpu: 4096,
    memory: 16384,
    spot: true,
    instanceTypes: ['m7i.2xlarge', 'm6i.2xlarge', 'm5.2xlarge'],
    maxInstances: 4,
    distinctInstance: false,
    publicRepositories: true,
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

// With ECS managed scaling (capacityMode=managed): owned capacity's profiles are in owned-capacity.test.ts.
describe('three profiles: default, arm64 with a warm pool, large on Spot', () => {
  let json: TemplateJson;
  let report: ValidationReport;

  beforeAll(async () => {
    ({ json, report } = await synthesize({
      profiles: JSON.stringify(PROFILES),
      capacityMode: 'managed',
      targetCapacityPercent: '80',
    }));
  });

  it('makes a task definition per profile: the default keeps the seed family, arm64 runs on ARM64, large is sized', () => {
    const definitions = Object.fromEntries(
      resources(json, 'AWS::ECS::TaskDefinition').map(([id, resource]) => [id, resource.Properties]),
    );
    expect(Object.keys(definitions).sort()).toEqual([
      'TaskDefinition',
      'TaskDefinitionArm64',
      'TaskDefinitionLarge',
    ]);
    // Sized from t3.medium, the instance it owns: 2 vCPUs, 4 GiB less the host's reserve.
    expect(definitions.TaskDefinition).toMatchObject({
      Family: NAMES.taskFamily,
      Cpu: '2048',
      Memory: '3584',
    });
    expect(definitions.TaskDefinition?.RuntimePlatform).toBeUndefined();
    expect(definitions.TaskDefinitionArm64).toMatchObject({
      Family: `${NAMES.taskFamily}-arm64`,
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    expect(definitions.TaskDefinitionLarge).toMatchObject({
      Family: `${NAMES.taskFamily}-large`,
      Cpu: '4096',
      Memory: '16384',
    });
  });

  it('makes a capacity provider per architecture and purchase option, with managed scaling at the target capacity', () => {
    const providers = resources(json, 'AWS::ECS::CapacityProvider');
    expect(providers.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'Arm64CapacityProvider',
      'CapacityProvider',
      'X8664SpotCapacityProvider',
    ]);
    for (const [, provider] of providers) {
      expect(provider.Properties.AutoScalingGroupProvider).toMatchObject({
        ManagedScaling: { Status: 'ENABLED', TargetCapacity: 80 },
        ManagedTerminationProtection: 'ENABLED',
      });
    }
  });

  it('boots the ECS-optimised Amazon Linux 2023 AMI of each architecture', () => {
    const parameters = JSON.stringify(json.Parameters ?? {});
    expect(parameters).toContain('/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id');
    expect(parameters).toContain(
      '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id',
    );
  });

  it('runs large on Spot only, capacity-optimised over several instance types', () => {
    const [[, spot]] = resources(json, 'AWS::AutoScaling::AutoScalingGroup').filter(([id]) =>
      id.startsWith('X8664SpotInstances'),
    ) as [[string, TemplateJson['Resources'][string]]];
    const policy = spot.Properties.MixedInstancesPolicy as {
      InstancesDistribution: Record<string, unknown>;
      LaunchTemplate: { Overrides: Array<{ InstanceType: string }> };
    };
    expect(policy.InstancesDistribution).toEqual({
      OnDemandBaseCapacity: 0,
      OnDemandPercentageAboveBaseCapacity: 0,
      SpotAllocationStrategy: 'capacity-optimized',
    });
    expect(policy.LaunchTemplate.Overrides.map((override) => override.InstanceType)).toEqual([
      'm7i.2xlarge',
      'm6i.2xlarge',
      'm5.2xlarge',
    ]);
    expect(spot.Properties).toMatchObject({
      MinSize: '0',
      MaxSize: '4',
      NewInstancesProtectedFromScaleIn: true,
    });
  });

  it('keeps one stopped instance in a warm pool for arm64, whose agent waits until it leaves the pool', () => {
    const [[, pool]] = resources(json, 'AWS::AutoScaling::WarmPool') as [
      [string, TemplateJson['Resources'][string]],
    ];
    expect(pool.Properties).toMatchObject({
      MinSize: 1,
      MaxGroupPreparedCapacity: 1,
      PoolState: 'Stopped',
      AutoScalingGroupName: { Ref: expect.stringMatching(/^Arm64InstancesASG/) },
    });
    // ECS refuses ReuseOnScaleIn on a capacity provider's group.
    expect(pool.Properties.InstanceReusePolicy).toBeUndefined();
    const userData = (prefix: string) =>
      JSON.stringify(
        resources(json, 'AWS::EC2::LaunchTemplate').find(([id]) =>
          id.startsWith(`${prefix}LaunchTemplate`),
        )?.[1].Properties,
      );
    expect(userData('Arm64')).toContain('ECS_WARM_POOLS_CHECK=true');
    expect(userData('X8664Spot')).not.toContain('ECS_WARM_POOLS_CHECK');
  });

  it('prefers the cached image, pulls it at boot and blocks instance metadata on every instance', () => {
    const templates = resources(json, 'AWS::EC2::LaunchTemplate');
    expect(templates).toHaveLength(3);
    for (const [, template] of templates) {
      const data = template.Properties.LaunchTemplateData as Record<string, unknown>;
      const userData = JSON.stringify(data.UserData);
      expect(userData).toContain('ECS_IMAGE_PULL_BEHAVIOR=prefer-cached');
      expect(userData).toContain('docker pull');
      expect(userData).toContain('DOCKER-USER');
      expect(data.MetadataOptions).toEqual({ HttpPutResponseHopLimit: 1, HttpTokens: 'required' });
    }
  });

  it("gives the functions RUNNER_PROFILES: each profile's labels, task definition, container, capacity and size", () => {
    const variable = environmentOf(json, 'Webhook').RUNNER_PROFILES;
    const provider = (prefix: string) =>
      `<${resources(json, 'AWS::ECS::CapacityProvider').find(([id]) => id.startsWith(prefix))?.[0]}>`;
    const container = SEED.containerName;
    expect(JSON.parse(render(variable))).toEqual([
      {
        name: 'default',
        labels: [RUN_LABEL],
        taskDefinition: NAMES.taskFamily,
        containerName: container,
        capacityProviderStrategy: [{ capacityProvider: provider('CapacityProvider'), weight: 1 }],
        cpu: 2048,
        memory: 3584,
        distinctInstance: true,
      },
      {
        name: 'arm64',
        labels: [RUN_LABEL, 'arm64'],
        taskDefinition: `${NAMES.taskFamily}-arm64`,
        containerName: container,
        capacityProviderStrategy: [{ capacityProvider: provider('Arm64CapacityProvider'), weight: 1 }],
        // m7g.large: 2 vCPUs, 8 GiB less the host's reserve.
        cpu: 2048,
        memory: 7372,
        distinctInstance: true,
      },
      {
        name: 'large',
        labels: [RUN_LABEL, 'large'],
        taskDefinition: `${NAMES.taskFamily}-large`,
        containerName: container,
        capacityProviderStrategy: [{ capacityProvider: provider('X8664SpotCapacityProvider'), weight: 1 }],
        // A task that waits past the capacity wait goes to the On-Demand capacity of its architecture.
        fallbackCapacityProviderStrategy: [{ capacityProvider: provider('CapacityProvider'), weight: 1 }],
        cpu: 4096,
        memory: 16384,
        distinctInstance: false,
        // Only a profile that admits public repositories says so: the others keep the default (false).
        publicRepositories: true,
      },
    ]);
    for (const id of ['Launcher', 'Reconciler']) {
      expect(environmentOf(json, id).RUNNER_PROFILES).toEqual(variable);
    }
  });

  it("lets the functions run every profile's family, and nothing more", () => {
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      const runTask = statementsOf(json, id).find((statement) => statement.Sid === 'RunRunnerTasks');
      const families = ((runTask?.Resource ?? []) as unknown[]).map((arn) =>
        render(arn).replace(/^.*:task-definition\//, ''),
      );
      expect(families).toEqual([
        NAMES.taskFamily,
        `${NAMES.taskFamily}:*`,
        `${NAMES.taskFamily}-arm64`,
        `${NAMES.taskFamily}-arm64:*`,
        `${NAMES.taskFamily}-large`,
        `${NAMES.taskFamily}-large:*`,
      ]);
    }
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(report.pluginReports[0]?.violations).toEqual([]);
  });
});

it('gives the functions no RUNNER_PROFILES without the profiles context: they make the one profile from ECS_*', async () => {
  const { json } = await synthesize({});
  expect(environmentOf(json, 'Webhook').RUNNER_PROFILES).toBeUndefined();
});

it("refuses at synth profiles that would overflow Lambda's 4 KB of environment", async () => {
  const profiles = Array.from({ length: 30 }, (_, index) => ({
    name: `profile-${index}`,
    labels: [RUN_LABEL, `label-${index}`],
  }));
  const distDir = await standInDist();
  expect(() => createRunnerApp({ context: { profiles }, env: {}, distDir })).toThrow(
    /webhook settings in the CDK context: the function's environment would be about \d+ bytes, over Lambda's 4096/,
  );
});

describe('the profiles context', () => {
  const problemsOf = (value: unknown) => {
    const problems: string[] = [];
    parseProfiles(value, problems);
    return problems;
  };

  it('reports every problem, with the profile it is in', () => {
    expect(
      problemsOf([
        { name: 'Big', labels: ['x'] },
        { name: 'a', labels: [] },
        { name: 'a', labels: ['x'], architecture: 'arm64', instanceTypes: ['m7i.large'], colour: 'red' },
        { name: 'b', labels: ['x'], spot: true, warmPool: 2 },
        { name: 'c', labels: ['x'], instanceTypes: ['m7i.large', 'm6i.large'], warmPool: 1, cpu: 'big' },
        { name: 'd', labels: ['x'], publicRepositories: 'yes' },
      ]),
    ).toEqual([
      'profiles[0].name must match [a-z0-9-]{1,32} (got "Big")',
      'profiles "a": labels must be a non-empty array of label templates',
      'profiles[2]: unknown field "colour" (known: name, labels, containerName, cpu, memory, distinctInstance, publicRepositories, architecture, spot, instanceTypes, minInstances, maxInstances, warmPool, hotPool, hotSchedule, reuseIdleMinutes, onInterruption)',
      'profiles[2].name "a" is not unique',
      'profiles "a": instanceTypes m7i.large are not arm64',
      'profiles "b": warmPool needs On-Demand instances (no warm pool with Spot)',
      'profiles "c": warmPool needs one instance type (no warm pool with a mixed instances policy)',
      'profiles "c": cpu must be a whole number from 128 to 196608 (got "big")',
      'profiles "d": publicRepositories must be true or false (got "yes")',
    ]);
  });

  it('refuses anything but a non-empty array, and JSON that does not parse', () => {
    expect(problemsOf({})).toEqual(['profiles must be a non-empty JSON array of profiles']);
    expect(() => readSettings((key) => (key === 'profiles' ? '[{' : undefined), {})).toThrow(
      'profiles must be JSON',
    );
  });

  it('refuses capacity fields on an existing cluster', () => {
    expect(() =>
      readSettings(
        (key) =>
          ({
            clusterName: 'runners',
            capacityProviderName: 'ec2',
            existingClusterUnblockedMetadata: 'true',
            profiles: [{ name: 'a', labels: ['x'], spot: true }],
          })[key],
        {},
      ),
    ).toThrow('profiles on an existing cluster (clusterName) all run on its capacity provider');
  });

  it("groups profiles by architecture and Spot; the stack's own group keeps its instance types and ids", () => {
    const profiles = parseProfiles(
      [
        { name: 'a', labels: ['x'], minInstances: 1 },
        { name: 'b', labels: ['x'], maxInstances: 20 },
        { name: 'c', labels: ['x'], architecture: 'arm64', spot: true },
      ],
      [],
    );
    expect(
      capacityGroups(profiles, { instanceTypes: ['t3.large'], minCapacity: 0, maxCapacity: 10 }),
    ).toEqual([
      {
        key: '',
        name: 'default',
        architecture: 'x86_64',
        spot: false,
        instanceTypes: ['t3.large'],
        minInstances: 1,
        maxInstances: 20,
        warmPool: 0,
        hotPool: 0,
        hotSchedule: undefined,
        reuseIdleMinutes: undefined,
        onInterruption: undefined,
        profiles: ['a', 'b'],
      },
      {
        key: 'Arm64Spot',
        name: 'arm64-spot',
        architecture: 'arm64',
        spot: true,
        instanceTypes: DEFAULT_INSTANCE_TYPES.arm64.spot,
        minInstances: 0,
        maxInstances: 10,
        warmPool: 0,
        hotPool: 0,
        hotSchedule: undefined,
        reuseIdleMinutes: undefined,
        onInterruption: undefined,
        profiles: ['c'],
      },
    ]);
  });
});

it('synthesizes the committed runners.config.example.json: arm64 on a warm pool, arm64 large on Spot, cdk-nag clean', async () => {
  const example = readSettingsFile('runners.config.example.json', true);
  const { json, report } = await synthesize(example);
  expect(resources(json, 'AWS::ECS::CapacityProvider')).toHaveLength(3);
  expect(resources(json, 'AWS::AutoScaling::WarmPool')).toHaveLength(1);
  expect(report.pluginReports[0]?.violations).toEqual([]);
});

it("takes README's profile example as it is written", () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /### Runner profiles[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const problems: string[] = [];
  const profiles = parseProfiles((JSON.parse(block as string) as { profiles: unknown }).profiles, problems);
  expect(problems).toEqual([]);
  expect(profiles.map((p) => [p.name, p.architecture, p.spot, p.warmPool])).toEqual([
    ['default', 'x86_64', false, 0],
    ['arm64', 'arm64', false, 1],
    ['large', 'arm64', true, 0],
  ]);
});
