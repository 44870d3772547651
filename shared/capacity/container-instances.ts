import type { EcsApi } from '../ecs/ecs-api';

/** A container instance of the cluster, as the capacity function needs it. */
export interface ContainerInstanceFacts {
  readonly containerInstanceArn: string;
  readonly ec2InstanceId: string;
  readonly status: string;
  readonly agentConnected: boolean;
  readonly capacityProvider: string | undefined;
}

/** The port to the cluster's container instances: the round's check of what events may not have said. */
export interface ContainerInstances {
  /** The cluster's ACTIVE container instances. */
  listActive(signal?: AbortSignal): Promise<ContainerInstanceFacts[]>;
}

/** ECS's ListContainerInstances (100 a page) and DescribeContainerInstances (100 a call). */
export function createEcsContainerInstances(cluster: string, ecs: () => Promise<EcsApi>): ContainerInstances {
  return {
    async listActive(signal) {
      const { client, sdk } = await ecs();
      const options = signal ? { abortSignal: signal } : {};
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListContainerInstancesCommand({ cluster, status: 'ACTIVE', maxResults: 100, nextToken }),
          options,
        );
        arns.push(...(page.containerInstanceArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const facts: ContainerInstanceFacts[] = [];
      for (let i = 0; i < arns.length; i += 100) {
        const { containerInstances = [] } = await client.send(
          new sdk.DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(i, i + 100) }),
          options,
        );
        for (const instance of containerInstances) {
          if (instance.containerInstanceArn === undefined || instance.ec2InstanceId === undefined) continue;
          facts.push({
            containerInstanceArn: instance.containerInstanceArn,
            ec2InstanceId: instance.ec2InstanceId,
            status: instance.status ?? 'UNKNOWN',
            agentConnected: instance.agentConnected === true,
            capacityProvider: instance.capacityProviderName,
          });
        }
      }
      return facts;
    },
  };
}
