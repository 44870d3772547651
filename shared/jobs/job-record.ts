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
  /** A random id of the write that made this version: a writer whose answer was lost knows its own write. */
  readonly writeId?: string | undefined;
  /**
   * The current attempt's RunTask token number: the token is a function of the job, the attempt and
   * this number only. It moves on only after ECS answered `failures[]` (no task under that token).
   */
  readonly placement?: number | undefined;
  /**
   * Epoch ms: a RunTask of the current attempt may have started a task that no look-up found yet
   * (ECS's ConflictException, ListTasks' lag). No new token is used until the task is found or the
   * attempt is ended with a fresh registration.
   */
  readonly taskUnknownSince?: number | undefined;
  /** Attempts whose task ran and was lost before the job started (a task that never ran is no failure). */
  readonly failedAttempts?: number | undefined;
  /** Epoch ms before which no new attempt is launched (backing off after losses). */
  readonly retryAt?: number | undefined;
  /** With owned capacity: the instance the current attempt's task is pinned to (claimed in the instance ledger). */
  readonly instanceId?: string | undefined;
  /**
   * The attempt's task is its instance's standby, started before the job: its container reads (and
   * deletes) the config itself, so nobody else deletes it once the task runs.
   */
  readonly standby?: boolean | undefined;
  /** How the attempt got its instance: one already waiting (hot), a warm pool resume, or a new launch. */
  readonly instancePath?: 'hot' | 'warm' | 'cold' | undefined;
  /** Epoch ms: the job had started when its Spot instance was interrupted (it is re-run once if it fails). */
  readonly spotInterruptedAt?: number | undefined;
  /** The one re-run of a job its Spot interruption failed: asked for (`requested`), or GitHub's refusal. */
  readonly rerun?: string | undefined;
  /** Epoch ms: the reconciler last asked GitHub about this job. */
  readonly githubCheckedAt?: number | undefined;
  /** Epoch ms: since then GitHub has not answered about this job (an outage, a timeout). */
  readonly githubUnknownSince?: number | undefined;
}

/** How long a finished job's record is kept (DynamoDB TTL). */
export const RECORD_TTL_SECONDS = 3 * 24 * 60 * 60;

/** The TTL attribute of a record: a few days after its last write. */
export const expiresAt = (record: JobRecord): number =>
  Math.floor(record.updatedAt / 1000) + RECORD_TTL_SECONDS;

/** Whether a `queued` delivery is for a job whose deployment still waits for approval. */
export const waitsForApproval = (event: WorkflowJobEvent): boolean =>
  event.action === 'waiting' || (event.action === 'queued' && event.job.status === 'waiting');

/** Whether the record names a task of its current attempt (not ended). */
export const hasLiveAttempt = (record: JobRecord): boolean =>
  record.taskArn !== undefined && !record.attemptEnded;

/** Whether the job still wants a runner task of ours (it has not started and does not wait for approval). */
export const wantsRunner = (record: JobRecord): boolean =>
  record.state === 'queued' || record.state === 'launching' || record.state === 'task-started';

/** Whether a launcher may claim an attempt now: queued (and not backing off), or a launcher's lease ran out. */
export const isClaimable = (record: JobRecord, now: number): boolean =>
  (record.state === 'queued' && (record.retryAt ?? 0) <= now) ||
  (record.state === 'launching' && (record.leaseUntil ?? 0) <= now);

/** What a launcher holds after its claim: the attempt and the lease it wrote. */
export interface Lease {
  readonly attempt: number;
  readonly leaseUntil: number | undefined;
}

/** Whether `record` is still the launch attempt of `lease` (the lock a launcher holds). */
export const ownsAttempt = (record: JobRecord, lease: Lease): boolean =>
  record.state === 'launching' && record.attempt === lease.attempt && record.leaseUntil === lease.leaseUntil;
