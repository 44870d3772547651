/** docs/security.md claims what tests show: each protection and setting row names a test file that exists. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const doc = readFileSync('docs/security.md', 'utf8');
const TEST_FILE = /test\/[a-z]+\/[a-z0-9.-]+\.test\.ts/g;

/** The body rows of the tables whose header has a `test` column. */
function rowsWithTests(): string[] {
  const rows: string[] = [];
  let inTable = false;
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|')) inTable = false;
    else if (/\| test \|$/.test(line)) inTable = true;
    else if (inTable && !line.startsWith('| ---')) rows.push(line);
  }
  return rows;
}

describe('docs/security.md', () => {
  it('has protection and settings tables', () => {
    expect(rowsWithTests().length).toBeGreaterThan(40);
  });

  it('names a test file in the test column of every row', () => {
    const untested = rowsWithTests().filter((row) => !(row.split('|').at(-2) ?? '').match(TEST_FILE));
    expect(untested).toEqual([]);
  });

  it('names only test files that exist', () => {
    const missing = [...new Set(doc.match(TEST_FILE))].filter((path) => !existsSync(path));
    expect(missing).toEqual([]);
  });
});
