import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import type { RawRelease } from './runner-release';

/** GitHub's runner releases (public: no credentials). */
export interface RunnerReleases {
  latest(): Promise<RawRelease>;
  /** The newest releases first, up to `count`. */
  recent(count: number): Promise<RawRelease[]>;
  /** The SHA-256 (hex) of the file at `url`, downloaded. */
  sha256Of(url: string): Promise<string>;
}

/** The image parameters: the image each architecture has now. */
export interface BuiltImages {
  current(
    parameter: string,
  ): Promise<{ readonly image: string; readonly since: string | undefined } | undefined>;
}

/** One build of a project, as CodeBuild tells it. */
export interface BuildFacts {
  readonly id: string;
  /** SUCCEEDED, FAILED, FAULT, TIMED_OUT, IN_PROGRESS, STOPPED. */
  readonly status: string;
  readonly startedAt: string | undefined;
  readonly endedAt: string | undefined;
}

/** The image build projects. */
export interface ImageBuilds {
  /** Starts a build of the project with these environment variables; its id. */
  start(project: string, environment: Readonly<Record<string, string>>): Promise<string>;
  /** The project's latest builds, newest first. */
  recent(project: string, count: number): Promise<BuildFacts[]>;
}

/** A task definition as DescribeTaskDefinition gives it, with its tags. */
export interface DescribedTaskDefinition {
  readonly taskDefinition: TaskDefinition;
  readonly tags: readonly Tag[];
}

/** The profiles' task definitions. */
export interface TaskDefinitions {
  /** The latest ACTIVE revision of a family; undefined when it has none. */
  latest(family: string): Promise<DescribedTaskDefinition | undefined>;
  /** Registers a revision; its ARN. */
  register(input: RegisterTaskDefinitionCommandInput): Promise<string>;
}
