import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { PAYLOAD_FILES } from '../fixtures/payloads';

const folder = new URL('../fixtures/payloads/', import.meta.url);

// The committed payloads (for README and `npm run replay`) are derived from real ones;
// UPDATE_PAYLOAD_FILES=1 npm test -- payload-files rewrites them.
describe('committed payload files', () => {
  it.each(Object.keys(PAYLOAD_FILES))('%s matches its derivation from @octokit/webhooks-examples', (file) => {
    const expected = `${JSON.stringify(PAYLOAD_FILES[file]?.(), null, 2)}\n`;
    if (process.env.UPDATE_PAYLOAD_FILES === '1') writeFileSync(new URL(file, folder), expected);
    expect(readFileSync(new URL(file, folder), 'utf8')).toBe(expected);
  });
});
