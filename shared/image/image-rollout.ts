import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { versionOfImage } from './built-image';
import type { BuiltImages, TaskDefinitions } from './image-ports';
import type { ImageRolloutSettings } from './image-settings';
import { compareVersions } from './runner-release';

/** What a CodeBuild state change event says (`detail` of "CodeBuild Build State Change"). */
export interface BuildStateChange {
  readonly 'project-name'?: string;
  readonly 'build-status'?: string;
  readonly 'build-id'?: string;
}

/** What one rollout did, family by family. */
export interface RolloutSummary {
  readonly image: string | undefined;
  readonly registered: ReadonlyArray<{ readonly family: string; readonly taskDefinitionArn: string }>;
  readonly unchanged: ReadonlyArray<{ readonly family: string; readonly why: string }>;
}

/** The fields RegisterTaskDefinition takes back from a described revision: all of them but ECS's own. */
const REGISTERED_FIELDS = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies ReadonlyArray<keyof TaskDefinition & keyof RegisterTaskDefinitionCommandInput>;

/**
 * The revision to register: the described one with only `container`'s image changed, and its tags.
 * Pure. Every other field is the revision's own, so a rollout changes nothing a deploy set.
 */
export function withImage(
  described: TaskDefinition,
  tags: readonly Tag[],
  container: string,
  image: string,
): RegisterTaskDefinitionCommandInput {
  const input: Record<string, unknown> = {};
  for (const field of REGISTERED_FIELDS) if (described[field] !== undefined) input[field] = described[field];
  input.containerDefinitions = (described.containerDefinitions ?? []).map((definition) =>
    definition.name === container ? { ...definition, image } : definition,
  );
  if (tags.length > 0) input.tags = [...tags];
  return input as unknown as RegisterTaskDefinitionCommandInput;
}

/**
 * After a build of the image succeeded: each task definition family of its architecture gets a
 * revision with the new image (the image parameter the build wrote), so the next task starts from
 * it without a deploy; a deploy later resolves the same parameter, so it never puts an older image
 * back. A family already on that image, on a newer runner, or not yet registered (the first
 * deploy registers it) is left as it is.
 */
export async function rollOutImage(
  event: BuildStateChange,
  deps: {
    readonly settings: ImageRolloutSettings;
    readonly images: BuiltImages;
    readonly taskDefinitions: TaskDefinitions;
  },
): Promise<RolloutSummary> {
  const target = deps.settings.targets.find((candidate) => candidate.project === event['project-name']);
  if (target === undefined || event['build-status'] !== 'SUCCEEDED') {
    return { image: undefined, registered: [], unchanged: [] };
  }
  const image = (await deps.images.current(target.parameter))?.image;
  const registered: Array<{ family: string; taskDefinitionArn: string }> = [];
  const unchanged: Array<{ family: string; why: string }> = [];
  if (image === undefined) return { image, registered, unchanged };
  const version = versionOfImage(image);
  for (const { family, container, architecture } of deps.settings.families) {
    if (architecture !== target.architecture) continue;
    const described = await deps.taskDefinitions.latest(family);
    if (described === undefined) {
      unchanged.push({ family, why: 'no revision yet: the deploy registers it with the image parameter' });
      continue;
    }
    const before = described.taskDefinition.containerDefinitions?.find(
      (definition) => definition.name === container,
    )?.image;
    if (before === undefined) {
      unchanged.push({ family, why: `its latest revision has no container ${container}` });
      continue;
    }
    if (before === image) {
      unchanged.push({ family, why: 'already on the image' });
      continue;
    }
    const running = versionOfImage(before);
    if (running !== undefined && version !== undefined && compareVersions(running, version) > 0) {
      unchanged.push({ family, why: `on runner ${running}, newer than the build's ${version}` });
      continue;
    }
    const taskDefinitionArn = await deps.taskDefinitions.register(
      withImage(described.taskDefinition, described.tags, container, image),
    );
    registered.push({ family, taskDefinitionArn });
  }
  return { image, registered, unchanged };
}
