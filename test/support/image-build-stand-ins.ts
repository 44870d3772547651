/**
 * SSM Parameter Store and CodeBuild on loopback, through their real protocol (AWS JSON 1.1), as
 * far as the runner image's build path calls them: GetParameter (ParameterNotFound for a name it
 * has not), StartBuild (a build IN_PROGRESS with its environment overrides, numbered per project),
 * ListBuildsForProject (newest first) and BatchGetBuilds.
 */
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface StandInParameter {
  value: string;
  /** Epoch ms it was last written. */
  modifiedAt: number;
}

export async function startSsmStandIn(
  parameters: Map<string, StandInParameter>,
): Promise<StandIn & { parameters: Map<string, StandInParameter> }> {
  const standIn = await startAwsStandIn({
    targetPrefix: 'AmazonSSM',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      GetParameter: (input) => {
        const name = String(input.Name);
        const parameter = parameters.get(name);
        if (!parameter) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
        return {
          Parameter: {
            Name: name,
            Type: 'String',
            Value: parameter.value,
            Version: 1,
            LastModifiedDate: parameter.modifiedAt / 1000,
            ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name}`,
            DataType: 'text',
          },
        };
      },
    },
  });
  return { ...standIn, parameters };
}

export interface StandInBuild {
  readonly id: string;
  readonly project: string;
  readonly number: number;
  readonly environment: Readonly<Record<string, string>>;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
  readonly startedAt: number;
  endedAt?: number;
}

export async function startCodeBuildStandIn(
  projects: readonly string[],
): Promise<StandIn & { builds: StandInBuild[] }> {
  const builds: StandInBuild[] = [];
  const known = (value: unknown) => {
    const project = String(value);
    if (!projects.includes(project))
      throw new AwsError('ResourceNotFoundException', `Project cannot be found: ${project}`);
    return project;
  };
  const describe = (build: StandInBuild) => ({
    id: build.id,
    arn: `arn:aws:codebuild:us-east-1:123456789012:build/${build.id}`,
    buildNumber: build.number,
    projectName: build.project,
    buildStatus: build.status,
    startTime: build.startedAt / 1000,
    ...(build.endedAt !== undefined && { endTime: build.endedAt / 1000 }),
    environment: {
      environmentVariables: Object.entries(build.environment).map(([name, value]) => ({
        name,
        value,
        type: 'PLAINTEXT',
      })),
    },
  });
  const standIn = await startAwsStandIn({
    targetPrefix: 'CodeBuild_20161006',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      StartBuild: (input) => {
        const project = known(input.projectName);
        const overrides = (input.environmentVariablesOverride ?? []) as Array<{
          name: string;
          value: string;
        }>;
        const number = builds.filter((build) => build.project === project).length + 1;
        const build: StandInBuild = {
          id: `${project}:${number.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
          project,
          number,
          environment: Object.fromEntries(overrides.map((item) => [item.name, item.value])),
          status: 'IN_PROGRESS',
          startedAt: Date.now(),
        };
        builds.push(build);
        return { build: describe(build) };
      },
      ListBuildsForProject: (input) => {
        const project = known(input.projectName);
        const ids = builds.filter((build) => build.project === project).map((build) => build.id);
        return { ids: input.sortOrder === 'ASCENDING' ? ids : ids.reverse() };
      },
      BatchGetBuilds: (input) => {
        const ids = (input.ids ?? []) as string[];
        if (ids.length > 100) throw new AwsError('InvalidInputException', 'ids: at most 100');
        const found = builds.filter((build) => ids.includes(build.id));
        return {
          builds: ids.flatMap((id) => found.filter((build) => build.id === id)).map(describe),
          buildsNotFound: ids.filter((id) => !found.some((build) => build.id === id)),
        };
      },
    },
  });
  return { ...standIn, builds };
}
