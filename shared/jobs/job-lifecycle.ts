import type { WorkflowJobEvent } from '../runner/workflow-job';
import {
  hasLiveAttempt,
  isClaimable,
  JOB_STATES,
  type JobRecord,
  type JobState,
  type Lease,
  ownsAttempt,
  waitsForApproval,
} from './job-record';

/**
 * What can happen to a job of ours. Each event names what it presumes (the attempt it is about, the
 * lease of the launcher that sends it), so applying it to a record that moved on since is refused
 * instead of undoing the move.
 */
export type JobEvent =
  /** A `workflow_job` delivery (any action). */
  | { readonly type: 'delivered'; readonly event: WorkflowJobEvent; readonly profile: string }
  /** A launcher claims an attempt: the current one (its outcome unknown) or a fresh one. */
  | {
      readonly type: 'claimed';
      readonly leaseMs: number;
      /** The runner name of an attempt (a fresh attempt gets a new name). */
      readonly runnerName: (attempt: number) => string;
    }
  /** The attempt's runner is registered (JIT: its id) or its registration token stored; the object's key. */
  | {
      readonly type: 'registered';
      readonly lease: Lease;
      readonly runnerId?: number | undefined;
      readonly configKey: string;
    }
  /** The attempt claimed an instance of its owned group: its task is pinned to it. */
  | {
      readonly type: 'instance-claimed';
      readonly lease: Lease;
      readonly instanceId: string;
      readonly path: 'hot' | 'warm' | 'cold';
    }
  /** ECS answered `failures[]` under the attempt's token: no task; the next try takes the next token. */
  | { readonly type: 'placement-failed'; readonly lease: Lease; readonly reason: string }
  /** ECS accepted a task of the attempt (or a look-up found it: live, with the attempt's tag). */
  | {
      readonly type: 'task-started';
      readonly lease: Lease;
      readonly taskArn: string;
      /** The task is the claimed instance's standby, started before the job: it reads its own config. */
      readonly standby?: boolean;
    }
  /**
   * A RunTask of the attempt may have started a task no look-up shows yet (ConflictException with
   * nothing found): the attempt keeps its registration and its token until the task is found or
   * the attempt is ended.
   */
  | { readonly type: 'task-unknown'; readonly lease: Lease; readonly reason: string }
  /** The launcher gives the attempt back without a task (its outcome known or retryable). */
  | { readonly type: 'released'; readonly lease: Lease; readonly reason: string; readonly retryAt?: number }
  /** ECS says the attempt's task is RUNNING (its config was read). */
  | { readonly type: 'task-running'; readonly attempt: number; readonly startedAt: number }
  /**
   * The attempt is over: its task is gone, was stopped by us, or never showed up. `relaunch`: the
   * job still wants a runner (a new attempt is due at `retryAt`). `failed`: its task stopped by
   * itself (Spot, out of memory, an image it could not pull), so it counts as a failed attempt; a
   * task we replaced after it waited for capacity, or never saw, does not: a shortage of capacity
   * never uses up a job's attempts.
   */
  | {
      readonly type: 'attempt-ended';
      readonly attempt: number;
      readonly reason: string;
      readonly relaunch: boolean;
      readonly failed: boolean;
      readonly capacity?: boolean;
      readonly maxAttempts: number;
    }
  /**
   * What GitHub answered about the job, when the reconciler asked: its status, `gone` (404), or
   * `unknown` (no answer: an outage, a timeout).
   */
  | {
      readonly type: 'github-says';
      readonly status: 'queued' | 'waiting' | 'in_progress' | 'completed' | 'gone' | 'unknown' | 'other';
      readonly runnerName?: string | null | undefined;
      /** With `queued` for a waiting job: its attempt's task is live, and the job keeps it. */
      readonly keepTask?: boolean;
    }
  /** The job had started on an instance whose Spot interruption warning came: it may fail for it. */
  | { readonly type: 'spot-interrupted' }
  /** The job's one re-run after its Spot interruption: asked for, or refused (`outcome`). */
  | { readonly type: 'rerun'; readonly outcome: string }
  /** Nothing is left to do: the record closes (and expires). */
  | { readonly type: 'closed'; readonly reason: string }
  /** The configuration no longer serves this job. */
  | { readonly type: 'no-longer-ours'; readonly reason: string };

