import { Annotations, CfnOutput, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { CapacityGroupSettings } from '../shared/capacity/capacity-groups';
import { imageParameterName } from '../shared/image/built-image';
import { acknowledge, wildcardResource } from './acknowledge';
import { architectureOf, type CapacityGroup, type ProfileSettings } from './runner-profiles';
import type { CapacitySettings } from './settings';
import { SystemPart } from './system-part';

export interface RunnerCapacityProps {
  readonly settings: CapacitySettings;
  readonly targetEnv: string;
  /** The instance groups the profiles run on (ignored on an existing cluster). */
  readonly groups: readonly CapacityGroup[];
  /** ECS managed scaling's target capacity (%), with `capacityMode=managed`. */
  readonly targetCapacityPercent: number;
  /** The profiles the groups were made of (their reuse settings, for the synth's warnings). */
  readonly profiles: readonly ProfileSettings[];
  /** The runner image, pulled when an instance boots; its repository, when it is the stack's. */
  readonly image: {
    readonly uri: string;
    readonly repository: ecr.IRepository | undefined;
    /**
     * The stack builds the image: `<prefix>/<architecture>` names each architecture's current
     * image, which an instance reads at boot (the deploy's value may be older by then).
     */
    readonly parameterPrefix?: string;
  };
  /** The runner tasks' log group (`…:log-group:NAME:*`): the only one the instance role may write to. */
  readonly runnerLogGroupArn: string;
}

/** One instance group of the stack's cluster, as deployed: its Auto Scaling group and capacity provider. */
export interface DeployedGroup {
  readonly group: CapacityGroup;
  readonly autoScalingGroupName: string;
  readonly capacityProviderName: string;
}

/**
 * A cluster of our own with one EC2 Auto Scaling capacity provider per instance group (an
 * architecture and a purchase option), or the existing cluster and capacity provider named.
 *
 * With owned capacity (`capacityMode=owned`, the default) ECS scales nothing: each capacity
 * provider has managed scaling and managed termination protection off, its Auto Scaling group
 * protects every new instance from scale-in and has no desired capacity in the template (the
 * capacity function sets it, and lowers it only by terminating an idle instance, so neither a
 * deploy nor a lower desired count ever takes a busy instance). With `managed`, ECS managed
 * scaling drives the groups, as before.
 */
export class RunnerCapacity extends SystemPart {
  readonly clusterName: string;
  readonly clusterArn: string;
  /** The capacity provider of the first group: the functions' `ECS_CAPACITY_PROVIDER`. */
  readonly capacityProviderName: string;
  /** Whether the system sets the groups' capacity (`capacityMode=owned` on a cluster of our own). */
  readonly owned: boolean;
  private readonly providers = new Map<string, string>();
  private readonly deployed: DeployedGroup[] = [];

  constructor(scope: Construct, id: string, props: RunnerCapacityProps) {
    super(scope, id);
    const { settings } = props;
    this.owned = settings.kind === 'new' && settings.mode === 'owned';
    if (settings.kind === 'existing') {
      const stack = Stack.of(this);
      this.clusterName = settings.clusterName;
      this.clusterArn = `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:cluster/${settings.clusterName}`;
      this.capacityProviderName = settings.capacityProviderName;
    } else {
      const cluster = this.ownCluster(settings, props);
      this.clusterName = cluster.clusterName;
      this.clusterArn = cluster.clusterArn;
      this.capacityProviderName = this.providers.values().next().value ?? '';
    }
    new CfnOutput(this, 'ClusterName', {
      value: this.clusterName,
      description: 'ECS cluster the runner tasks run in',
    });
    new CfnOutput(this, 'CapacityProviderName', {
      value: this.capacityProviderName,
      description: "Capacity provider the webhook passes to RunTask (the default profile's)",
    });
  }

  /** The groups of a cluster of our own, in the profiles' order; none on an existing cluster. */
  get groups(): readonly DeployedGroup[] {
    return this.deployed;
  }

  /** The capacity provider a profile's tasks run on. */
  providerFor(profile: string): string {
    return this.providers.get(profile) ?? this.capacityProviderName;
  }

  private ownCluster(
    settings: Extract<CapacitySettings, { kind: 'new' }>,
    props: RunnerCapacityProps,
  ): ecs.Cluster {
    // `as IVpc`: CDK's Vpc class declares optional properties that exactOptionalPropertyTypes rejects.
    const vpc: ec2.IVpc =
      settings.vpcId === undefined
        ? (new ec2.Vpc(this, 'Vpc', {
            maxAzs: 2,
            // Runners only call out (GitHub, registries): public subnets with public addresses and no
            // NAT gateway to pay for; the instances' security group takes no inbound traffic. Private
            // subnets need a NAT gateway per zone (docs/infrastructure.md): give vpcId.
            natGateways: 0,
            subnetConfiguration: [{ name: 'runners', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 }],
            flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
          }) as ec2.IVpc)
        : ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: settings.vpcId });
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc,
      description: `GitHub runner instances (${props.targetEnv}): outbound only`,
      allowAllOutbound: true,
    });
    const instanceRole = new InstanceRole(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'ECS container agent on the runner instances',
      logGroupArn: props.runnerLogGroupArn,
    });
    // The runner image is pulled at boot, before the first task asks for it.
    props.image.repository?.grantPull(instanceRole);
    const { parameterPrefix } = props.image;
    if (parameterPrefix !== undefined) {
      const stack = Stack.of(this);
      instanceRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadTheRunnerImageParameters',
          actions: ['ssm:GetParameter'],
          resources: [...new Set(props.groups.map((group) => group.architecture))].map(
            (architecture) =>
              `arn:${stack.partition}:ssm:${stack.region}:${stack.account}:parameter${imageParameterName(parameterPrefix, architecture)}`,
          ),
        }),
      );
    }

    for (const group of props.groups) {
      const deployed = this.instanceGroup(group, {
        settings,
        props,
        vpc,
        cluster,
        securityGroup,
        instanceRole,
      });
      this.deployed.push(deployed);
      for (const profile of group.profiles) this.providers.set(profile, deployed.capacityProviderName);
    }
    if (settings.mode === 'owned') this.warnOfReuse(props.groups, props.profiles);
    else {
      Annotations.of(this).addWarningV2(
        'runners:managed-capacity-reuses-instances',
        "capacityMode=managed: ECS managed scaling places each job on any instance of its capacity provider, so an instance that ran a job (a privileged one: a job that escapes to the host can tamper with the cached image and read earlier jobs' stopped containers) serves later jobs, and a job waits minutes for the scaling evaluation. capacityMode=owned (the default) gives each job a pristine instance (docs/capacity.md).",
      );
    }

    acknowledge(
      instanceRole,
      "The ECS container agent's permissions as CDK writes them: ecs:Submit* and agent calls that take no resource; ecr:GetAuthorizationToken has none either.",
      'IAM5[Resource::*]',
      'IAM5[Action::ecs:Submit*]',
    );
    acknowledge(
      instanceRole,
      "The runner log group's streams are named per task: the agent's log permissions are scoped to that one group.",
      wildcardResource(instanceRole, props.runnerLogGroupArn),
    );
    return cluster;
  }

  /** The synth's warnings of instances that serve more than one job (`reuseIdleMinutes`). */
  private warnOfReuse(groups: readonly CapacityGroup[], profiles: readonly ProfileSettings[]): void {
    for (const group of groups) {
      const members = profiles.filter((profile) => group.profiles.includes(profile.name));
      const reusing = members.filter((profile) => profile.reuseIdleMinutes !== undefined);
      if (group.reuseIdleMinutes !== undefined) {
        Annotations.of(this).addWarningV2(
          `runners:capacity-reuse-${group.name}`,
          `Instances of profiles ${group.profiles.join(', ')} serve more than one job (reuseIdleMinutes=${group.reuseIdleMinutes}): this trades isolation for speed, trusted repositories only. A job that escapes its privileged container to the host reaches every later job on that instance (the cached runner image, earlier jobs' stopped containers, the instance role).`,
        );
      } else if (reusing.length > 0) {
        const pristine = members.filter((profile) => profile.reuseIdleMinutes === undefined);
        Annotations.of(this).addWarningV2(
          `runners:capacity-reuse-ignored-${group.name}`,
          `reuseIdleMinutes of profiles ${reusing.map((profile) => profile.name).join(', ')} has no effect: their instances (the ${group.name} group) also serve profiles ${pristine.map((profile) => profile.name).join(', ')}, which run pristine, and an instance serves a second job only when every profile of its group reuses instances.`,
        );
      }
    }
  }

  /** One group's launch template, Auto Scaling group (warm pool, Spot) and capacity provider. */
  private instanceGroup(
    group: CapacityGroup,
    shared: {
      readonly settings: Extract<CapacitySettings, { kind: 'new' }>;
      readonly props: RunnerCapacityProps;
      readonly vpc: ec2.IVpc;
      readonly cluster: ecs.Cluster;
      readonly securityGroup: ec2.ISecurityGroup;
      readonly instanceRole: iam.IRole;
    },
  ): DeployedGroup {
    const { settings, props, vpc, cluster, securityGroup, instanceRole } = shared;
    const owned = settings.mode === 'owned';
    const id = (name: string) => `${group.key}${name}`;
    const instanceTypes = group.instanceTypes.map((name) => new ec2.InstanceType(name));
    const wrong = group.instanceTypes.filter((name) => architectureOf(name) !== group.architecture);
    if (wrong.length > 0) {
      throw new Error(`instanceTypes must share one architecture (got ${group.instanceTypes.join(', ')})`);
    }
    const mixed = group.spot || instanceTypes.length > 1;
    if (group.warmPool > 0 && mixed) {
      throw new Error(
        `a warm pool needs one On-Demand instance type (profiles ${group.profiles.join(', ')}: ${group.instanceTypes.join(', ')}${group.spot ? ', Spot' : ''})`,
      );
    }

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...blockInstanceMetadataFromTasks(),
      ...agentSettings({ warmPool: group.warmPool > 0 }),
      ...pullRunnerImage(
        props.image.uri,
        props.image.repository === undefined ? undefined : Stack.of(this).region,
        props.image.parameterPrefix === undefined
          ? undefined
          : imageParameterName(props.image.parameterPrefix, group.architecture),
      ),
    );
    const launchTemplate = new ec2.LaunchTemplate(this, id('LaunchTemplate'), {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(
        group.architecture === 'arm64' ? ecs.AmiHardwareType.ARM : ecs.AmiHardwareType.STANDARD,
      ),
      ...(!mixed && { instanceType: instanceTypes[0] }),
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
    const autoScalingGroup = new autoscaling.AutoScalingGroup(this, id('Instances'), {
      vpc,
      vpcSubnets: {
        subnetType: settings.vpcId === undefined ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
      },
      minCapacity: group.minInstances,
      maxCapacity: group.maxInstances,
      // Owned: every instance protected from scale-in, so that the capacity function's lower desired
      // count terminates nothing; it terminates an idle instance itself, by id. (With managed
      // termination protection, the capacity provider sets this.) No desiredCapacity either way: a
      // deploy would reset what the capacity function or ECS set.
      ...(owned && { newInstancesProtectedFromScaleIn: true }),
      ...(mixed
        ? {
            mixedInstancesPolicy: {
              launchTemplate,
              launchTemplateOverrides: instanceTypes.map((instanceType) => ({ instanceType })),
              ...(group.spot && {
                // All Spot, from the pools with the most spare capacity: the fewest interruptions.
                instancesDistribution: {
                  onDemandBaseCapacity: 0,
                  onDemandPercentageAboveBaseCapacity: 0,
                  spotAllocationStrategy: autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED,
                },
              }),
            },
          }
        : { launchTemplate }),
    });
    if (group.warmPool > 0) {
      // Stopped instances that booted once (image pulled): a resume skips the boot and the pull.
      // No reuse on scale-in (ECS does not allow it with a capacity provider; nor would we hand an
      // instance that ran a privileged job to the next one). EC2 Auto Scaling refuses a warm pool
      // for a group with a mixed instances policy or Spot (PutWarmPool), checked above.
      autoScalingGroup.addWarmPool({
        minSize: group.warmPool,
        maxGroupPreparedCapacity: group.warmPool,
        poolState: autoscaling.PoolState.STOPPED,
      });
    }
    const capacityProvider = new ecs.AsgCapacityProvider(
      this,
      id('CapacityProvider'),
      owned
        ? {
            autoScalingGroup,
            enableManagedScaling: false,
            enableManagedTerminationProtection: false,
            // ECS drains an instance Auto Scaling terminates (its lifecycle hook waits for its
            // tasks): a second fence, should the capacity function ever terminate a busy one.
            enableManagedDraining: true,
          }
        : {
            autoScalingGroup,
            enableManagedScaling: true,
            enableManagedTerminationProtection: true,
            targetCapacityPercent: props.targetCapacityPercent,
          },
    );
    if (owned) {
      // CDK leaves ManagedScaling out when it is off; say DISABLED, so that a stack deployed with
      // managed scaling turns it off on update instead of keeping it.
      // (CDK names its CfnCapacityProvider by the construct's id, not `Resource`: no defaultChild.)
      const resource = capacityProvider.node.children.find(
        (child): child is ecs.CfnCapacityProvider => child instanceof ecs.CfnCapacityProvider,
      );
      resource?.addPropertyOverride('AutoScalingGroupProvider.ManagedScaling', { Status: 'DISABLED' });
    }
    // Managed termination protection or managed draining: CDK adds no drain hook function of its own.
    cluster.addAsgCapacityProvider(capacityProvider);
    acknowledge(
      autoScalingGroup,
      owned
        ? "The capacity function drives this group from EventBridge's Auto Scaling events (launch, failed launch, termination); its activity shows in the Auto Scaling console."
        : 'ECS managed scaling drives this group; its activity shows in the ECS and Auto Scaling consoles.',
      'AS3',
    );
    if (mixed) {
      acknowledge(
        autoScalingGroup,
        "cdk-nag's EBS encryption check cannot read a mixed instances policy; the launch template's root volume is encrypted (asserted by the infra tests).",
        'EC26',
      );
    }
    return {
      group,
      autoScalingGroupName: autoScalingGroup.autoScalingGroupName,
      capacityProviderName: capacityProvider.capacityProviderName,
    };
  }
}

