import { describe, expect, it } from '@jest/globals';
import { formatAge } from '../../shared/status/age';
import { formatJobStatus, type JobStatusRow } from '../../shared/status/job-status';

const row = (over: Partial<JobStatusRow>): JobStatusRow => ({
  jobId: 1,
  repository: 'octo-org/app',
  runId: 7,
  profile: 'default',
  state: 'running',
  attempt: 1,
  ageSeconds: 90,
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/abc',
  task: 'RUNNING',
  runner: 'octo-org-sandpit-app-7-1-1',
  stuck: undefined,
  next: 'wait: the job runs',
  ...over,
});

describe('npm run status, as an operator reads it', () => {
  it.each([
    [45, '45s'],
    [125, '2m05s'],
    [3 * 3600 + 4 * 60 + 59, '3h04m'],
    [1_904_799 * 60 + 34, '1322d 18h'],
  ])('writes an age of %i seconds as %s', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text);
  });

  it('lists a done job whose task still runs, without counting it among the open jobs', () => {
    const text = formatJobStatus([row({ jobId: 1, state: 'done' }), row({ jobId: 2, ageSeconds: 7200 })]);
    expect(text).toContain('1 open job(s), 0 stuck; 1 done, its task left to the reconciler to stop');
    expect(text).toMatch(/^1\s+octo-org\/app\s+done/m);
    expect(text).toMatch(/^2\s+octo-org\/app\s+running\s+1\s+2h00m/m);
  });
});