/** The result of {@link transition}: the next record, or why the event changes nothing. */
export type Transition =
  | { readonly next: JobRecord; readonly note: string }
  | { readonly next: undefined; readonly note: string };

const rank = (state: JobState) => JOB_STATES.indexOf(state);

const parseTime = (value: string | undefined, fallback: number) => {
  const parsed = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(parsed) ? fallback : parsed;
};

/** First wait before a new attempt after a loss; it doubles per consecutive loss, up to the cap. */
export const RELAUNCH_BACKOFF = { firstMs: 15_000, maxMs: 15 * 60_000 } as const;

/** The wait before the next attempt after `losses` attempts in a row ended without the job. */
export const relaunchDelayMs = (losses: number): number =>
  losses <= 1 ? 0 : Math.min(RELAUNCH_BACKOFF.maxMs, RELAUNCH_BACKOFF.firstMs * 2 ** (losses - 2));

/** The fields of an attempt, cleared when a fresh attempt begins. */
const FRESH_ATTEMPT = {
  runnerName: undefined,
  runnerId: undefined,
  configKey: undefined,
  taskArn: undefined,
  taskStartedAt: undefined,
  taskRunningAt: undefined,
  taskUnknownSince: undefined,
  placement: 0,
  instanceId: undefined,
  instancePath: undefined,
  standby: undefined,
} as const;

/**
 * The job lifecycle: from this record, on this event, to that record. Pure; the only code that
 * writes `state`. Deliveries come late, twice and out of order, and observations are made over a
 * record that may have moved on: no event moves a job back, except the two arrows the lifecycle
 * has (`waiting` → `queued` on approval, and a lost task's job back to `queued` for a new attempt).
 */
