import { describe, expect, it } from '@jest/globals';
import type { TaskFacts } from '../../shared/ecs/runner-tasks';
import { type JobEvent, RELAUNCH_BACKOFF, transition } from '../../shared/jobs/job-lifecycle';
import type { JobRecord, JobState, Lease } from '../../shared/jobs/job-record';
import {
  type GitHubWord,
  type JobPlan,
  planJob,
  RECONCILE_TIMING,
} from '../../shared/reconcile/reconcile-plan';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const event = (variation: JobVariation = {}) => parseWorkflowJob(jobOfOurs({ jobId: 42, ...variation }));
const delivered = (variation: JobVariation = {}): JobEvent => ({
  type: 'delivered',
  event: event(variation),
  profile: 'default',
});
const record = (changes: Partial<JobRecord> = {}): JobRecord => ({
  ...(transition(undefined, delivered(), NOW).next as JobRecord),
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
  attempt: 1,
  runnerName: 'runner-1',
  repository: 'octo-org/elastic-machines-testing',
  runId: 4747967848,
  ...changes,
});
const started = (changes: Partial<JobRecord> = {}) =>
  record({
    state: 'task-started',
    attempt: 1,
    runnerName: 'runner-1',
    taskArn: task().taskArn,
    taskStartedAt: NOW - 90_000,
    ...changes,
  });
const claimed: JobEvent = { type: 'claimed', leaseMs: 30_000, runnerName: (n) => `runner-${n}` };
const launching = (changes: Partial<JobRecord> = {}) =>
  record({ state: 'launching', attempt: 1, runnerName: 'runner-1', leaseUntil: NOW + 30_000, ...changes });
const lease: Lease = { attempt: 1, leaseUntil: NOW + 30_000 };
const ended = (
  relaunch: boolean,
  failed: boolean,
  extra: { readonly attempt?: number; readonly capacity?: boolean } = {},
): JobEvent => ({
  type: 'attempt-ended',
  attempt: 1,
  reason: 'lost',
  relaunch,
  failed,
  maxAttempts: 3,
  ...extra,
});
const next = (from: JobRecord | undefined, on: JobEvent, at = NOW) => transition(from, on, at).next;

