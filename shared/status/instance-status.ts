import type { InstanceRecord } from '../capacity/instance-record';
import { formatAge } from './age';

/** One instance of owned capacity as the operator sees it. */
export interface InstanceStatusRow {
  readonly instanceId: string;
  readonly group: string;
  /** `pool` (pristine, waiting for a job), `busy` (a job holds it), `idle` (reuse: ran jobs, waits for the next), `launching`, `retiring`. */
  readonly use: 'pool' | 'busy' | 'idle' | 'launching' | 'retiring';
  readonly job: number | undefined;
  /** Seconds since it became free (pool, idle), or since it was claimed (busy), or since we knew of it. */
  readonly sinceSeconds: number;
  /** Jobs that ran on it. */
  readonly jobs: number;
  readonly origin: InstanceRecord['origin'];
  readonly note: string | undefined;
}

/** The instances of `npm run status`, by group, the longest in their use first. Pure. */
export function instanceStatusRows(records: readonly InstanceRecord[], now: number): InstanceStatusRow[] {
  return records
    .filter((record) => record.open)
    .map((record): InstanceStatusRow => {
      const use =
        record.state === 'ready'
          ? record.jobs > 0
            ? 'idle'
            : 'pool'
          : record.state === 'claimed'
            ? 'busy'
            : record.state;
      const since =
        record.state === 'claimed'
          ? (record.claim?.at ?? record.updatedAt)
          : record.state === 'ready'
            ? (record.readyAt ?? record.updatedAt)
            : record.state === 'launching'
              ? record.launchedAt
              : record.updatedAt;
      return {
        instanceId: record.instanceId,
        group: record.group,
        use,
        job: record.claim?.jobId,
        sinceSeconds: Math.max(0, Math.round((now - since) / 1000)),
        jobs: record.jobs,
        origin: record.origin,
        note: record.retireReason,
      };
    })
    .sort((a, b) => a.group.localeCompare(b.group) || b.sinceSeconds - a.sinceSeconds);
}

/** The instances as a table for a terminal. */
export function formatInstanceStatus(rows: readonly InstanceStatusRow[]): string {
  if (rows.length === 0) return 'no instances';
  const header = ['instance', 'group', 'use', 'job', 'since', 'jobs', 'note'];
  const lines = rows.map((row) => [
    row.instanceId,
    row.group,
    row.use,
    row.job === undefined ? '-' : String(row.job),
    formatAge(row.sinceSeconds),
    String(row.jobs),
    row.note ?? '',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const count = (use: InstanceStatusRow['use']) => rows.filter((row) => row.use === use).length;
  return [
    render(header),
    ...lines.map(render),
    '',
    `${rows.length} instance(s): ${count('busy')} busy, ${count('pool')} in the pool, ${count('idle')} idle, ${count('launching')} launching, ${count('retiring')} retiring`,
  ].join('\n');
}
