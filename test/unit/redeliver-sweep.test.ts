import { describe, expect, it } from '@jest/globals';
import type { HookDeliveries, HookDelivery } from '../../shared/github/hook-deliveries';
import { type SweepOptions, sweepFailedDeliveries } from '../../shared/github/redeliver-sweep';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();
let nextId = 1;
const attempt = (
  guid: string,
  statusCode: number,
  minutes: number,
  extra: Partial<HookDelivery> = {},
): HookDelivery => ({
  id: nextId++,
  guid,
  deliveredAt: minutesAgo(minutes),
  redelivery: false,
  status: statusCode === 0 ? 'pending' : statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
  statusCode,
  event: 'workflow_job',
  action: 'queued',
  ...extra,
});

/** An in-memory delivery log; payloads carry the job status the sweep asks about. */
function log(attempts: HookDelivery[], statuses: Record<string, string> = {}) {
  const redelivered: number[] = [];
  const deliveries: HookDeliveries = {
    list: async (sinceMs) => attempts.filter((a) => Date.parse(a.deliveredAt) >= sinceMs),
    payload: async (id) => ({ guid: attempts.find((a) => a.id === id)?.guid }),
    redeliver: async (id) => {
      redelivered.push(id);
    },
  };
  const options: SweepOptions = {
    sinceMs: 6 * 3_600_000,
    max: 50,
    maxRedeliveries: 5,
    dryRun: false,
    now: () => NOW,
    jobStatus: async (payload) => statuses[(payload as { guid: string }).guid] ?? 'queued',
  };
  return { deliveries, options, redelivered };
}

describe('sweepFailedDeliveries', () => {
  it('redelivers exactly the deliveries whose every attempt failed and whose job is still queued', async () => {
    const failed = attempt('failed', 503, 30);
    const attempts = [
      failed,
      attempt('recovered', 503, 40),
      attempt('recovered', 200, 35, { redelivery: true }),
      attempt('ok', 200, 20),
      attempt('completed-job', 500, 25),
      attempt('cancelled-event', 502, 15, { action: 'completed' }),
      attempt('other-event', 500, 15, { event: 'push', action: null }),
      attempt('in-flight', 503, 50),
      attempt('in-flight', 0, 1, { redelivery: true }),
      attempt('too-old', 503, 7 * 60),
    ];
    const { deliveries, options, redelivered } = log(attempts, { 'completed-job': 'completed' });
    const summary = await sweepFailedDeliveries(deliveries, options);
    expect(summary.redelivered).toEqual(['failed']);
    expect(redelivered).toEqual([failed.id]);
    expect(summary.found).toBe(6);
    expect(summary.failed).toBe(4);
    expect(summary.skipped).toEqual([
      { guid: 'completed-job', reason: 'job is completed' },
      { guid: 'cancelled-event', reason: 'action "completed" needs no runner' },
      { guid: 'in-flight', reason: 'a redelivery is in flight' },
    ]);
  });

  it('redelivers the newest attempt of a delivery', async () => {
    const newest = attempt('twice', 504, 5, { redelivery: true });
    const { deliveries, options, redelivered } = log([attempt('twice', 503, 30), newest]);
    await sweepFailedDeliveries(deliveries, options);
    expect(redelivered).toEqual([newest.id]);
  });

  it('lists without redelivering in a dry run', async () => {
    const { deliveries, options, redelivered } = log([attempt('a', 503, 10)]);
    const summary = await sweepFailedDeliveries(deliveries, { ...options, dryRun: true });
    expect(summary.redelivered).toEqual(['a']);
    expect(redelivered).toEqual([]);
  });

  it('stops at the sweep limit and says so', async () => {
    const { deliveries, options } = log([
      attempt('a', 503, 10),
      attempt('b', 503, 11),
      attempt('c', 503, 12),
    ]);
    const summary = await sweepFailedDeliveries(deliveries, { ...options, max: 2 });
    expect(summary.redelivered).toHaveLength(2);
    expect(summary.skipped).toEqual([{ guid: 'c', reason: 'sweep limit of 2 reached; next sweep' }]);
  });

  it('gives up on a delivery refused on every redelivery', async () => {
    const attempts = [
      attempt('refused', 422, 60),
      ...[50, 40, 30, 20, 10].map((m) => attempt('refused', 422, m, { redelivery: true })),
    ];
    const { deliveries, options } = log(attempts);
    const summary = await sweepFailedDeliveries(deliveries, options);
    expect(summary.redelivered).toEqual([]);
    expect(summary.skipped[0]?.reason).toMatch(/^gave up after 5 redeliveries/);
  });

  it('redelivers when the job status cannot be read', async () => {
    const { deliveries, options } = log([attempt('a', 503, 10)]);
    const summary = await sweepFailedDeliveries(deliveries, {
      ...options,
      jobStatus: async () => {
        throw new Error('rate limited');
      },
    });
    expect(summary.redelivered).toEqual(['a']);
  });

  it('keeps sweeping when GitHub refuses one redelivery', async () => {
    const { deliveries, options } = log([attempt('a', 503, 10), attempt('b', 503, 11)]);
    const failing: HookDeliveries = {
      ...deliveries,
      redeliver: async (id) => {
        if (id % 2 === 0) throw new Error('Not Found');
      },
    };
    const summary = await sweepFailedDeliveries(failing, options);
    expect(summary.redelivered.length + summary.skipped.length).toBe(2);
  });
});