describe('the lifecycle: from this state, on this event, to that one', () => {
  it.each<[string, JobRecord | undefined, JobEvent, JobState | undefined]>([
    ['nothing, queued', undefined, delivered(), 'queued'],
    ['nothing, waiting', undefined, delivered({ waitingForApproval: true }), 'waiting'],
    ['waiting, queued (approved)', record({ state: 'waiting' }), delivered(), 'queued'],
    ['queued, in_progress', record(), delivered({ action: 'in_progress', runnerName: 'r' }), 'running'],
    [
      'task-started, in_progress',
      started(),
      delivered({ action: 'in_progress', runnerName: 'r' }),
      'running',
    ],
    ['running, completed', record({ state: 'running' }), delivered({ action: 'completed' }), 'done'],
    ['task-started, completed', started(), delivered({ action: 'completed' }), 'done'],
    ['queued, claimed', record(), claimed, 'launching'],
    [
      'launching, task started',
      launching(),
      { type: 'task-started', lease, taskArn: 'arn:t' },
      'task-started',
    ],
    ['launching, released', launching(), { type: 'released', lease, reason: 'throttled' }, 'queued'],
    ['launching, task unknown', launching(), { type: 'task-unknown', lease, reason: 'conflict' }, 'queued'],
    ['task-started, lost before its job', started(), ended(true, true), 'queued'],
    [
      'task-started, GitHub says in progress',
      started(),
      { type: 'github-says', status: 'in_progress' },
      'running',
    ],
    [
      'running, GitHub says completed',
      record({ state: 'running' }),
      { type: 'github-says', status: 'completed' },
      'done',
    ],
    [
      'running, GitHub does not know the job',
      record({ state: 'running' }),
      { type: 'github-says', status: 'gone' },
      'done',
    ],
    [
      'waiting, GitHub says queued',
      record({ state: 'waiting' }),
      { type: 'github-says', status: 'queued' },
      'queued',
    ],
    [
      'queued, GitHub says it waits for approval',
      record(),
      { type: 'github-says', status: 'waiting' },
      'waiting',
    ],
  ])('%s', (_, from, on, to) => {
    expect(next(from, on)?.state).toBe(to);
  });

  it.each<[string, JobRecord, JobEvent]>([
    ['a queued delivery when the job runs', record({ state: 'running' }), delivered()],
    ['a queued delivery when the job is done', record({ state: 'done' }), delivered()],
    ['a queued delivery when its task started', started(), delivered()],
    [
      'an in_progress delivery after completed',
      record({ state: 'done' }),
      delivered({ action: 'in_progress' }),
    ],
    ['a claim while another launcher holds the lease', launching(), claimed],
    ['a claim while the job backs off', record({ retryAt: NOW + 60_000 }), claimed],
    [
      'a launcher writing over an attempt it lost',
      launching({ leaseUntil: NOW + 99_000 }),
      { type: 'task-started', lease, taskArn: 'arn:t' },
    ],
    ['an attempt ended twice', started({ attemptEnded: true }), ended(true, true)],
    ['the end of an attempt that is not the current one', started({ attempt: 2 }), ended(true, true)],
    [
      'a task noted running twice',
      started({ taskRunningAt: NOW }),
      { type: 'task-running', attempt: 1, startedAt: NOW },
    ],
  ])('refuses %s', (_, from, on) => {
    expect(next(from, on)).toBeUndefined();
  });

  it('records which runner runs the job', () => {
    expect(next(record(), delivered({ action: 'in_progress', runnerName: 'runner-7' }))).toMatchObject({
      state: 'running',
      jobRunner: 'runner-7',
    });
  });

  it('keeps the attempt, its runner and its token number when a claim takes over an attempt whose outcome is unknown', () => {
    const over = launching({ leaseUntil: NOW - 1, runnerId: 7, placement: 1 });
    expect(next(over, claimed)).toMatchObject({
      attempt: 1,
      runnerId: 7,
      runnerName: 'runner-1',
      placement: 1,
    });
  });

  it('takes a fresh attempt, with a new runner and the first token, once the last one is over', () => {
    const over = started({ state: 'queued', attemptEnded: true, runnerId: 7, placement: 2 });
    expect(next(over, claimed)).toMatchObject({
      attempt: 2,
      runnerName: 'runner-2',
      placement: 0,
      taskArn: undefined,
    });
    expect(next(over, claimed)?.runnerId).toBeUndefined();
  });

  it('moves to the next token only after ECS answered failures[], and keeps the lease', () => {
    const moved = next(launching(), { type: 'placement-failed', lease, reason: 'RESOURCE:MEMORY' });
    expect(moved).toMatchObject({ state: 'launching', placement: 1, leaseUntil: lease.leaseUntil });
  });

  it('keeps an attempt whose task may exist unseen, with its registration, until the task is found', () => {
    const unknown = next(launching({ runnerId: 7 }), { type: 'task-unknown', lease, reason: 'conflict' });
    expect(unknown).toMatchObject({ state: 'queued', attempt: 1, runnerId: 7, taskUnknownSince: NOW });
    // The next claim is of the same attempt: no new token is used.
    expect(next(unknown, claimed, NOW + 1)).toMatchObject({ attempt: 1, taskUnknownSince: NOW });
  });

  it('gives an approved job a fresh attempt: the token of a task that stopped while it waited would only replay it', () => {
    const waited = started({ state: 'waiting' });
    const approved = next(waited, delivered()) as JobRecord;
    expect(approved).toMatchObject({ state: 'queued', attemptEnded: true });
    expect(next(approved, claimed)).toMatchObject({ attempt: 2 });
  });

  it('keeps the task of a job GitHub says is queued after a late waiting delivery, when the task is live', () => {
    const waited = started({ state: 'waiting' });
    expect(next(waited, { type: 'github-says', status: 'queued', keepTask: true })).toMatchObject({
      state: 'task-started',
      attempt: 1,
      attemptEnded: false,
    });
  });

  it('does not count a task replaced after a wait for capacity as a failed attempt', () => {
    const lost = next(started({ failedAttempts: 2 }), ended(true, false, { capacity: true }));
    expect(lost).toMatchObject({
      state: 'queued',
      failedAttempts: 2,
      exhausted: false,
      capacityFallback: true,
    });
  });

  it('after the last failed attempt, alarms and retries at the longest backoff: a queued job is never abandoned', () => {
    const lost = next(started({ attempt: 3, failedAttempts: 2 }), {
      ...ended(true, true),
      attempt: 3,
    } as JobEvent);
    expect(lost).toMatchObject({ state: 'queued', exhausted: true, retryAt: NOW + RELAUNCH_BACKOFF.maxMs });
    expect(next(lost, claimed, NOW + RELAUNCH_BACKOFF.maxMs)).toMatchObject({
      state: 'launching',
      attempt: 4,
    });
  });

  it('backs off consecutive losses', () => {
    expect(next(started(), ended(true, true))?.retryAt).toBe(NOW);
    expect(next(started({ attempt: 3 }), ended(true, false, { attempt: 3 }))?.retryAt).toBe(
      NOW + 2 * RELAUNCH_BACKOFF.firstMs,
    );
  });

  it('notes when GitHub first did not answer, and forgets it once GitHub answers', () => {
    const once = next(started(), { type: 'github-says', status: 'unknown' }) as JobRecord;
    expect(once).toMatchObject({ githubUnknownSince: NOW, githubCheckedAt: NOW });
    const twice = next(once, { type: 'github-says', status: 'unknown' }, NOW + 60_000) as JobRecord;
    expect(twice.githubUnknownSince).toBe(NOW);
    expect(next(twice, { type: 'github-says', status: 'queued' })?.githubUnknownSince).toBeUndefined();
  });
});

