/**
 * ECS's describe calls on loopback (`DescribeClusters`, `DescribeTaskDefinition`,
 * `DescribeCapacityProviders`), through the real protocol (AWS JSON 1.1), with the answers ECS
 * gives for what does not exist: a `MISSING` failure, or a ClientException for a task definition.
 */
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface EcsResources {
  clusters: Array<{ name: string; status: string; capacityProviders: string[] }>;
  taskDefinitions: Array<{ family: string; revision: number; status: string; image: string }>;
  capacityProviders: Array<{ name: string; status: string }>;
}

const ARN = 'arn:aws:ecs:us-east-1:123456789012';

export async function startEcsResourcesStandIn(
  resources: EcsResources,
): Promise<StandIn & { resources: EcsResources }> {
  const shortName = (value: unknown, kind: string) =>
    String(value).replace(new RegExp(`^arn:aws:ecs:[^:]+:\\d+:${kind}/`), '');
  const standIn = await startAwsStandIn({
    targetPrefix: 'AmazonEC2ContainerServiceV20141113',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      DescribeClusters: (input) => {
        const names = ((input.clusters ?? ['default']) as string[]).map((c) => shortName(c, 'cluster'));
        const found = resources.clusters.filter((c) => names.includes(c.name));
        return {
          clusters: found.map((c) => ({
            clusterArn: `${ARN}:cluster/${c.name}`,
            clusterName: c.name,
            status: c.status,
            capacityProviders: c.capacityProviders,
          })),
          failures: names
            .filter((n) => !found.some((c) => c.name === n))
            .map((n) => ({ arn: `${ARN}:cluster/${n}`, reason: 'MISSING' })),
        };
      },
      DescribeTaskDefinition: (input) => {
        const [family, revision] = shortName(input.taskDefinition, 'task-definition').split(':');
        const candidates = resources.taskDefinitions
          .filter((d) => d.family === family && (revision === undefined || d.revision === Number(revision)))
          .sort((a, b) => b.revision - a.revision);
        // Without a revision, ECS describes the latest ACTIVE one.
        const found = revision === undefined ? candidates.find((d) => d.status === 'ACTIVE') : candidates[0];
        if (!found) throw new AwsError('ClientException', 'Unable to describe task definition.');
        return {
          taskDefinition: {
            taskDefinitionArn: `${ARN}:task-definition/${found.family}:${found.revision}`,
            family: found.family,
            revision: found.revision,
            status: found.status,
            containerDefinitions: [{ name: 'runner', image: found.image }],
          },
        };
      },
      DescribeCapacityProviders: (input) => {
        const names = (input.capacityProviders ?? []) as string[];
        const found = resources.capacityProviders.filter((p) => names.includes(p.name));
        return {
          capacityProviders: found.map((p) => ({
            capacityProviderArn: `${ARN}:capacity-provider/${p.name}`,
            name: p.name,
            status: p.status,
          })),
          failures: names
            .filter((n) => !found.some((p) => p.name === n))
            .map((n) => ({ arn: `${ARN}:capacity-provider/${n}`, reason: 'MISSING' })),
        };
      },
    },
  });
  return { ...standIn, resources };
}
