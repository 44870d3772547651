import type { WorkflowJobEvent } from '../runner/workflow-job';

/**
 * A job's place in its lifecycle. The order is the order of the arrows: a transition never goes to
 * an earlier state, except `waiting` → `queued` (approved) and a lost task's job going back to
 * `queued` for a new attempt, both made by their owner.
 */
export type JobState = 'waiting' | 'queued' | 'launching' | 'task-started' | 'running' | 'done';

export const JOB_STATES: readonly JobState[] = [
  'waiting',
  'queued',
  'launching',
  'task-started',
  'running',
  'done',
];

/** One job of ours in the ledger. Every change is a conditional write on `version`. */
export interface JobRecord {
  readonly jobId: number;
  /** Bumped by every write; a write succeeds only over the version it read. */
  readonly version: number;
  readonly state: JobState;
  /** The delivery's fields, as last seen for this job (to launch it again). */
  readonly job: WorkflowJobEvent;
  /** The runner profile that serves it. */
  readonly profile: string;
  /** Epoch ms: GitHub queued the job (`created_at`), or we first heard of it. */
  readonly queuedAt: number;
  readonly updatedAt: number;
  /** The current launch attempt (0: none yet). Each attempt has its own runner name and clientToken. */
  readonly attempt: number;
  /** The current attempt's task is known to be gone: the next launch takes a new attempt. */
  readonly attemptEnded: boolean;
  /** While `launching`: the epoch ms until which the launcher that claimed the attempt owns it. */
  readonly leaseUntil?: number | undefined;
  /** The current attempt's runner. */
  readonly runnerName?: string | undefined;
  /** Its JIT registration id. */
  readonly runnerId?: number | undefined;
  /** The S3 object holding its JIT config, until the task has read it. */
  readonly configKey?: string | undefined;
  readonly taskArn?: string | undefined;
  /** Epoch ms: ECS accepted the current attempt's task. */
  readonly taskStartedAt?: number | undefined;
  /** Epoch ms: the current attempt's task was RUNNING (ECS's `startedAt`). */
  readonly taskRunningAt?: number | undefined;
  /** Epoch ms: a runner started the job (`in_progress`). */
  readonly jobStartedAt?: number | undefined;
  /** The runner that runs (ran) the job: ours, or another runner of the same run. */
  readonly jobRunner?: string | undefined;
  readonly doneAt?: number | undefined;
  readonly conclusion?: string | undefined;
  /** Why the last attempt ended without the job starting (ECS's stop reason). */
  readonly lastStop?: string | undefined;
  /** The last task waited for capacity too long: the next attempt goes to the profile's fallback capacity. */
  readonly capacityFallback?: boolean | undefined;
  /** Every attempt was lost; the reconciler stopped trying (an alarm says so). */
  readonly exhausted?: boolean | undefined;
  /** The last launch failure, for the operator. */
  readonly lastError?: string | undefined;
  /** False once nothing is left to do (job done, task gone, registration and config deleted). */
  readonly open: boolean;
}

/** How long a finished job's record is kept (DynamoDB TTL). */
export const RECORD_TTL_SECONDS = 3 * 24 * 60 * 60;

const rank = (state: JobState) => JOB_STATES.indexOf(state);

const parseTime = (value: string | undefined, fallback: number) => {
  const parsed = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(parsed) ? fallback : parsed;
};

/** What a delivery did to a job's record, and whether the job now wants a launch. */
export interface DeliveryEffect {
  /** The record to write; undefined: nothing changes. */
  readonly next: JobRecord | undefined;
  /** Why nothing changed, or what changed (for the answer and the log). */
  readonly note: string;
}

/** Whether a `queued` delivery is for a job whose deployment still waits for approval. */
export const waitsForApproval = (event: WorkflowJobEvent): boolean =>
  event.action === 'waiting' || (event.action === 'queued' && event.job.status === 'waiting');

/**
 * Applies one `workflow_job` delivery to a job's record (or to none). Pure. Deliveries come late,
 * twice and out of order: a delivery never moves a job back, so a `queued` that arrives after
 * `in_progress` or `completed` starts nothing.
 */
export function applyDelivery(
  record: JobRecord | undefined,
  event: WorkflowJobEvent,
  profile: string,
  now: number,
): DeliveryEffect {
  const base = (): JobRecord => ({
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
  });
  const current = record ?? base();
  const write = (changes: Partial<JobRecord>, note: string): DeliveryEffect => ({
    next: { ...current, ...changes, updatedAt: now },
    note,
  });
  const unchanged = (note: string): DeliveryEffect => ({ next: undefined, note });

  if (waitsForApproval(event)) {
    if (record === undefined) return write({ state: 'waiting' }, 'waits for approval');
    if (rank(record.state) >= rank('running')) return unchanged(`already ${record.state}`);
    if (record.state === 'waiting') return unchanged('already waiting');
    // A runner started before we knew is stopped by the reconciler: a waiting job holds none.
    return write({ state: 'waiting', job: event }, 'waits for approval');
  }
  switch (event.action) {
    case 'queued':
      if (record === undefined) return write({}, 'queued');
      // Approved: the job is queued again, and gets its runner now.
      if (record.state === 'waiting') return write({ state: 'queued', job: event }, 'approved');
      return unchanged(`already ${record.state}`);
    case 'in_progress': {
      if (record?.state === 'done') return unchanged('already done');
      if (record?.state === 'running' && record.jobRunner !== undefined) return unchanged('already running');
      return write(
        {
          state: 'running',
          jobStartedAt: parseTime(event.job.startedAt, now),
          jobRunner: event.job.runnerName,
        },
        `running on ${event.job.runnerName ?? 'a runner'}`,
      );
    }
    case 'completed':
      if (record?.state === 'done') return unchanged('already done');
      return write(
        {
          state: 'done',
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

/**
 * Claims a launch attempt: from `queued`, or from `launching` whose owner's lease ran out. The
 * attempt is the record's current one (a retry of an attempt whose outcome is unknown reuses its
 * clientToken, so ECS answers with the task it started) unless that attempt's task is known gone.
 * Undefined: nothing to claim (another launcher owns it, a task exists, or the job moved on).
 */
export function claimLaunch(record: JobRecord, now: number, leaseMs: number): JobRecord | undefined {
  const claimable =
    record.state === 'queued' || (record.state === 'launching' && (record.leaseUntil ?? 0) <= now);
  if (!claimable || record.exhausted) return undefined;
  const fresh = record.attempt === 0 || record.attemptEnded;
  return {
    ...record,
    state: 'launching',
    attempt: fresh ? record.attempt + 1 : record.attempt,
    attemptEnded: false,
    leaseUntil: now + leaseMs,
    ...(fresh && {
      runnerName: undefined,
      runnerId: undefined,
      configKey: undefined,
      taskArn: undefined,
      taskStartedAt: undefined,
      taskRunningAt: undefined,
    }),
    updatedAt: now,
  };
}

/** Whether `record` is still the launch attempt `claimed` made (the lock a launcher holds). */
export const ownsAttempt = (record: JobRecord, claimed: JobRecord): boolean =>
  record.state === 'launching' &&
  record.attempt === claimed.attempt &&
  record.leaseUntil === claimed.leaseUntil;

/** The TTL attribute of a record: a few days after its last write. */
export const expiresAt = (record: JobRecord): number =>
  Math.floor(record.updatedAt / 1000) + RECORD_TTL_SECONDS;
