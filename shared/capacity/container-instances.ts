import type { EcsApi } from '../ecs/ecs-api';

/** An EC2 instance's container instance, as ECS reports it. */
export interface ContainerInstanceView {
  readonly ec2InstanceId: string;
  readonly containerInstanceArn: string;
  /** ACTIVE, DRAINING, REGISTERING, DEREGISTERING, INACTIVE, … */
  readonly status: string;
  readonly agentConnected: boolean;
}

/**
 * The port to the cluster's container instances: the capacity function's own look at a
 * registration whose EventBridge event was lost or is late.
 */
export interface ContainerInstances {
  /** The container instances of these EC2 instances (those registered; the others are absent). */
  find(ec2InstanceIds: readonly string[], signal?: AbortSignal): Promise<ContainerInstanceView[]>;
}

/** ListContainerInstances' filter and DescribeContainerInstances take at most 100 at a time. */
const PAGE = 100;

/**
 * The ECS adapter of {@link ContainerInstances}: ListContainerInstances filtered with the cluster
 * query language (`ec2InstanceId in [i-…, i-…]`), then DescribeContainerInstances.
 */
export function createEcsContainerInstances(
  cluster: string,
  load: () => Promise<EcsApi>,
): ContainerInstances {
  const options = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
  return {
    async find(ec2InstanceIds, signal) {
      const { client, sdk } = await load();
      const found: ContainerInstanceView[] = [];
      for (let i = 0; i < ec2InstanceIds.length; i += PAGE) {
        const ids = ec2InstanceIds.slice(i, i + PAGE);
        const { containerInstanceArns = [] } = await client.send(
          new sdk.ListContainerInstancesCommand({
            cluster,
            filter: `ec2InstanceId in [${ids.join(', ')}]`,
            maxResults: PAGE,
          }),
          options(signal),
        );
        if (containerInstanceArns.length === 0) continue;
        const { containerInstances = [] } = await client.send(
          new sdk.DescribeContainerInstancesCommand({ cluster, containerInstances: containerInstanceArns }),
          options(signal),
        );
        for (const instance of containerInstances) {
          if (instance.ec2InstanceId === undefined || instance.containerInstanceArn === undefined) continue;
          found.push({
            ec2InstanceId: instance.ec2InstanceId,
            containerInstanceArn: instance.containerInstanceArn,
            status: instance.status ?? 'UNKNOWN',
            agentConnected: instance.agentConnected === true,
          });
        }
      }
      return found;
    },
  };
}
