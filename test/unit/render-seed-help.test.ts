/** `npm run infra:render -- --help` prints the usage; an unknown option fails with it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const render = (...args: string[]) =>
  promisify(execFile)('node_modules/.bin/tsx', ['infra/render-seed.ts', ...args]);

describe('npm run infra:render', () => {
  it('prints its usage and options and exits 0 with --help', async () => {
    const { stdout } = await render('--help');
    expect(stdout).toMatch(/^usage: npm run infra:render -- --account/);
    for (const option of ['--account', '--region', '--out', '--partition', '-c key=value'])
      expect(stdout).toContain(option);
  });

  it('names the unknown option and shows the usage when given one', async () => {
    await expect(render('--bogus')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Unknown option '--bogus'[\s\S]*usage: npm run infra:render/),
    });
  });
});
