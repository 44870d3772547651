/** docs/configuration.md's table against the environment variables the code reads. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { coverageProblems, DOC, namesIn, SETTINGS, scanNames, withTable } from '../../scripts/config-table';

describe('the configuration table', () => {
  it('finds names read as env.NAME and quoted names, but not lower-case or single words', () => {
    expect([...namesIn("env.PORT; text('ECS_CLUSTER'); \"RUNNER_SCOPE\"; 'ecs_cluster'; 'HOST'")]).toEqual([
      'PORT',
      'ECS_CLUSTER',
      'RUNNER_SCOPE',
    ]);
  });

  it('describes every variable the functions and local commands read, and none they no longer read', async () => {
    expect(coverageProblems(await scanNames())).toEqual([]);
  });

  it('reports a variable the code reads but the table does not describe', () => {
    expect(coverageProblems(new Set(['NEW_SETTING']), [])).toEqual([
      expect.stringContaining('NEW_SETTING appears in the code'),
    ]);
  });

  it('names each variable once', () => {
    const names = SETTINGS.map((setting) => setting.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is up to date in docs/configuration.md (npm run docs:config rewrites it)', async () => {
    const doc = await readFile(DOC, 'utf8');
    expect(withTable(doc)).toBe(doc);
  });
});
