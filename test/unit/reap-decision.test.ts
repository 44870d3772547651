import { describe, expect, it } from '@jest/globals';
import { type RunnerFacts, type RunnerTask, reapDecision } from '../../shared/reaper/reap-decision';
import { toRunnerTask } from '../../shared/reaper/runner-tasks';

const NOW = 1_800_000_000_000;
const TIMEOUT = 15 * 60_000;
const task = (minutesUp: number): RunnerTask => ({
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/abc',
  jobId: 1,
  runId: 2,
  repository: 'octo-org/repo',
  runnerName: 'octo-org-sandpit-repo-2-1-1',
  labels: ['octo-org-sandpit-repo-2-1'],
  scopeRef: { kind: 'org', org: 'octo-org' },
  createdAt: NOW - minutesUp * 60_000,
});
const decide = (minutesUp: number, facts: Omit<RunnerFacts, 'queuedJobsItCanTake'>, queued = 0) =>
  reapDecision(task(minutesUp), { ...facts, queuedJobsItCanTake: queued }, NOW, TIMEOUT);
const idle = { status: 'online', busy: false };

describe('reapDecision', () => {
  it('never stops a busy runner, however old and whatever its job', () => {
    expect(
      decide(600, {
        runner: { status: 'online', busy: true },
        job: { status: 'completed', runnerName: 'other' },
      }).kind,
    ).toBe('keep');
  });

  it('stops an idle runner whose job completed when no job of its run waits', () => {
    expect(decide(1, { runner: idle, job: { status: 'completed', runnerName: null } })).toEqual({
      kind: 'stop',
      reason: 'its job is completed and no job of its run waits for it',
    });
  });

  it('stops an idle runner whose job was taken by its twin when no job of its run waits', () => {
    expect(decide(1, { runner: idle, job: { status: 'in_progress', runnerName: 'twin' } }).reason).toBe(
      'its job was taken by runner twin and no job of its run waits for it',
    );
  });

  it('keeps an idle runner whose job went to its twin while another job of its run is queued', () => {
    expect(decide(1, { runner: idle, job: { status: 'in_progress', runnerName: 'twin' } }, 1)).toEqual({
      kind: 'keep',
      reason: 'its job was taken by runner twin, but a job of its run is still queued',
    });
  });

  it('keeps a runner whose job it is running itself', () => {
    expect(
      decide(1, { runner: idle, job: { status: 'in_progress', runnerName: task(1).runnerName } }).kind,
    ).toBe('keep');
  });

  it('keeps a task still starting within the idle timeout', () => {
    expect(decide(14, { runner: undefined, job: { status: 'queued', runnerName: null } }).kind).toBe('keep');
  });

  it.each([
    ['never registered', undefined],
    ['offline', { status: 'offline', busy: false }],
    ['idle', idle],
  ])('stops a runner %s past the idle timeout', (state, runner) => {
    const decision = decide(16, { runner, job: { status: 'queued', runnerName: null } });
    expect(decision.kind).toBe('stop');
    expect(decision.reason).toMatch(new RegExp(`^${state} for longer than the idle timeout`));
  });
});

describe('toRunnerTask', () => {
  const described = {
    taskArn: 'arn:t',
    createdAt: new Date(NOW),
    tags: [
      { key: 'gha:job-id', value: '11' },
      { key: 'gha:run-id', value: '22' },
      { key: 'gha:repository', value: 'octo-org/repo' },
      { key: 'gha:runner-name', value: 'r-11' },
    ],
    overrides: {
      containerOverrides: [
        {
          name: 'c',
          environment: [
            { name: 'ORGANIZATION', value: 'octo-org' },
            { name: 'RUNNER_LABELS', value: 'octo-org-sandpit-repo-22-1,gpu' },
          ],
        },
      ],
    },
  };

  it('reads the job, run, runner and organisation of a task we started', () => {
    expect(toRunnerTask(described, 'c')).toEqual({
      taskArn: 'arn:t',
      jobId: 11,
      runId: 22,
      repository: 'octo-org/repo',
      runnerName: 'r-11',
      labels: ['octo-org-sandpit-repo-22-1', 'gpu'],
      scopeRef: { kind: 'org', org: 'octo-org' },
      createdAt: NOW,
    });
  });

  it('reads repository scope when the override names no organisation', () => {
    const repoScoped = { ...described, overrides: { containerOverrides: [{ name: 'c', environment: [] }] } };
    expect(toRunnerTask(repoScoped, 'c')?.scopeRef).toEqual({
      kind: 'repo',
      owner: 'octo-org',
      repo: 'repo',
    });
  });

  it('ignores a task we did not start', () => {
    expect(toRunnerTask({ taskArn: 'arn:other', tags: [] }, 'c')).toBeUndefined();
  });
});