/**
 * The instance role. CDK's ECS cluster gives the container agent `logs:CreateLogStream` and
 * `logs:PutLogEvents` on every log group (`Resource: *`, for the awslogs driver); this role narrows
 * any such grant to the runners' log group, so that a job that reaches the instance role (a
 * privileged container can) writes into no other log group of the account.
 */
class InstanceRole extends iam.Role {
  private readonly logGroupArn: string;

  constructor(scope: Construct, id: string, props: iam.RoleProps & { readonly logGroupArn: string }) {
    const { logGroupArn, ...roleProps } = props;
    super(scope, id, roleProps);
    this.logGroupArn = logGroupArn;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    const logs = statement.actions.filter((action) => action.startsWith('logs:'));
    if (logs.length === 0 || !statement.resources.includes('*')) return super.addToPrincipalPolicy(statement);
    const copy = (actions: string[], resources: string[]) =>
      new iam.PolicyStatement({
        effect: statement.effect,
        actions,
        resources,
        conditions: statement.conditions as Record<string, unknown>,
      });
    const others = statement.actions.filter((action) => !action.startsWith('logs:'));
    if (others.length > 0) super.addToPrincipalPolicy(copy(others, statement.resources));
    return super.addToPrincipalPolicy(copy(logs, [this.logGroupArn]));
  }
}