const context = {
  now: NOW,
  capacityWaitMs: 600_000,
  stuckAfterMs: 300_000,
  unknownRelaunchMs: 1_800_000,
  maxAttempts: 3,
  timing: RECONCILE_TIMING,
};
const plan = (
  from: JobRecord,
  facts: TaskFacts | undefined,
  github?: GitHubWord,
  runWaits = false,
  at = NOW,
): JobPlan => planJob({ record: from, task: facts, github, runWaits }, { ...context, now: at });
const kinds = (p: JobPlan) => p.steps.map((step) => (step.kind === 'commit' ? step.event.type : step.kind));
const stopped = task({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: 'Spot interruption' });

describe('the reconciler plans, for each open job', () => {
  it.each<[string, JobRecord, TaskFacts | undefined, GitHubWord | undefined, string[]]>([
    ['launches a queued job that has no task', record(), undefined, undefined, ['launch']],
    ['waits while a queued job backs off', record({ retryAt: NOW + 1 }), undefined, undefined, []],
    [
      'records what GitHub says of a queued job, then launches it',
      record(),
      undefined,
      { status: 'queued' },
      ['github-says', 'launch'],
    ],
    [
      'closes the books on a queued job GitHub says completed',
      record(),
      undefined,
      { status: 'completed' },
      ['github-says'],
    ],
    [
      'moves a queued job GitHub says waits for approval to waiting, and launches nothing',
      record(),
      undefined,
      { status: 'waiting' },
      ['github-says'],
    ],
    ['leaves a launch in flight to its owner', launching(), undefined, undefined, []],
    [
      'takes over a launch whose lease ran out',
      launching({ leaseUntil: NOW - 1 }),
      undefined,
      undefined,
      ['launch'],
    ],
    [
      'looks for the task of an attempt that may exist unseen, never with a new token',
      record({ taskUnknownSince: NOW }),
      undefined,
      undefined,
      ['launch'],
    ],
    [
      'relaunches at once a task that never ran (no runner, so no job on it)',
      started(),
      task({ ...stopped, startedAt: undefined }),
      undefined,
      ['clean-up', 'attempt-ended', 'launch'],
    ],
    [
      'waits for GitHub before it relaunches a task that ran',
      started({ taskRunningAt: NOW - 60_000 }),
      stopped,
      undefined,
      [],
    ],
    [
      'relaunches a task that ran once GitHub says the job is queued',
      started({ taskRunningAt: NOW - 60_000 }),
      stopped,
      { status: 'queued' },
      ['github-says', 'clean-up', 'attempt-ended', 'launch'],
    ],
    [
      'keeps a task that ran while GitHub does not answer',
      started({ taskRunningAt: NOW - 60_000 }),
      stopped,
      { status: 'unknown' },
      ['github-says'],
    ],
    [
      'relaunches a task that ran once GitHub has not answered for the bound',
      started({ taskRunningAt: NOW - 60_000, githubUnknownSince: NOW - 1_800_000 }),
      stopped,
      { status: 'unknown' },
      ['github-says', 'clean-up', 'attempt-ended', 'launch'],
    ],
    [
      'settles a lost task whose job started elsewhere',
      started({ taskRunningAt: NOW - 60_000 }),
      stopped,
      { status: 'in_progress' },
      ['github-says', 'clean-up', 'attempt-ended'],
    ],
    [
      'counts a task ECS does not show as lost only after the grace of eventual consistency',
      started({ taskStartedAt: NOW - 60_000 }),
      undefined,
      undefined,
      [],
    ],
    [
      'keeps a task waiting for capacity within the bound',
      started(),
      task({ lastStatus: 'PROVISIONING', startedAt: undefined }),
      undefined,
      [],
    ],
    [
      'replaces a task past the capacity wait (it never ran: no failed attempt)',
      started({ taskStartedAt: NOW - 700_000 }),
      task({ lastStatus: 'PROVISIONING', startedAt: undefined }),
      undefined,
      ['stop-runner', 'clean-up', 'attempt-ended', 'launch'],
    ],
    [
      'notes when the task runs and deletes its config',
      started(),
      task(),
      undefined,
      ['delete-config', 'task-running'],
    ],
    [
      'never plans to stop the runner that runs its job',
      started({ state: 'running', jobRunner: 'runner-1' }),
      task(),
      undefined,
      [],
    ],
    [
      'stops our runner when its job went to another runner',
      started({ state: 'running', jobRunner: 'runner-9' }),
      task(),
      undefined,
      ['stop-runner', 'clean-up', 'attempt-ended'],
    ],
    [
      'keeps a spare runner while a job of its run waits',
      started({ state: 'running', jobRunner: 'runner-9' }),
      task(),
      undefined,
      [],
    ],
    [
      'asks GitHub before it ends the attempt of a job whose runner lost its task',
      started({ state: 'running', jobRunner: 'runner-1' }),
      stopped,
      undefined,
      [],
    ],
    [
      'closes a job that ran on another runner once GitHub says completed',
      record({ state: 'running', jobRunner: 'x' }),
      undefined,
      { status: 'completed' },
      ['github-says'],
    ],
    [
      'ends the attempt of a job waiting for approval once GitHub says it waits',
      started({ state: 'waiting' }),
      task(),
      { status: 'waiting' },
      ['github-says', 'stop-runner', 'clean-up', 'attempt-ended'],
    ],
    [
      'ends the attempt of a job whose task died while it waits for approval',
      started({ state: 'waiting' }),
      stopped,
      undefined,
      ['clean-up', 'attempt-ended'],
    ],
    [
      'gives the runner of a finished job time to exit',
      started({ state: 'done', jobRunner: 'runner-1', doneAt: NOW - 60_000 }),
      task(),
      undefined,
      [],
    ],
    [
      'stops the runner of a finished job that did not exit',
      started({ state: 'done', jobRunner: 'runner-1', doneAt: NOW - 600_000 }),
      task(),
      undefined,
      ['stop-runner', 'clean-up', 'attempt-ended'],
    ],
    [
      'closes a finished job whose attempt is over',
      started({ state: 'done', attemptEnded: true }),
      undefined,
      undefined,
      ['closed'],
    ],
  ])('%s', (title, from, facts, github, steps) => {
    const runWaits = title.includes('while a job of its run waits');
    expect(kinds(plan(from, facts, github, runWaits))).toEqual(steps);
  });

  it('closes a running record GitHub never reports on after GitHub lets a job run', () => {
    const old = record({
      state: 'running',
      jobRunner: 'x',
      jobStartedAt: NOW - RECONCILE_TIMING.maxJobMs - 1,
    });
    expect(plan(old, undefined).steps).toEqual([
      { kind: 'commit', event: { type: 'github-says', status: 'gone' } },
    ]);
  });

  it('counts a job queued past the threshold without a running task as stuck', () => {
    const old = record({ queuedAt: NOW - 600_000 });
    expect(plan(old, undefined).stuck).toBe(true);
    expect(plan(record({ queuedAt: NOW - 60_000 }), undefined).stuck).toBe(false);
  });
});

