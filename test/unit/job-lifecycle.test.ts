import { describe, expect, it } from '@jest/globals';
import type { TaskFacts } from '../../shared/ecs/runner-tasks';
import { applyDelivery, claimLaunch, type JobRecord, ownsAttempt } from '../../shared/jobs/job-record';
import { RECONCILE_TIMING, reconcileDecision } from '../../shared/jobs/reconcile-decision';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const event = (variation: JobVariation = {}) => parseWorkflowJob(jobOfOurs({ jobId: 42, ...variation }));
const record = (changes: Partial<JobRecord> = {}): JobRecord => ({
  ...(applyDelivery(undefined, event(), 'default', NOW).next as JobRecord),
  version: 1,
  ...changes,
});
const task = (changes: Partial<TaskFacts> = {}): TaskFacts => ({
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  stoppedReason: undefined,
  startedAt: NOW - 60_000,
  createdAt: NOW - 90_000,
  jobId: 42,
  runnerName: 'runner-1',
  repository: 'octo-org/elastic-machines-testing',
  runId: 4747967848,
  ...changes,
});
const context = { now: NOW, capacityWaitMs: 600_000, ...RECONCILE_TIMING };
const started = (changes: Partial<JobRecord> = {}) =>
  record({
    state: 'task-started',
    attempt: 1,
    runnerName: 'runner-1',
    taskArn: task().taskArn,
    taskStartedAt: NOW - 90_000,
    ...changes,
  });

describe('a delivery moves a job forward, never back', () => {
  it.each([
    ['none', undefined, 'queued', 'queued'],
    ['none', undefined, 'waiting', 'waiting'],
    ['waiting', 'waiting', 'queued', 'queued'],
    ['queued', 'queued', 'in_progress', 'running'],
    ['task-started', 'task-started', 'in_progress', 'running'],
    ['running', 'running', 'completed', 'done'],
    ['task-started', 'task-started', 'completed', 'done'],
  ] as const)('from %s, %s', (_, state, action, expected) => {
    const current = state === undefined ? undefined : record({ state });
    const variation: JobVariation =
      action === 'waiting'
        ? { waitingForApproval: true }
        : action === 'queued'
          ? {}
          : { action, runnerName: 'runner-1' };
    expect(applyDelivery(current, event(variation), 'default', NOW).next?.state).toBe(expected);
  });

  it.each(['running', 'done', 'task-started', 'launching'] as const)(
    'a queued delivery that arrives when the job is %s changes nothing',
    (state) => {
      expect(applyDelivery(record({ state }), event(), 'default', NOW).next).toBeUndefined();
    },
  );

  it('an in_progress delivery after completed changes nothing', () => {
    const done = record({ state: 'done' });
    expect(
      applyDelivery(done, event({ action: 'in_progress', runnerName: 'r' }), 'default', NOW).next,
    ).toBeUndefined();
  });

  it('a queued delivery for a deployment waiting for approval records the job as waiting', () => {
    expect(applyDelivery(undefined, event({ waitingForApproval: true }), 'default', NOW).next?.state).toBe(
      'waiting',
    );
  });

  it('records which runner runs the job', () => {
    const next = applyDelivery(
      record(),
      event({ action: 'in_progress', runnerName: 'runner-7' }),
      'default',
      NOW,
    ).next;
    expect(next).toMatchObject({ state: 'running', jobRunner: 'runner-7' });
  });
});

describe('claiming a launch attempt', () => {
  it('takes the first attempt of a queued job under a lease', () => {
    expect(claimLaunch(record(), NOW, 10_000)).toMatchObject({
      state: 'launching',
      attempt: 1,
      leaseUntil: NOW + 10_000,
    });
  });

  it('keeps the attempt (and its clientToken) when its outcome is unknown', () => {
    const failed = record({ state: 'queued', attempt: 1, runnerId: 5, runnerName: 'runner-1' });
    expect(claimLaunch(failed, NOW, 10_000)).toMatchObject({
      attempt: 1,
      runnerId: 5,
      runnerName: 'runner-1',
    });
  });

  it('takes a new attempt once the last one is known to be over', () => {
    const ended = record({ state: 'queued', attempt: 1, attemptEnded: true, runnerId: 5, taskArn: 'arn' });
    const next = claimLaunch(ended, NOW, 10_000);
    expect(next).toMatchObject({ attempt: 2, attemptEnded: false });
    expect(next?.runnerId).toBeUndefined();
    expect(next?.taskArn).toBeUndefined();
  });

  it('refuses while another launcher holds the lease, and takes over when it runs out', () => {
    const held = record({ state: 'launching', attempt: 1, leaseUntil: NOW + 1 });
    expect(claimLaunch(held, NOW, 10_000)).toBeUndefined();
    expect(claimLaunch(held, NOW + 1, 10_000)).toMatchObject({ attempt: 1, leaseUntil: NOW + 10_001 });
  });

  it.each(['task-started', 'running', 'done', 'waiting'] as const)('refuses a job that is %s', (state) => {
    expect(claimLaunch(record({ state }), NOW, 10_000)).toBeUndefined();
  });

  it('refuses a job whose attempts are exhausted', () => {
    expect(claimLaunch(record({ exhausted: true }), NOW, 10_000)).toBeUndefined();
  });

  it('tells the owner of an attempt from a launcher that took it over', () => {
    const mine = claimLaunch(record(), NOW, 10_000) as JobRecord;
    const theirs = claimLaunch({ ...mine, leaseUntil: NOW }, NOW + 5, 10_000) as JobRecord;
    expect(ownsAttempt(mine, mine)).toBe(true);
    expect(ownsAttempt(theirs, mine)).toBe(false);
  });
});