/**
 * The ECS agent's settings for a runner instance: a task uses the image already on the instance
 * (pulled at boot) instead of pulling it again; an instance in a warm pool does not register with
 * the cluster until it leaves the pool; awsvpc tasks (should a task definition use them) get no
 * instance metadata either.
 */
export function agentSettings(options: { readonly warmPool: boolean }): string[] {
  return [
    "cat >> /etc/ecs/ecs.config <<'CONFIG'",
    'ECS_AWSVPC_BLOCK_IMDS=true',
    'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached',
    ...(options.warmPool ? ['ECS_WARM_POOLS_CHECK=true'] : []),
    'CONFIG',
  ];
}

/**
 * Pulls the runner image when the instance boots (a gigabyte or more: the largest part of a cold
 * start), in the background so that the agent is not held up; a failure leaves the pull to the
 * first task (the log: /var/log/runner-image-pull.log). From the stack's repository, with the
 * instance role's ECR credentials.
 */
export function pullRunnerImage(image: string, ecrRegion: string | undefined, parameter?: string): string[] {
  const cli = '(command -v aws >/dev/null || dnf install -y awscli-2) && ';
  // The stack's builds: the image the parameter names now, read at boot.
  const resolve =
    parameter === undefined || ecrRegion === undefined
      ? ''
      : `IMAGE=$(aws ssm get-parameter --region ${ecrRegion} --name ${parameter} --query Parameter.Value --output text) && `;
  const login =
    ecrRegion === undefined
      ? ''
      : `${cli}${resolve}aws ecr get-login-password --region ${ecrRegion} | docker login --username AWS --password-stdin "\${IMAGE%%/*}" && `;
  return [
    `IMAGE="${resolve === '' ? image : ''}"`,
    `( for _ in 1 2 3 4 5; do timeout 300 sh -c 'until docker info >/dev/null 2>&1; do sleep 2; done' && ${login}docker pull "$IMAGE" && break; sleep 15; done ) >/var/log/runner-image-pull.log 2>&1 &`,
  ];
}

