import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
import type { CapacitySettings } from './settings';
import { SystemPart } from './system-part';

export interface RunnerCapacityProps {
  readonly settings: CapacitySettings;
  readonly targetEnv: string;
}

/** A cluster of our own with an EC2 Auto Scaling capacity provider, or the existing one named. */
export class RunnerCapacity extends SystemPart {
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly capacityProviderName: string;

  constructor(scope: Construct, id: string, props: RunnerCapacityProps) {
    super(scope, id);
    const { settings, targetEnv } = props;
    if (settings.kind === 'existing') {
      const stack = Stack.of(this);
      this.clusterName = settings.clusterName;
      this.clusterArn = `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:cluster/${settings.clusterName}`;
      this.capacityProviderName = settings.capacityProviderName;
    } else {
      const cluster = this.ownCluster(settings, targetEnv);
      this.clusterName = cluster.clusterName;
      this.clusterArn = cluster.clusterArn;
      this.capacityProviderName = cluster.capacityProviderName;
    }
    new CfnOutput(this, 'ClusterName', {
      value: this.clusterName,
      description: 'ECS cluster the runner tasks run in',
    });
    new CfnOutput(this, 'CapacityProviderName', {
      value: this.capacityProviderName,
      description: 'Capacity provider the webhook passes to RunTask',
    });
  }

  private ownCluster(settings: Extract<CapacitySettings, { kind: 'new' }>, targetEnv: string) {
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
    userData.addCommands(...blockInstanceMetadataFromTasks());
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
}

/** The command that drops a container's traffic to the instance metadata service (its credentials are the instance role's). */
export const IMDS_DROP_RULE =
  'DOCKER-USER --in-interface docker+ --destination 169.254.169.254/32 --jump DROP';

/**
 * Tasks use the bridge network: AWS's way to keep them from the instance metadata service is a
 * DOCKER-USER rule (Docker never flushes that chain). A drop-in of docker.service puts it back
 * after every Docker start, so it survives Docker restarts and the reboot of an instance resumed
 * from the warm pool; it is also applied now. With IMDSv2 at one hop (the launch template), two
 * fences. ECS_AWSVPC_BLOCK_IMDS covers tasks in awsvpc mode, should a task definition use it.
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
    'echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config',
  ];
}
