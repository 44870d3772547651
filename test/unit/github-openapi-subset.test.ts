import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { extractSubset } from '../support/github-openapi';

const file = new URL('../fixtures/github-openapi-subset.json', import.meta.url);

// UPDATE_OPENAPI_SUBSET=1 npm test -- github-openapi-subset rewrites the subset after an upgrade.
describe('GitHub OpenAPI subset', () => {
  it('matches the operations of @octokit/openapi the stand-in checks requests against', () => {
    const expected = `${JSON.stringify(extractSubset(), null, 1)}\n`;
    if (process.env.UPDATE_OPENAPI_SUBSET === '1') writeFileSync(file, expected);
    expect(readFileSync(file, 'utf8')).toBe(expected);
  });
});
