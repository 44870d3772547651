import { describe, expect, it } from '@jest/globals';
import { fitRunnerName, RUNNER_NAME_MAX } from '../../shared/runner/runner-name';

describe('fitRunnerName', () => {
  it('keeps a name within 64 characters as it is', () => {
    expect(fitRunnerName('octo-org-sandpit-repo-1-1-2')).toBe('octo-org-sandpit-repo-1-1-2');
  });

  it('shortens a long name to 64 characters, keeping its start', () => {
    const long = `a-very-long-organisation-name-sandpit-${'r'.repeat(60)}-940463255-1-2832853555`;
    const fitted = fitRunnerName(long);
    expect(fitted).toHaveLength(RUNNER_NAME_MAX);
    expect(fitted.startsWith('a-very-long-organisation-name-sandpit-')).toBe(true);
    expect(fitted).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('gives the same long name the same short name', () => {
    const long = `org-sandpit-${'r'.repeat(80)}-1-1-42`;
    expect(fitRunnerName(long)).toBe(fitRunnerName(long));
  });

  it('gives two jobs that differ only in the cut-off job id different names', () => {
    const prefix = `org-sandpit-${'r'.repeat(80)}-940463255-1-`;
    expect(fitRunnerName(`${prefix}1001`)).not.toBe(fitRunnerName(`${prefix}1002`));
  });
});
