/**
 * One EC2 instance of an owned group, in the instance ledger. Its lifecycle:
 *
 *     launching ──registered──▶ ready ──claimed──▶ claimed ──task-stopped──▶ retiring ──gone──▶ (closed)
 *                                 ▲                   │
 *                                 └─────released──────┘   (no task ever ran on it: still pristine)
 *
 * A claim is the only way to a task: a job's task is pinned to the instance it claimed, and a claim
 * is a conditional write from `ready`, so two jobs never hold one instance. In pristine mode an
 * instance whose task ran never returns to `ready`; with `reuse` it does, counted in `jobs`.
 *
 * A `ready` instance of a hot pool may hold a standby: a runner task started before any job, its
 * dockerd up, waiting for the config object a claim writes (docs/capacity.md). While its RunTask is
 * in flight the instance is not free (a claim then would place a second task); once it runs, the
 * claim carries it to the job, which writes its config instead of starting a task.
 */

export type InstanceState = 'launching' | 'ready' | 'claimed' | 'retiring';

/** Where an instance came from: a new launch, or a resume from the group's warm pool. */
export type InstanceOrigin = 'launch' | 'warm-pool';

/** A runner task started on a free instance before any job: it waits for `configKey` until `until`. */
export interface Standby {
  /** The object its container polls (through a presigned URL) for a job's runner config. */
  readonly configKey: string;
  /** Epoch ms its presigned URLs stop working: it stops by itself then. */
  readonly until: number;
  /** Epoch ms the RunTask was decided (in flight until `taskArn` is known). */
  readonly startedAt: number;
  /** Undefined while its RunTask is in flight. */
  readonly taskArn?: string | undefined;
}

/** Which job holds an instance: the attempt and the RunTask token (placement) it is pinned by. */
export interface InstanceClaim {
  readonly jobId: number;
  readonly attempt: number;
  readonly placement: number;
  /** Epoch ms of the claim. */
  readonly at: number;
}

export interface InstanceRecord {
  readonly instanceId: string;
  /** The owned group (`CapacityGroupSettings.name`). */
  readonly group: string;
  /** Bumped by every write; a write succeeds only over the version it read. */
  readonly version: number;
  readonly state: InstanceState;
  readonly origin: InstanceOrigin;
  /** Epoch ms: we first knew of it (its launch, or the first event that named it). */
  readonly launchedAt: number;
  /** Epoch ms: its container instance was ACTIVE with the agent connected (or it last became free). */
  readonly readyAt?: number | undefined;
  readonly containerInstanceArn?: string | undefined;
  readonly claim?: InstanceClaim | undefined;
  /** The task that runs (ran) on it for the current claim. */
  readonly taskArn?: string | undefined;
  /** Jobs whose task ran on it (1 at most in pristine mode). */
  readonly jobs: number;
  /** The standby runner task waiting on it for a job (hot pools). */
  readonly standby?: Standby | undefined;
  /** Standbys on it that stopped before their time (bounded: one that keeps failing is not started again). */
  readonly standbyFailures?: number | undefined;
  /** Why it is retiring. */
  readonly retireReason?: string | undefined;
  /** Epoch ms: TerminateInstanceInAutoScalingGroup was last sent for it. */
  readonly terminateSentAt?: number | undefined;
  readonly updatedAt: number;
  /** False once the instance is gone from its group: the record expires. */
  readonly open: boolean;
  /** A random id of the write that made this version (a writer whose answer was lost knows its own write). */
  readonly writeId?: string | undefined;
}

