/**
 * ECS's describe calls on loopback (`DescribeClusters`, `DescribeTaskDefinition`,
 * `DescribeCapacityProviders`) and `RegisterTaskDefinition`, through the real protocol (AWS JSON 1.1), with the answers ECS
 * gives for what does not exist: a `MISSING` failure, or a ClientException for a task definition.
 */
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface EcsResources {
  clusters: Array<{ name: string; status: string; capacityProviders: string[] }>;
  taskDefinitions: Array<{
    family: string;
    revision: number;
    status: string;
    image: string;
    /** The whole revision as registered (RegisterTaskDefinition's input), when it was. */
    registered?: Record<string, unknown>;
    tags?: Array<{ key: string; value: string }>;
  }>;
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
            containerDefinitions: [{ name: 'runner', image: found.image }],
            ...found.registered,
            taskDefinitionArn: `${ARN}:task-definition/${found.family}:${found.revision}`,
            family: found.family,
            revision: found.revision,
            status: found.status,
            // ECS's own fields, which RegisterTaskDefinition does not take back.
            registeredAt: Date.now() / 1000,
            registeredBy: 'arn:aws:sts::123456789012:assumed-role/cdk-deploy/session',
            compatibilities: ['EC2'],
            requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' }],
          },
          ...((input.include as string[] | undefined)?.includes('TAGS') && { tags: found.tags ?? [] }),
        };
      },
      // A new revision of the family, ACTIVE, numbered after its last; ECS refuses its own fields.
      RegisterTaskDefinition: (input) => {
        const family = String(input.family);
        for (const field of [
          'taskDefinitionArn',
          'revision',
          'status',
          'registeredAt',
          'registeredBy',
          'compatibilities',
          'requiresAttributes',
        ]) {
          if (field in input) throw new AwsError('SerializationException', `Unrecognized field "${field}"`);
        }
        const containers = (input.containerDefinitions ?? []) as Array<{ name?: string; image?: string }>;
        if (containers.length === 0 || containers.some((c) => !c.name || !c.image))
          throw new AwsError('ClientException', 'Container.image should not be null or empty.');
        const { tags, ...registered } = input as Record<string, unknown> & {
          tags?: Array<{ key: string; value: string }>;
        };
        const revision =
          Math.max(
            0,
            ...resources.taskDefinitions.filter((d) => d.family === family).map((d) => d.revision),
          ) + 1;
        resources.taskDefinitions.push({
          family,
          revision,
          status: 'ACTIVE',
          image: containers[0]?.image ?? '',
          registered,
          ...(tags !== undefined && { tags }),
        });
        return {
          taskDefinition: {
            ...registered,
            taskDefinitionArn: `${ARN}:task-definition/${family}:${revision}`,
            revision,
            status: 'ACTIVE',
          },
          tags: tags ?? [],
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
