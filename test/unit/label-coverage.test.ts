import { describe, expect, it } from '@jest/globals';
import { runnerCoversJob } from '../../shared/runner/label-coverage';

describe('runnerCoversJob', () => {
  it('serves a job whose every label the runner has', () => {
    expect(runnerCoversJob(['org-sandpit-repo-1-1', 'gpu'], ['org-sandpit-repo-1-1'])).toBe(true);
  });

  it('compares labels without case, as GitHub does', () => {
    expect(runnerCoversJob(['Org-Sandpit-Repo-1-1'], ['org-sandpit-repo-1-1'])).toBe(true);
  });

  it('does not serve a job that also asks for a label the runner lacks', () => {
    expect(runnerCoversJob(['org-sandpit-repo-1-1'], ['self-hosted', 'org-sandpit-repo-1-1'])).toBe(false);
  });

  it('does not serve a GitHub-hosted job', () => {
    expect(runnerCoversJob(['org-sandpit-repo-1-1'], ['ubuntu-latest'])).toBe(false);
  });

  it('does not serve a job that asks for no label', () => {
    expect(runnerCoversJob(['org-sandpit-repo-1-1'], [])).toBe(false);
  });
});