export function transition(record: JobRecord | undefined, event: JobEvent, now: number): Transition {
  if (event.type === 'delivered') return delivered(record, event.event, event.profile, now);
  if (record === undefined) return { next: undefined, note: 'the job has no record' };
  const to = (changes: Partial<JobRecord>, note: string): Transition => ({
    next: { ...record, ...changes, updatedAt: now },
    note,
  });
  const refuse = (note: string): Transition => ({ next: undefined, note });
  const owned = (lease: Lease) => ownsAttempt(record, lease);
  const ofAttempt = (attempt: number) => record.attempt === attempt && !record.attemptEnded;

  switch (event.type) {
    case 'claimed': {
      if (!isClaimable(record, now)) return refuse(`not claimable: ${record.state}`);
      const fresh = record.attempt === 0 || record.attemptEnded;
      const attempt = fresh ? record.attempt + 1 : record.attempt;
      return to(
        {
          state: 'launching',
          attempt,
          attemptEnded: false,
          leaseUntil: now + event.leaseMs,
          retryAt: undefined,
          ...(fresh && FRESH_ATTEMPT),
          runnerName: (fresh ? undefined : record.runnerName) ?? event.runnerName(attempt),
        },
        `attempt ${attempt} claimed`,
      );
    }
    case 'registered':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      return to({ runnerId: event.runnerId, configKey: event.configKey }, 'runner registered');
    case 'instance-claimed':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      if (record.instanceId !== undefined) return refuse(`the attempt holds ${record.instanceId}`);
      return to(
        { instanceId: event.instanceId, instancePath: event.path },
        `instance ${event.instanceId} claimed`,
      );
    case 'spot-interrupted':
      if (record.spotInterruptedAt !== undefined) return refuse('already interrupted');
      return to({ spotInterruptedAt: now }, 'its Spot instance is being interrupted');
    case 'rerun':
      // Once: a second delivery of the failure, or a second try, asks nothing more.
      if (record.spotInterruptedAt === undefined) return refuse('no Spot interruption');
      if (record.rerun !== undefined && event.outcome === 'requested')
        return refuse(`re-run ${record.rerun}`);
      return to({ rerun: event.outcome }, `re-run: ${event.outcome}`);
    case 'placement-failed':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      // The next token's task goes to another instance: the one ECS refused is retired.
      return to(
        { placement: (record.placement ?? 0) + 1, lastError: event.reason, instanceId: undefined },
        `no placement: ${event.reason}`,
      );
    case 'task-started':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      return to(
        {
          state: 'task-started',
          taskArn: event.taskArn,
          taskStartedAt: now,
          standby: event.standby === true ? true : undefined,
          taskUnknownSince: undefined,
          leaseUntil: undefined,
          lastError: undefined,
        },
        'task started',
      );
    case 'task-unknown':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      return to(
        {
          state: 'queued',
          leaseUntil: undefined,
          taskUnknownSince: record.taskUnknownSince ?? now,
          lastError: event.reason,
        },
        `task unknown: ${event.reason}`,
      );
    case 'released':
      if (!owned(event.lease)) return refuse('the attempt has another owner');
      return to(
        { state: 'queued', leaseUntil: undefined, lastError: event.reason, retryAt: event.retryAt },
        `released: ${event.reason}`,
      );
    case 'task-running':
      if (!ofAttempt(event.attempt) || record.taskRunningAt !== undefined) return refuse('not this attempt');
      // A standby's config is its container's to read and delete: its name is kept, to see that it did.
      return to(
        { taskRunningAt: event.startedAt, configKey: record.standby ? record.configKey : undefined },
        'task running',
      );
    case 'attempt-ended': {
      if (!ofAttempt(event.attempt)) return refuse('the attempt is over already');
      const ended: Partial<JobRecord> = {
        attemptEnded: true,
        lastStop: event.reason,
        configKey: undefined,
        taskUnknownSince: undefined,
        ...(event.capacity && { capacityFallback: true }),
        ...(record.state === 'done' && { open: false }),
      };
      // Only a job still waiting for its runner is relaunched; a waiting one waits without a runner.
      if (
        !event.relaunch ||
        !(record.state === 'task-started' || record.state === 'queued' || record.state === 'launching')
      ) {
        return to(ended, `attempt ${event.attempt} ended: ${event.reason}`);
      }
      const failedAttempts = (record.failedAttempts ?? 0) + (event.failed ? 1 : 0);
      // Consecutive losses back off; after maxAttempts failed runs the job alarms and retries at the cap.
      const exhausted = failedAttempts >= event.maxAttempts;
      const delay = exhausted ? RELAUNCH_BACKOFF.maxMs : relaunchDelayMs(record.attempt);
      return to(
        {
          ...ended,
          state: 'queued',
          leaseUntil: undefined,
          failedAttempts,
          exhausted,
          retryAt: now + delay,
        },
        `attempt ${event.attempt} ended, relaunch: ${event.reason}`,
      );
    }
    case 'github-says':
      return githubSays(record, event, now);
    case 'closed':
      if (!record.open) return refuse('closed already');
      return to({ open: false }, event.reason);
    case 'no-longer-ours':
      return to({ state: 'done', open: false, lastError: event.reason }, event.reason);
  }
}