/** What can happen to an instance; each names what it presumes, so a stale event is refused. */
export type InstanceEvent =
  | { readonly type: 'launched'; readonly group: string; readonly origin: InstanceOrigin }
  /** Its container instance is ACTIVE and its agent connected: it can take a task. */
  | { readonly type: 'registered'; readonly group: string; readonly containerInstanceArn: string }
  | {
      readonly type: 'claimed';
      readonly jobId: number;
      readonly attempt: number;
      readonly placement: number;
      /** With reuse, an instance that ran jobs before may be claimed; otherwise only a pristine one. */
      readonly reuse: boolean;
    }
  /** The holder gives it back before any task ran on it (ECS placed none, the job needs none). */
  | { readonly type: 'released'; readonly jobId: number; readonly attempt: number; readonly reason: string }
  /** A standby's RunTask is about to be sent (the instance is not free until it answers). */
  | {
      readonly type: 'standby-starting';
      readonly configKey: string;
      readonly until: number;
    }
  /** ECS started the standby task. */
  | { readonly type: 'standby-started'; readonly configKey: string; readonly taskArn: string }
  /** The standby is no more (its RunTask failed, or its task stopped with no job): free without one. */
  | {
      readonly type: 'standby-ended';
      readonly configKey: string;
      readonly reason: string;
      /** It stopped before its time (or never started). */
      readonly failed: boolean;
    }
  /** ECS placed the holder's task on it. */
  | { readonly type: 'task-placed'; readonly jobId: number; readonly taskArn: string }
  /** The task on it stopped. `reuse`: the instance takes the next job; else it retires. */
  | { readonly type: 'task-stopped'; readonly taskArn: string; readonly reuse: boolean }
  /** It is to be terminated (idle past its bound, never registered, interrupted, or its task ran). */
  | { readonly type: 'retire'; readonly reason: string; readonly ifFree?: boolean }
  | { readonly type: 'terminate-sent' }
  /** It left its group (terminated): the record closes. */
  | { readonly type: 'gone' };

export type InstanceTransition =
  | { readonly next: InstanceRecord; readonly note: string }
  | { readonly next: undefined; readonly note: string };

/** Whether a standby's RunTask is in flight on the instance (no claim may place a task beside it). */
export const standbyStarting = (record: InstanceRecord): boolean =>
  record.standby !== undefined && record.standby.taskArn === undefined;

/**
 * A claim takes an instance with a standby only this long before the standby stops by itself (its
 * container reads a config within a second of the write); nearer, the claim waits for the stop.
 */
export const STANDBY_MARGIN_MS = 30_000;

/** Why a claim may not take the instance because of its standby now; undefined: it may. */
const standbyBars = (record: InstanceRecord, now: number): string | undefined => {
  if (standbyStarting(record)) return "its standby's RunTask is in flight";
  if (record.standby !== undefined && now > record.standby.until - STANDBY_MARGIN_MS)
    return 'its standby is about to stop';
  return undefined;
};

/** Whether a job may claim the instance now (a standby aside: the claim itself checks that). */
export const isFree = (record: InstanceRecord, reuse: boolean): boolean =>
  record.open && record.state === 'ready' && (record.jobs === 0 || reuse);

/** Whether the instance is held for a job (claimed, its task not stopped yet). */
export const isBusy = (record: InstanceRecord): boolean => record.open && record.state === 'claimed';

/**
 * The instance lifecycle: from this record, on this event, to that record. Pure. Events come late,
 * twice and out of order (EventBridge delivers at least once, in no order): none moves an instance
 * back, and none frees an instance a task ran on unless the group reuses instances.
 */
