import { describe, expect, it } from '@jest/globals';
import type { InstanceRecord } from '../../shared/capacity/instance-record';
import { formatInstanceStatus, instanceStatusRows } from '../../shared/status/instance-status';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const base = (id: string, changes: Partial<InstanceRecord>): InstanceRecord => ({
  instanceId: id,
  group: 'default',
  version: 3,
  state: 'ready',
  origin: 'launch',
  launchedAt: NOW - 600_000,
  readyAt: NOW - 90_000,
  jobs: 0,
  updatedAt: NOW - 10_000,
  open: true,
  ...changes,
});

describe('npm run status: the instances', () => {
  it('shows each instance’s use beside its job and since when', () => {
    const rows = instanceStatusRows(
      [
        base('i-0000000000000000a', {}),
        base('i-0000000000000000b', {
          state: 'claimed',
          claim: { jobId: 29679449, attempt: 1, placement: 0, at: NOW - 300_000 },
          jobs: 1,
        }),
        base('i-0000000000000000c', { state: 'retiring', retireReason: 'its job task stopped', jobs: 1 }),
        base('i-0000000000000000d', { open: false }),
      ],
      NOW,
    );
    expect(rows.map((row) => [row.instanceId, row.use, row.job, row.sinceSeconds])).toEqual([
      ['i-0000000000000000b', 'busy', 29679449, 300],
      ['i-0000000000000000a', 'pool', undefined, 90],
      ['i-0000000000000000c', 'retiring', undefined, 10],
    ]);
    const text = formatInstanceStatus(rows);
    expect(text).toContain('3 instance(s): 1 busy, 1 in the pool, 0 idle, 0 launching, 1 retiring');
    expect(text).toContain('its job task stopped');
  });

  it('calls a used instance of a reusing group idle, not pool', () => {
    expect(instanceStatusRows([base('i-0000000000000000e', { jobs: 2 })], NOW)[0]?.use).toBe('idle');
  });
});