function delivered(
  record: JobRecord | undefined,
  event: WorkflowJobEvent,
  profile: string,
  now: number,
): Transition {
  const current: JobRecord = record ?? {
    jobId: event.job.id,
    version: 0,
    state: 'queued',
    job: event,
    profile,
    queuedAt: parseTime(event.job.createdAt, now),
    updatedAt: now,
    attempt: 0,
    attemptEnded: false,
    open: true,
  };
  const to = (changes: Partial<JobRecord>, note: string): Transition => ({
    next: { ...current, ...changes, updatedAt: now },
    note,
  });
  const unchanged = (note: string): Transition => ({ next: undefined, note });

  if (waitsForApproval(event)) {
    if (record === undefined) return to({ state: 'waiting' }, 'waits for approval');
    if (rank(record.state) >= rank('running')) return unchanged(`already ${record.state}`);
    if (record.state === 'waiting') return unchanged('already waiting');
    // A runner started before we knew is stopped by the reconciler: a waiting job holds none.
    return to({ state: 'waiting', job: event, leaseUntil: undefined }, 'waits for approval');
  }
  switch (event.action) {
    case 'queued':
      if (record === undefined) return to({}, 'queued');
      // Approved: the job is queued again and gets a fresh attempt. A waiting job holds no runner,
      // so whatever task the attempt had is not the job's any more (it may have stopped meanwhile,
      // and its token would only replay it).
      if (record.state === 'waiting') {
        return to(
          { state: 'queued', job: event, attemptEnded: record.attempt > 0, retryAt: undefined },
          'approved',
        );
      }
      return unchanged(`already ${record.state}`);
    case 'in_progress': {
      if (record?.state === 'done') return unchanged('already done');
      if (record?.state === 'running' && record.jobRunner !== undefined) return unchanged('already running');
      return to(
        {
          state: 'running',
          leaseUntil: undefined,
          jobStartedAt: parseTime(event.job.startedAt, now),
          jobRunner: event.job.runnerName,
        },
        `running on ${event.job.runnerName ?? 'a runner'}`,
      );
    }
    case 'completed':
      if (record?.state === 'done') return unchanged('already done');
      return to(
        {
          state: 'done',
          leaseUntil: undefined,
          doneAt: now,
          conclusion: event.job.conclusion,
          ...(event.job.runnerName !== undefined && { jobRunner: event.job.runnerName }),
        },
        `completed (${event.job.conclusion ?? 'no conclusion'})`,
      );
    default:
      return unchanged(`action ${event.action} changes nothing`);
  }
}

function githubSays(
  record: JobRecord,
  event: Extract<JobEvent, { type: 'github-says' }>,
  now: number,
): Transition {
  const to = (changes: Partial<JobRecord>, note: string): Transition => ({
    next: { ...record, githubCheckedAt: now, ...changes, updatedAt: now },
    note,
  });
  if (event.status === 'unknown') {
    return to({ githubUnknownSince: record.githubUnknownSince ?? now }, 'GitHub did not answer');
  }
  const answered = { githubUnknownSince: undefined };
  const runner = event.runnerName ?? record.jobRunner;
  switch (event.status) {
    case 'completed':
      if (record.state === 'done') return to(answered, 'done');
      return to(
        { ...answered, state: 'done', doneAt: now, leaseUntil: undefined, jobRunner: runner },
        'completed on GitHub',
      );
    case 'gone':
      // GitHub no longer knows the job (its repository or run was deleted): nothing will run it.
      return to(
        { ...answered, state: 'done', doneAt: record.doneAt ?? now, leaseUntil: undefined },
        'GitHub does not know the job',
      );
    case 'in_progress':
      if (rank(record.state) >= rank('running')) return to(answered, record.state);
      return to(
        { ...answered, state: 'running', jobStartedAt: now, leaseUntil: undefined, jobRunner: runner },
        'in progress on GitHub',
      );
    case 'queued':
      // A `waiting` delivery that came after the approval: the job is queued again.
      if (record.state === 'waiting') {
        if (event.keepTask && hasLiveAttempt(record)) {
          return to({ ...answered, state: 'task-started' }, 'queued on GitHub, with its task');
        }
        return to({ ...answered, state: 'queued', attemptEnded: record.attempt > 0 }, 'queued on GitHub');
      }
      return to(answered, 'queued on GitHub');
    case 'waiting':
      // Its `waiting` delivery was lost: a job waiting for approval holds no runner.
      if (record.state === 'queued' || record.state === 'launching') {
        return to({ ...answered, state: 'waiting', leaseUntil: undefined }, 'waits for approval on GitHub');
      }
      return to(answered, `waiting on GitHub (${record.state})`);
    default:
      return to(answered, `${event.status} on GitHub`);
  }
}