export function instanceTransition(
  record: InstanceRecord | undefined,
  event: InstanceEvent,
  instanceId: string,
  now: number,
): InstanceTransition {
  const to = (
    base: InstanceRecord,
    changes: Partial<Omit<InstanceRecord, 'instanceId' | 'version'>>,
    note: string,
  ): InstanceTransition => ({
    next: { ...base, ...changes, version: base.version + 1, updatedAt: now },
    note,
  });
  const refuse = (note: string): InstanceTransition => ({ next: undefined, note });
  const fresh = (group: string, origin: InstanceOrigin): InstanceRecord => ({
    instanceId,
    group,
    version: 0,
    state: 'launching',
    origin,
    launchedAt: now,
    jobs: 0,
    updatedAt: now,
    open: true,
  });

  if (event.type === 'launched') {
    if (record !== undefined) {
      // A resume from the warm pool after our record of the instance began (a lost first event).
      if (record.origin !== event.origin && record.state === 'launching')
        return to(record, { origin: event.origin }, 'origin learnt');
      return refuse('already known');
    }
    return to(fresh(event.group, event.origin), {}, 'launched');
  }
  if (event.type === 'registered') {
    // The launch event may be lost or late: the registration alone makes the record.
    const base = record ?? fresh(event.group, 'launch');
    if (!base.open) return refuse('the instance is gone');
    if (base.state !== 'launching') {
      if (base.containerInstanceArn === undefined)
        return to(base, { containerInstanceArn: event.containerInstanceArn }, 'container instance learnt');
      return refuse(`already ${base.state}`);
    }
    return to(
      base,
      { state: 'ready', readyAt: now, containerInstanceArn: event.containerInstanceArn },
      'registered: ready for a job',
    );
  }
  if (record === undefined) return refuse('no record of the instance');
  if (!record.open) return refuse('the instance is gone');

  switch (event.type) {
    case 'standby-starting':
      if (record.state !== 'ready' || record.jobs > 0)
        return refuse(`not a free pristine instance: ${record.state}`);
      if (record.standby !== undefined) return refuse('it has a standby');
      return to(
        record,
        { standby: { configKey: event.configKey, until: event.until, startedAt: now } },
        'standby starting',
      );
    case 'standby-started':
      if (record.standby?.configKey !== event.configKey) return refuse('another standby, or none');
      if (record.standby.taskArn !== undefined) return refuse('already recorded');
      return to(record, { standby: { ...record.standby, taskArn: event.taskArn } }, 'standby started');
    case 'standby-ended':
      if (record.standby?.configKey !== event.configKey) return refuse('another standby, or none');
      // A claimed instance's standby is its job's task now: its stop is the task's stop.
      if (record.state !== 'ready') return refuse(`the standby is a job's task: ${record.state}`);
      return to(
        record,
        {
          standby: undefined,
          ...(event.failed && { standbyFailures: (record.standbyFailures ?? 0) + 1 }),
        },
        `standby ended: ${event.reason}`,
      );
    case 'claimed': {
      if (!isFree(record, event.reuse))
        return refuse(record.state === 'ready' ? 'it ran a job before' : `not free: ${record.state}`);
      const barred = standbyBars(record, now);
      if (barred !== undefined) return refuse(barred);
      return to(
        record,
        {
          state: 'claimed',
          claim: { jobId: event.jobId, attempt: event.attempt, placement: event.placement, at: now },
          taskArn: undefined,
        },
        `claimed by job ${event.jobId}`,
      );
    }
    case 'released':
      if (
        record.state !== 'claimed' ||
        record.claim?.jobId !== event.jobId ||
        record.claim.attempt !== event.attempt
      )
        return refuse('held by another job, or by none');
      if (record.taskArn !== undefined) return refuse('a task was placed on it');
      return to(record, { state: 'ready', claim: undefined, readyAt: now }, `released: ${event.reason}`);
    case 'task-placed':
      if (record.state !== 'claimed' || record.claim?.jobId !== event.jobId)
        return refuse('not held by the job');
      if (record.taskArn === event.taskArn) return refuse('already recorded');
      return to(record, { taskArn: event.taskArn, jobs: record.jobs + 1 }, 'task placed');
    case 'task-stopped':
      if (record.state !== 'claimed') return refuse(`not claimed: ${record.state}`);
      if (record.taskArn !== undefined && record.taskArn !== event.taskArn)
        return refuse('another task holds it');
      // A stop we heard of before the placement was recorded: a task ran on it all the same.
      {
        const jobs = record.taskArn === undefined ? record.jobs + 1 : record.jobs;
        if (event.reuse)
          return to(
            record,
            { state: 'ready', claim: undefined, taskArn: undefined, readyAt: now, jobs },
            'task stopped: free for the next job',
          );
        return to(
          record,
          { state: 'retiring', retireReason: 'its job task stopped', jobs, taskArn: event.taskArn },
          'task stopped: retiring',
        );
      }
    case 'retire':
      if (record.state === 'retiring') return refuse('already retiring');
      if (event.ifFree && record.state === 'claimed') return refuse('a job holds it');
      return to(record, { state: 'retiring', retireReason: event.reason }, `retiring: ${event.reason}`);
    case 'terminate-sent':
      if (record.state !== 'retiring') return refuse(`not retiring: ${record.state}`);
      return to(record, { terminateSentAt: now }, 'terminate sent');
    case 'gone':
      return to(record, { open: false, state: 'retiring' }, 'gone');
  }
}