/** The command that drops a container's traffic to the instance metadata service (its credentials are the instance role's). */
export const IMDS_DROP_RULE =
  'DOCKER-USER --in-interface docker+ --destination 169.254.169.254/32 --jump DROP';

/**
 * Tasks use the bridge network: AWS's way to keep them from the instance metadata service is a
 * DOCKER-USER rule (Docker never flushes that chain). A drop-in of docker.service puts it back
 * after every Docker start, so it survives Docker restarts and the reboot of an instance resumed
 * from the warm pool; it is also applied now. With IMDSv2 at one hop (the launch template), two
 * fences.
 */
export function blockInstanceMetadataFromTasks(): string[] {
  const script = '/usr/local/sbin/block-task-imds';
  return [
    `cat > ${script} <<'SCRIPT'`,
    '#!/bin/sh',
    'iptables -w -N DOCKER-USER 2>/dev/null || true',
    `iptables -w -C ${IMDS_DROP_RULE} 2>/dev/null || iptables -w -I ${IMDS_DROP_RULE.replace('DOCKER-USER', 'DOCKER-USER 1')}`,
    'SCRIPT',
    `chmod 755 ${script}`,
    'mkdir -p /etc/systemd/system/docker.service.d',
    `printf '[Service]\\nExecStartPost=${script}\\n' > /etc/systemd/system/docker.service.d/block-task-imds.conf`,
    'systemctl daemon-reload',
    script,
  ];
}