describe('the reconciler decides, for each open job', () => {
  it('launches a queued job that has no task', () => {
    expect(reconcileDecision(record(), undefined, context).kind).toBe('launch');
  });

  it('leaves a launch in flight to its owner, and takes it over when the lease runs out', () => {
    expect(
      reconcileDecision(record({ state: 'launching', leaseUntil: NOW + 1 }), undefined, context).kind,
    ).toBe('none');
    expect(
      reconcileDecision(record({ state: 'launching', leaseUntil: NOW - 1 }), undefined, context).kind,
    ).toBe('launch');
  });

  it('replaces a task lost before its job started, after asking GitHub', () => {
    const action = reconcileDecision(
      started(),
      task({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: 'Spot interruption' }),
      context,
    );
    expect(action).toEqual({
      kind: 'end-attempt',
      reason: expect.stringContaining('Spot interruption'),
      next: 'relaunch',
      verifyJob: true,
    });
  });

  it('counts a task ECS no longer shows as lost only after a grace period (eventual consistency)', () => {
    expect(reconcileDecision(started({ taskStartedAt: NOW - 60_000 }), undefined, context).kind).toBe('none');
    expect(reconcileDecision(started({ taskStartedAt: NOW - 180_000 }), undefined, context).kind).toBe(
      'end-attempt',
    );
  });

  it('keeps a task waiting for capacity while the job waits, and replaces it past the bound', () => {
    const waiting = task({ lastStatus: 'PROVISIONING', startedAt: undefined });
    expect(reconcileDecision(started({ taskStartedAt: NOW - 599_000 }), waiting, context).kind).toBe('none');
    expect(reconcileDecision(started({ taskStartedAt: NOW - 601_000 }), waiting, context)).toMatchObject({
      kind: 'end-attempt',
      next: 'relaunch',
    });
  });

  it('notes when the task runs', () => {
    expect(reconcileDecision(started(), task(), context)).toEqual({
      kind: 'observe-running',
      startedAt: NOW - 60_000,
    });
  });

  it('never stops the runner that runs its job, however long it runs', () => {
    const running = started({ state: 'running', jobRunner: 'runner-1', taskRunningAt: NOW - 86_400_000 });
    expect(reconcileDecision(running, task(), context).kind).toBe('none');
  });

  it('offers to stop our runner when its job went to another runner', () => {
    const elsewhere = started({ state: 'running', jobRunner: 'runner-9' });
    expect(reconcileDecision(elsewhere, task(), context).kind).toBe('stop-spare');
  });

  it('asks GitHub when the runner that runs the job lost its task', () => {
    const running = started({ state: 'running', jobRunner: 'runner-1' });
    expect(
      reconcileDecision(running, task({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }), context).kind,
    ).toBe('check-job');
  });

  it('ends the attempt of a job that waits for approval: a waiting job holds no runner', () => {
    expect(reconcileDecision(started({ state: 'waiting' }), task(), context)).toMatchObject({
      kind: 'end-attempt',
      next: 'wait',
    });
  });

  it('gives the runner of a finished job time to exit, then offers to stop it', () => {
    const done = started({ state: 'done', jobRunner: 'runner-1', doneAt: NOW - 60_000 });
    expect(reconcileDecision(done, task(), context).kind).toBe('none');
    expect(reconcileDecision({ ...done, doneAt: NOW - 400_000 }, task(), context).kind).toBe('stop-spare');
  });

  it('closes a finished job whose task is gone', () => {
    expect(reconcileDecision(record({ state: 'done' }), undefined, context).kind).toBe('close');
    const gone = started({ state: 'done', doneAt: NOW });
    expect(
      reconcileDecision(gone, task({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }), context),
    ).toMatchObject({
      kind: 'end-attempt',
      next: 'keep',
    });
  });
});
