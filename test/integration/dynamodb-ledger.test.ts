/** The DynamoDB job ledger with the real client against dynalite, a DynamoDB-protocol server. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import { commit, type JobLedger } from '../../shared/jobs/job-ledger';
import { transition } from '../../shared/jobs/job-lifecycle';
import type { JobRecord } from '../../shared/jobs/job-record';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { jobOfOurs } from '../fixtures/payloads';
import { type DynamoDbServer, startDynamoDbServer } from '../support/dynamodb-server';

let dynamodb: DynamoDbServer;
let ledger: JobLedger;
beforeAll(async () => {
  dynamodb = await startDynamoDbServer();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.url;
  ledger = createDynamoDbJobLedger(await dynamodb.createJobsTable());
});
afterAll(async () => {
  await dynamodb.close();
});

const NOW = Date.now();
const queued = (jobId: number) =>
  transition(
    undefined,
    { type: 'delivered', event: parseWorkflowJob(jobOfOurs({ jobId })), profile: 'default' },
    NOW,
  ).next as JobRecord;

describe('DynamoDB job ledger', () => {
  it('creates a record once: a second create of the same job loses', async () => {
    expect(await ledger.put(queued(1), undefined)).toMatchObject({ jobId: 1, version: 1, state: 'queued' });
    expect(await ledger.put(queued(1), undefined)).toBeUndefined();
    expect(await ledger.get(1)).toMatchObject({ jobId: 1, version: 1, job: { job: { id: 1 } } });
  });

  it('writes over the version it read, and refuses a stale one', async () => {
    const stored = (await ledger.put(queued(2), undefined)) as JobRecord;
    expect(await ledger.put({ ...stored, state: 'launching' }, 1)).toMatchObject({ version: 2 });
    expect(await ledger.put({ ...stored, state: 'done' }, 1)).toBeUndefined();
    expect((await ledger.get(2))?.state).toBe('launching');
  });

  it('lets exactly one of many concurrent launchers claim an attempt', async () => {
    await ledger.put(queued(3), undefined);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        commit(
          ledger,
          3,
          { type: 'claimed', leaseMs: 30_000, runnerName: (n) => `runner-${n}` },
          { now: Date.now },
        ),
      ),
    );
    expect(results.filter((r) => r.written)).toHaveLength(1);
    expect(await ledger.get(3)).toMatchObject({ state: 'launching', attempt: 1 });
  });

  it('lists open records through the sparse index, and not closed ones', async () => {
    const open = (await ledger.put(queued(4), undefined)) as JobRecord;
    await ledger.put({ ...open, state: 'done', open: false }, open.version);
    const listed = (await ledger.listOpen()).map((r) => r.jobId);
    expect(listed).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(listed).not.toContain(4);
  });

  it('spreads open records over index partitions by job id, and lists every one, oldest first', async () => {
    for (const jobId of [100, 101, 102, 103, 104, 105, 106, 107, 108]) {
      await ledger.put({ ...queued(jobId), queuedAt: NOW - jobId }, undefined);
    }
    const listed = (await ledger.listOpen()).map((r) => r.jobId).filter((id) => id >= 100);
    expect(listed).toEqual([108, 107, 106, 105, 104, 103, 102, 101, 100]);
  });

  it('stamps each write with an id of its own and refuses another write over the same version', async () => {
    const stored = (await ledger.put(queued(5), undefined)) as JobRecord;
    const mine = await ledger.put({ ...stored, state: 'launching' }, stored.version);
    expect(await ledger.put({ ...stored, state: 'done' }, stored.version)).toBeUndefined();
    expect(mine?.writeId).toEqual(expect.any(String));
    expect((await ledger.get(5))?.writeId).toBe(mine?.writeId);
  });
});
