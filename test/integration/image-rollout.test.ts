/**
 * The rollout after a runner image build, with the real SSM and ECS clients against stand-ins:
 * each family of the build's architecture gets a revision with the new image and nothing else
 * changed, and nothing goes back to an older image.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createEcsTaskDefinitions, createSsmBuiltImages } from '../../shared/image/aws-image-ports';
import { rollOutImage } from '../../shared/image/image-rollout';
import { parseImageRolloutSettings } from '../../shared/image/image-settings';
import type { StandIn } from '../support/aws-stand-in';
import { type EcsResources, startEcsResourcesStandIn } from '../support/ecs-resources-stand-in';
import { type StandInParameter, startSsmStandIn } from '../support/image-build-stand-ins';

const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/github-actions-self-hosted-runner-debian';
const FAMILY = 'github-actions-self-hosted-runner-debian-task';
const CONTAINER = 'github-actions-self-hosted-runner-debian-container';
const settings = parseImageRolloutSettings({
  IMAGE_BUILDS: JSON.stringify([
    {
      architecture: 'x86_64',
      project: 'runner-image-x86_64',
      parameter: '/GitHubRunners/runner-image/x86_64',
    },
    { architecture: 'arm64', project: 'runner-image-arm64', parameter: '/GitHubRunners/runner-image/arm64' },
  ]),
  IMAGE_FAMILIES: JSON.stringify([
    { architecture: 'x86_64', family: FAMILY, container: CONTAINER },
    { architecture: 'x86_64', family: `${FAMILY}-large`, container: CONTAINER },
    { architecture: 'arm64', family: `${FAMILY}-graviton`, container: CONTAINER },
  ]),
});

/** A revision as CloudFormation registered it from the stack (trimmed to a few of its fields). */
const deployed = (family: string, image: string) => ({
  family,
  revision: 3,
  status: 'ACTIVE',
  image,
  registered: {
    family,
    taskRoleArn: 'arn:aws:iam::123456789012:role/runner-task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/runner-execution',
    containerDefinitions: [
      {
        name: CONTAINER,
        image,
        privileged: true,
        environment: [{ name: 'ORGANIZATION', value: 'foo-organisation' }],
        stopTimeout: 120,
      },
    ],
    requiresCompatibilities: ['EC2'],
    cpu: '1024',
    memory: '2048',
    volumes: [{ name: 'scratch', dockerVolumeConfiguration: { scope: 'task', driver: 'local' } }],
  },
  tags: [{ key: 'Env', value: 'sandpit' }],
});

const resources: EcsResources = { clusters: [], taskDefinitions: [], capacityProviders: [] };
const parameters = new Map<string, StandInParameter>();
let ecs: StandIn;
let ssm: StandIn;
const deps = () => ({
  settings,
  images: createSsmBuiltImages(),
  taskDefinitions: createEcsTaskDefinitions(),
});
const succeeded = (project: string) => ({
  'project-name': project,
  'build-status': 'SUCCEEDED',
  'build-id': `${project}:1`,
});

beforeAll(async () => {
  ecs = await startEcsResourcesStandIn(resources);
  ssm = await startSsmStandIn(parameters);
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SSM = ssm.url;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_ECS;
  delete process.env.AWS_ENDPOINT_URL_SSM;
  await Promise.all([ecs.close(), ssm.close()]);
});
beforeEach(() => {
  resources.taskDefinitions = [
    deployed(FAMILY, `${REPOSITORY}:2.338.0-x64-7`),
    deployed(`${FAMILY}-large`, `${REPOSITORY}:2.338.0-x64-7`),
    deployed(`${FAMILY}-graviton`, `${REPOSITORY}:2.338.0-arm64-7`),
  ];
  parameters.set('/GitHubRunners/runner-image/x86_64', {
    value: `${REPOSITORY}:2.339.0-x64-8`,
    modifiedAt: Date.now(),
  });
  parameters.set('/GitHubRunners/runner-image/arm64', {
    value: `${REPOSITORY}:2.338.0-arm64-7`,
    modifiedAt: Date.now(),
  });
});

const latest = (family: string) =>
  resources.taskDefinitions.filter((d) => d.family === family).sort((a, b) => b.revision - a.revision)[0];

describe('after a runner image build succeeded', () => {
  it("registers a revision of each family of the build's architecture with the new image", async () => {
    const summary = await rollOutImage(succeeded('runner-image-x86_64'), deps());
    expect(summary.registered.map((item) => item.taskDefinitionArn)).toEqual([
      `arn:aws:ecs:us-east-1:123456789012:task-definition/${FAMILY}:4`,
      `arn:aws:ecs:us-east-1:123456789012:task-definition/${FAMILY}-large:4`,
    ]);
    expect(latest(FAMILY)?.image).toBe(`${REPOSITORY}:2.339.0-x64-8`);
    // The arm64 family is another build's.
    expect(latest(`${FAMILY}-graviton`)?.revision).toBe(3);
  });

  it('changes only the image: every other field and the tags are the deployed revision', async () => {
    await rollOutImage(succeeded('runner-image-x86_64'), deps());
    const before = deployed(FAMILY, `${REPOSITORY}:2.338.0-x64-7`);
    const after = latest(FAMILY);
    const [container] = before.registered.containerDefinitions;
    expect(after?.registered).toEqual({
      ...before.registered,
      containerDefinitions: [{ ...container, image: `${REPOSITORY}:2.339.0-x64-8` }],
    });
    expect(after?.tags).toEqual(before.tags);
  });

  it('registers nothing for a family already on the image', async () => {
    await rollOutImage(succeeded('runner-image-x86_64'), deps());
    const again = await rollOutImage(succeeded('runner-image-x86_64'), deps());
    expect(again.registered).toEqual([]);
    expect(again.unchanged.map((item) => item.why)).toEqual(['already on the image', 'already on the image']);
  });

  it('never puts an older runner back', async () => {
    resources.taskDefinitions.push({ ...deployed(FAMILY, `${REPOSITORY}:2.340.0-x64-9`), revision: 5 });
    const summary = await rollOutImage(succeeded('runner-image-x86_64'), deps());
    expect(summary.unchanged).toContainEqual({
      family: FAMILY,
      why: "on runner 2.340.0, newer than the build's 2.339.0",
    });
    expect(latest(FAMILY)?.revision).toBe(5);
  });

  it('leaves a family with no revision yet to the first deploy', async () => {
    resources.taskDefinitions = resources.taskDefinitions.filter((d) => d.family !== `${FAMILY}-large`);
    const summary = await rollOutImage(succeeded('runner-image-x86_64'), deps());
    expect(summary.unchanged).toContainEqual({
      family: `${FAMILY}-large`,
      why: 'no revision yet: the deploy registers it with the image parameter',
    });
  });

  it('does nothing for a failed build or a project that is not ours', async () => {
    const failed = await rollOutImage(
      { ...succeeded('runner-image-x86_64'), 'build-status': 'FAILED' },
      deps(),
    );
    const other = await rollOutImage(succeeded('someone-elses-project'), deps());
    expect([failed.registered, other.registered]).toEqual([[], []]);
    expect(resources.taskDefinitions).toHaveLength(3);
  });
});
