/** A mistyped setting fails the synth, naming the setting meant, instead of being ignored. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createRunnerApp } from '../../infra/runner-app';
import { CONTEXT_KEYS, unknownSettings } from '../../infra/settings';
import { nearestName } from '../../shared/nearest-name';
import { standInDist } from '../support/synth-stack';

const synth = async (context: Record<string, unknown>, settingsFile?: string) =>
  createRunnerApp({
    context,
    env: {},
    distDir: await standInDist(),
    ...(settingsFile !== undefined && { settingsFile }),
  }).app.synth();

describe('unknown settings', () => {
  it('fail the synth of -c runnerScop=org, asking whether runnerScope was meant', async () => {
    await expect(synth({ runnerScop: 'org' })).rejects.toThrow(
      'context key "runnerScop" is no setting; did you mean runnerScope? (docs/infrastructure.md lists them)',
    );
  });

  it('are all reported at once, a key far from every setting without a guess', async () => {
    await expect(synth({ alarmEmial: 'a@example.com', zzzzzzzz: '1' })).rejects.toThrow(
      /alarmEmial" is no setting; did you mean alarmEmail\?.*\n.*"zzzzzzzz" is no setting \(docs/,
    );
  });

  it("pass CDK's own context keys: feature flags, the CLI's and lookups", async () => {
    await expect(
      synth({
        '@aws-cdk/core:checkSecretUsage': true,
        'aws:cdk:version-reporting': false,
        'cli-telemetry': false,
        'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
        'acknowledged-issue-numbers': [32775],
      }),
    ).resolves.toBeDefined();
  });

  it('in the settings file are refused the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'settings-'));
    const file = join(dir, 'runners.config.json');
    await writeFile(file, JSON.stringify({ '//': 'a comment', region: 'eu-west-1', maxCapcity: 4 }));
    await expect(synth({}, file)).rejects.toThrow(
      `${file}: key "maxCapcity" is no setting; did you mean maxCapacity?`,
    );
  });

  it('name the nearest setting for a swap, a missing letter, a wrong case', () => {
    const known = CONTEXT_KEYS.map((entry) => entry.key);
    expect(
      ['runnerScpoe', 'instanceType', 'REGION', 'githubhookid'].map((key) => nearestName(key, known)),
    ).toEqual(['runnerScope', 'instanceTypes', 'region', 'githubHookId']);
    expect(unknownSettings(['region', 'cpu'], 'context key')).toEqual([]);
  });
});
