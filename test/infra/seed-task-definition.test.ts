/**
 * The seed's runner_task_definition.json (kept byte for byte as a fixture) against the task
 * definition the stack synthesizes and the one `npm run infra:render` writes: field by field,
 * every difference listed here with its reason, and nothing else differs. The seed registers
 * runners with an admin token (`registration=token`); JIT registration differs from that by
 * exactly the token.
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
import { camelCaseKeys, evaluator, leaves, SECRET_SUFFIX, SEED_ACCOUNT } from '../support/cfn-evaluate';
import { only, synthesize } from '../support/synth-stack';

const seed = JSON.parse(readFileSync('test/fixtures/seed/runner_task_definition.json', 'utf8')) as Record<
  string,
  unknown
>;
const seedSecretArn = `arn:aws:secretsmanager:${SEED.region}:${SEED_ACCOUNT}:secret:${SEED.registrationTokenSecretName}`;

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
};
/** The stack also names its own secret by full ARN: ECS then needs no lookup of a partial ARN. */
const STACK_ONLY: typeof INTENDED = {
  'containerDefinitions[0].secrets[0].valueFrom': {
    value: `${seedSecretArn}-${SECRET_SUFFIX}`,
    why: "the stack's secret by its full ARN (the seed's partial ARN predates the secret)",
  },
};

/** With JIT registration (the stack's default) the task gets a one-use config, not a token. */
const JIT_ONLY: typeof INTENDED = {
  'containerDefinitions[0].secrets[0].name': {
    value: undefined,
    why: 'no RUNNER_ADMIN_TOKEN in the container: the webhook hands each task a one-use RUNNER_JIT_CONFIG',
  },
  'containerDefinitions[0].secrets[0].valueFrom': {
    value: undefined,
    why: 'no registration-token secret exists with JIT registration',
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
    synthesized = await synthesizedTaskDefinition({ registration: 'token' });
  });

  it('equals the seed field by field, but for the listed differences', () => {
    expect(compare(synthesized, { ...INTENDED, ...STACK_ONLY })).toEqual([]);
  });

  it('differs from the seed in every listed field (no stale entry)', () => {
    const want = leaves(seed);
    for (const path of Object.keys({ ...INTENDED, ...STACK_ONLY })) {
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
    synthesized = await synthesizedTaskDefinition({});
  });

  it('equals the seed field by field, but for the listed differences and the dropped token', () => {
    expect(compare(synthesized, { ...INTENDED, ...STACK_ONLY, ...JIT_ONLY })).toEqual([]);
  });

  it('has no secrets at all: no credential reaches the runner container', () => {
    const [container] = synthesized.containerDefinitions as Array<Record<string, unknown>>;
    expect(container).toBeDefined();
    expect(container?.secrets).toBeUndefined();
    expect(JSON.stringify(synthesized)).not.toContain('RUNNER_ADMIN_TOKEN');
  });

  it('drops only fields the seed has (no stale entry)', () => {
    const want = leaves(seed);
    for (const path of Object.keys(JIT_ONLY)) {
      expect(want.has(path)).toBe(true);
      expect(leaves(synthesized).has(path)).toBe(false);
    }
  });
});

describe('the rendered runner_task_definition.json', () => {
  it('equals the seed field by field, but for the listed differences', () => {
    const settings = readSettings(() => undefined, {});
    const rendered = seedDocuments(settings, {
      partition: 'aws',
      region: SEED.region,
      account: SEED_ACCOUNT,
    })[SEED_FILES.taskDefinition] as Record<string, unknown>;
    expect(compare(rendered, INTENDED)).toEqual([]);
  });
});
