import { isStopped, type TaskFacts } from '../ecs/runner-tasks';
import type { JobRecord } from '../jobs/job-record';
import { isStuck, planJob, RECONCILE_TIMING } from '../reconcile/reconcile-plan';
import { formatAge } from './age';

/** One open job as the operator sees it: the ledger beside ECS, and what happens next. */
export interface JobStatusRow {
  readonly jobId: number;
  readonly repository: string;
  readonly runId: number;
  readonly profile: string;
  readonly state: JobRecord['state'];
  readonly attempt: number;
  /** Seconds since GitHub queued the job. */
  readonly ageSeconds: number;
  readonly taskArn: string | undefined;
  /** ECS's view of the task: its last status, `unknown to ECS`, or none. */
  readonly task: string;
  readonly runner: string | undefined;
  /** With owned capacity: the instance its task is pinned to, and how it got it (hot, warm, cold). */
  readonly instance?: string | undefined;
  /** Why the job looks stuck; undefined when it does not. */
  readonly stuck: string | undefined;
  /** What the reconciler does next, and why. */
  readonly next: string;
}

/** How the reconciler is set up (the same settings it reads). */
export interface StatusSettings {
  readonly capacityWaitSeconds: number;
  readonly stuckAfterSeconds: number;
  readonly unknownRelaunchSeconds?: number;
  readonly maxAttempts?: number;
}

/** The rows of `npm run status`, oldest job first. Pure. */
export function jobStatusRows(
  records: readonly JobRecord[],
  tasks: ReadonlyMap<string, TaskFacts>,
  now: number,
  settings: StatusSettings,
): JobStatusRow[] {
  return [...records]
    .sort((a, b) => a.queuedAt - b.queuedAt)
    .map((record) => {
      const task = record.taskArn === undefined ? undefined : tasks.get(record.taskArn);
      // GitHub is not asked here: the plan says what the reconciler does before it asks.
      const plan = planJob(
        { record, task, github: undefined, runWaits: false },
        {
          now,
          capacityWaitMs: settings.capacityWaitSeconds * 1000,
          stuckAfterMs: settings.stuckAfterSeconds * 1000,
          unknownRelaunchMs: (settings.unknownRelaunchSeconds ?? 1800) * 1000,
          maxAttempts: settings.maxAttempts ?? 3,
          timing: RECONCILE_TIMING,
        },
      );
      const steps = plan.steps.map((step) => (step.kind === 'commit' ? step.event.type : step.kind));
      const next = steps.length === 0 ? `wait: ${plan.reason}` : `${steps.join(', ')}: ${plan.reason}`;
      return {
        jobId: record.jobId,
        repository: record.job.repository.fullName,
        runId: record.job.job.runId,
        profile: record.profile,
        state: record.state,
        attempt: record.attempt,
        ageSeconds: Math.round((now - record.queuedAt) / 1000),
        taskArn: record.taskArn,
        task: record.taskArn === undefined ? '-' : task === undefined ? 'unknown to ECS' : task.lastStatus,
        runner: record.jobRunner ?? record.runnerName,
        ...(record.instanceId !== undefined && {
          instance: `${record.instanceId}${record.instancePath ? ` (${record.instancePath})` : ''}`,
        }),
        stuck: stuckReason(record, task, now, settings),
        next,
      };
    });
}

function stuckReason(
  record: JobRecord,
  task: TaskFacts | undefined,
  now: number,
  settings: StatusSettings,
): string | undefined {
  if (record.exhausted) {
    return `${record.failedAttempts ?? record.attempt} launch attempts were lost; last: ${record.lastStop ?? 'unknown'} (retried at the longest backoff while GitHub says queued)`;
  }
  if (!isStuck(record, task, now, settings.stuckAfterSeconds * 1000)) return undefined;
  const minutes = Math.round((now - record.queuedAt) / 60_000);
  if (record.state === 'queued') {
    return `queued ${minutes} min without a task${record.lastError ? `; last launch failed: ${record.lastError}` : ''} (npm run doctor checks the setup)`;
  }
  if (record.state === 'launching')
    return `a launch has been in flight since its lease; queued ${minutes} min`;
  if (task === undefined) return `its task is unknown to ECS; queued ${minutes} min`;
  if (isStopped(task))
    return `its task stopped before the job started: ${task.stoppedReason ?? 'no reason given'}`;
  return `its task is ${task.lastStatus} (waiting for capacity or its image) after ${minutes} min`;
}

/** The rows as a table for a terminal: one line per job, and the stuck ones explained below it. */
export function formatJobStatus(rows: readonly JobStatusRow[]): string {
  if (rows.length === 0) return 'no open jobs';
  const pinned = rows.some((row) => row.instance !== undefined);
  const header = [
    'job',
    'repository',
    'state',
    'try',
    'age',
    'task',
    'runner',
    ...(pinned ? ['instance'] : []),
  ];
  const lines = rows.map((row) => [
    String(row.jobId),
    row.repository,
    row.state,
    String(row.attempt),
    formatAge(row.ageSeconds),
    row.task,
    row.runner ?? '-',
    ...(pinned ? [row.instance ?? '-'] : []),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const stuck = rows.filter((row) => row.stuck !== undefined);
  // A done job stays in the ledger's open list while the reconciler still has its task to stop: it
  // is listed, not counted among the jobs that wait for a runner.
  const done = rows.filter((row) => row.state === 'done');
  return [
    render(header),
    ...lines.map(render),
    '',
    `${rows.length - done.length} open job(s), ${stuck.length} stuck${done.length === 0 ? '' : `; ${done.length} done, its task left to the reconciler to stop`}`,
    ...stuck.map((row) => `  job ${row.jobId}: ${row.stuck}\n    next: ${row.next}`),
  ].join('\n');
}
