/**
 * The seed's runner_task_definition.json (kept byte for byte as a fixture) against the task
 * definition the stack synthesizes and the one `npm run infra:render` writes: field by field,
 * every difference listed here with its reason, and nothing else differs. The seed hands the
 * runner container an admin token; no task definition of ours does, in either registration mode.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  PLACEHOLDER_CONFIG_ARGS,
  RUNNER_HEALTH_CHECK,
  SEED_FILES,
  seedDocuments,
} from '../../infra/seed-documents';
import { DEFAULT_IMAGE_TAG, readSettings } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import { camelCaseKeys, evaluator, leaves, SEED_ACCOUNT } from '../support/cfn-evaluate';
import { only, synthesize } from '../support/synth-stack';

const seed = JSON.parse(readFileSync('test/fixtures/seed/runner_task_definition.json', 'utf8')) as Record<
  string,
  unknown
>;

/** Each intended difference: the field, what it is now, and why. */
const INTENDED: Record<string, { readonly value: unknown; readonly why: string }> = {
  'containerDefinitions[0].healthCheck.command[1]': {
    value: RUNNER_HEALTH_CHECK.command[1],
    why: "the seed's `... || echo failed` always exits 0; this one fails when the runner listener is gone",
  },
  'containerDefinitions[0].environment[1].value': {
    value: PLACEHOLDER_CONFIG_ARGS,
    why: "the placeholder RUNNER_CONFIG_ARGS is built from the webhook's own templates (shared/defaults.ts)",
  },
  'containerDefinitions[0].image': {
    value: `${SEED_ACCOUNT}.dkr.ecr.${SEED.region}.amazonaws.com/${SEED.imageRepositoryName}:${DEFAULT_IMAGE_TAG}`,
    why: "an immutable tag (the image's runner version) instead of `latest`: the repository's tags cannot move",
  },
  cpu: {
    value: '2048',
    why: "the seed's 256 units could not run a docker build: a runner task owns its instance (distinctInstance) and gets all of a t3.medium's vCPUs (infra/task-size.ts)",
  },
  memory: {
    value: '3584',
    why: "the seed's 512 MiB ran out of memory on the first real build: the t3.medium's 4 GiB less the host's reserve",
  },
  'containerDefinitions[0].secrets[0].name': {
    value: undefined,
    why: 'no RUNNER_ADMIN_TOKEN in the container: the function hands each task a RUNNER_JIT_CONFIG or a short-lived RUNNER_REGISTRATION_TOKEN in its S3 environment file',
  },
  'containerDefinitions[0].secrets[0].valueFrom': {
    value: undefined,
    why: 'no task reads the registration-token secret: the functions do',
  },
};
/** The stack's task definitions differ further: the image it builds, and the GitHub its runners register at. */
const STACK_INTENDED: typeof INTENDED = {
  ...INTENDED,
  'containerDefinitions[0].image': {
    value: '{{resolve:ssm:/GitHubRunners/runner-image/x86_64}}',
    why: 'the image the stack builds, named by the parameter its builds write and read at every deploy (docs/runner-image.md)',
  },
  'containerDefinitions[0].environment[3].name': {
    value: 'GITHUB_SERVER_URL',
    why: 'the GitHub a token-mode runner registers at',
  },
  'containerDefinitions[0].environment[3].value': {
    value: 'https://github.com',
    why: "the functions' GitHub",
  },
  'containerDefinitions[0].environment[4].name': { value: 'GITHUB_API_URL', why: 'and its API' },
  'containerDefinitions[0].environment[4].value': {
    value: 'https://api.github.com',
    why: "the functions' GITHUB_API_URL",
  },
};

/** Tags are a set: CloudFormation keeps them sorted by key. */
const sortTags = (document: Record<string, unknown>) => ({
  ...document,
  tags: [...(document.tags as Array<{ key: string }>)].sort((a, b) => a.key.localeCompare(b.key)),
});

function compare(actual: Record<string, unknown>, intended: typeof INTENDED) {
  const want = leaves(sortTags(seed));
  const got = leaves(sortTags(actual));
  const unexpected: string[] = [];
  for (const path of new Set([...want.keys(), ...got.keys()])) {
    const expected = path in intended ? intended[path]?.value : want.get(path);
    if (JSON.stringify(got.get(path)) !== JSON.stringify(expected)) {
      unexpected.push(
        `${path}: seed ${JSON.stringify(want.get(path))}, got ${JSON.stringify(got.get(path))}`,
      );
    }
  }
  return unexpected;
}

/** The stack's task definition, evaluated as CloudFormation would in the seed's account. */
async function synthesizedTaskDefinition(context: Record<string, unknown>) {
  const { json } = await synthesize(context);
  const taskDefinition = only(json, 'AWS::ECS::TaskDefinition');
  return camelCaseKeys(evaluator(json, SEED.region)(taskDefinition.Properties)) as Record<string, unknown>;
}

describe('the synthesized task definition (registration=token, as the seed)', () => {
  let synthesized: Record<string, unknown>;

  beforeAll(async () => {
    synthesized = await synthesizedTaskDefinition({ registration: 'token', seedNames: 'true' });
  });

  it('equals the seed field by field, but for the listed differences', () => {
    expect(compare(synthesized, STACK_INTENDED)).toEqual([]);
  });

  it('has no secrets at all: no admin token reaches the runner container', () => {
    const [container] = synthesized.containerDefinitions as Array<Record<string, unknown>>;
    expect(container).toBeDefined();
    expect(container?.secrets).toBeUndefined();
    expect(JSON.stringify(synthesized)).not.toContain('RUNNER_ADMIN_TOKEN');
  });

  it('differs from the seed in every listed field (no stale entry)', () => {
    const want = leaves(seed);
    for (const path of Object.keys(INTENDED)) {
      expect(want.has(path)).toBe(true);
      expect(want.get(path)).not.toEqual(leaves(synthesized).get(path));
    }
  });

  it("replaces the seed's health check, which can never fail", () => {
    expect(leaves(seed).get('containerDefinitions[0].healthCheck.command[1]')).toMatch(/\|\| echo failed$/);
    expect(leaves(synthesized).get('containerDefinitions[0].healthCheck.command[1]')).toBe(
      'pgrep -x Runner.Listener > /dev/null || exit 1',
    );
  });
});

describe('the synthesized task definition with JIT registration (the default)', () => {
  let synthesized: Record<string, unknown>;

  beforeAll(async () => {
    synthesized = await synthesizedTaskDefinition({ seedNames: 'true' });
  });

  it('equals the seed field by field, but for the listed differences', () => {
    expect(compare(synthesized, STACK_INTENDED)).toEqual([]);
  });
});

describe('the rendered runner_task_definition.json', () => {
  it('equals the seed field by field, but for the listed differences', () => {
    const settings = readSettings((key) => (key === 'seedNames' ? 'true' : undefined), {});
    const rendered = seedDocuments(settings, {
      partition: 'aws',
      region: SEED.region,
      account: SEED_ACCOUNT,
    })[SEED_FILES.taskDefinition] as Record<string, unknown>;
    expect(compare(rendered, INTENDED)).toEqual([]);
  });
});
