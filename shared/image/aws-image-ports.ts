import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { boundedRequestHandler } from '../call-timeout';
import type { BuildFacts, BuiltImages, ImageBuilds, TaskDefinitions } from './image-ports';

const name = (error: unknown) => (error as { name?: string }).name;
const iso = (value: Date | undefined) => (value instanceof Date ? value.toISOString() : undefined);
const lazy = <T>(make: () => Promise<T>) => {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
};

/** The image parameters in SSM Parameter Store (`AWS_ENDPOINT_URL_SSM` for a stand-in). */
export function createSsmBuiltImages(): BuiltImages {
  const load = lazy(async () => {
    const sdk = await import('@aws-sdk/client-ssm');
    return { sdk, client: new sdk.SSMClient({ requestHandler: boundedRequestHandler }) as SSMClient };
  });
  return {
    async current(parameter) {
      const { sdk, client } = await load();
      try {
        const { Parameter } = await client.send(new sdk.GetParameterCommand({ Name: parameter }));
        return Parameter?.Value === undefined
          ? undefined
          : { image: Parameter.Value, since: iso(Parameter.LastModifiedDate) };
      } catch (error) {
        if (name(error) === 'ParameterNotFound') return undefined;
        throw error;
      }
    },
  };
}

/** The image build projects in CodeBuild. */
export function createCodeBuildImageBuilds(): ImageBuilds {
  const load = lazy(async () => {
    const sdk = await import('@aws-sdk/client-codebuild');
    return {
      sdk,
      client: new sdk.CodeBuildClient({ requestHandler: boundedRequestHandler }) as CodeBuildClient,
    };
  });
  return {
    async start(project, environment) {
      const { sdk, client } = await load();
      const { build } = await client.send(
        new sdk.StartBuildCommand({
          projectName: project,
          environmentVariablesOverride: Object.entries(environment).map(([key, value]) => ({
            name: key,
            value,
            type: 'PLAINTEXT',
          })),
        }),
      );
      if (build?.id === undefined) throw new Error(`CodeBuild started no build of ${project}`);
      return build.id;
    },
    async recent(project, count) {
      const { sdk, client } = await load();
      const { ids = [] } = await client.send(
        new sdk.ListBuildsForProjectCommand({ projectName: project, sortOrder: 'DESCENDING' }),
      );
      if (ids.length === 0) return [];
      const { builds = [] } = await client.send(new sdk.BatchGetBuildsCommand({ ids: ids.slice(0, count) }));
      return builds.map(
        (build): BuildFacts => ({
          id: build.id ?? '',
          status: build.buildStatus ?? 'UNKNOWN',
          startedAt: iso(build.startTime),
          endedAt: iso(build.endTime),
        }),
      );
    },
  };
}

/** The profiles' task definitions in ECS. */
export function createEcsTaskDefinitions(): TaskDefinitions {
  const load = lazy(async () => {
    const sdk = await import('@aws-sdk/client-ecs');
    return { sdk, client: new sdk.ECSClient({ requestHandler: boundedRequestHandler }) as ECSClient };
  });
  return {
    async latest(family) {
      const { sdk, client } = await load();
      try {
        const { taskDefinition, tags = [] } = await client.send(
          new sdk.DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] }),
        );
        return taskDefinition === undefined ? undefined : { taskDefinition, tags };
      } catch (error) {
        // ECS answers a family with no ACTIVE revision with ClientException "Unable to describe task definition."
        if (name(error) === 'ClientException') return undefined;
        throw error;
      }
    },
    async register(input) {
      const { sdk, client } = await load();
      const { taskDefinition } = await client.send(new sdk.RegisterTaskDefinitionCommand(input));
      if (taskDefinition?.taskDefinitionArn === undefined)
        throw new Error(`ECS registered no revision of ${input.family}`);
      return taskDefinition.taskDefinitionArn;
    },
  };
}