describe('owned capacity in the lifecycle', () => {
  it('pins the attempt to the instance it claimed, and a new token to none (ECS refused that instance)', () => {
    const pinned = transition(
      launching(),
      { type: 'instance-claimed', lease, instanceId: 'i-0a1b2c3d4e5f60718', path: 'hot' },
      NOW,
    ).next;
    expect(pinned).toMatchObject({ instanceId: 'i-0a1b2c3d4e5f60718', instancePath: 'hot' });
    // A second claim for the same attempt is refused: one instance per attempt.
    expect(
      transition(
        pinned,
        { type: 'instance-claimed', lease, instanceId: 'i-0ffffffffffffffff', path: 'cold' },
        NOW,
      ).next,
    ).toBeUndefined();
    const moved = transition(pinned, { type: 'placement-failed', lease, reason: 'MISSING' }, NOW).next;
    expect(moved).toMatchObject({ instanceId: undefined, placement: 1 });
  });

  it('gives a fresh attempt no instance: the old one ran a task and retires', () => {
    const over = transition(
      started({ instanceId: 'i-0a1b2c3d4e5f60718', instancePath: 'cold' }),
      ended(true, true),
      NOW,
    ).next;
    const next = transition(over, claimed, NOW + 60_000).next;
    expect(next).toMatchObject({ attempt: 2, instanceId: undefined, instancePath: undefined });
  });

  it('re-runs a job its Spot interruption failed once: a second failure delivery asks nothing more', () => {
    const interrupted = transition(record({ state: 'running' }), { type: 'spot-interrupted' }, NOW).next;
    expect(interrupted?.spotInterruptedAt).toBe(NOW);
    const asked = transition(interrupted, { type: 'rerun', outcome: 'requested' }, NOW).next;
    expect(asked?.rerun).toBe('requested');
    expect(transition(asked, { type: 'rerun', outcome: 'requested' }, NOW).next).toBeUndefined();
    // GitHub's refusal is recorded over the request.
    expect(transition(asked, { type: 'rerun', outcome: 'refused: 403' }, NOW).next?.rerun).toBe(
      'refused: 403',
    );
    // No interruption, no re-run.
    expect(
      transition(record({ state: 'running' }), { type: 'rerun', outcome: 'requested' }, NOW).next,
    ).toBeUndefined();
  });
});