/**
 * One entry of `CAPACITY_GROUPS` as the stack writes it: the hot schedule as its text, which the
 * functions parse, and the fields at their default left out.
 */
export type CapacityGroupEntry = Pick<
  CapacityGroupSettings,
  'name' | 'autoScalingGroupName' | 'capacityProvider' | 'profiles' | 'maxInstances'
> & {
  readonly hot?: number;
  readonly hotSchedule?: string;
  readonly warm?: number;
  readonly reuseIdleMinutes?: number;
  readonly spot?: true;
  readonly onInterruption?: string;
};

/**
 * The functions' `CAPACITY_GROUPS` (shared/capacity/capacity-groups.ts reads it): each owned group
 * with its Auto Scaling group and capacity provider (deploy-time names, written into the JSON as
 * tokens, as `RUNNER_PROFILES`' providers), its profiles, bound and pools. A field at the parser's
 * default (no hot or warm pool, On-Demand, pristine, no fallback) is left out: the functions share
 * Lambda's 4 KB of environment with `RUNNER_PROFILES`, and each group takes about 300 bytes of it.
 */
export function capacityGroupsVariable(groups: readonly DeployedGroup[]): string {
  return JSON.stringify(
    groups.map(
      ({ group, autoScalingGroupName, capacityProviderName }): CapacityGroupEntry => ({
        name: group.name,
        autoScalingGroupName,
        capacityProvider: capacityProviderName,
        profiles: group.profiles,
        maxInstances: group.maxInstances,
        ...(group.hotPool > 0 && { hot: group.hotPool }),
        ...(group.hotSchedule !== undefined && { hotSchedule: group.hotSchedule }),
        ...(group.warmPool > 0 && { warm: group.warmPool }),
        ...(group.reuseIdleMinutes !== undefined && { reuseIdleMinutes: group.reuseIdleMinutes }),
        ...(group.spot && { spot: true }),
        ...(group.onInterruption !== undefined && { onInterruption: group.onInterruption }),
      }),
    ),
  );
}
