import { callOptions, lazyDocumentClient, putVersioned } from '../dynamodb/versioned-table';
import type { JobLedger } from './job-ledger';
import { expiresAt, type JobRecord } from './job-record';

/** The table's shape, one place for the adapter, the stack and the tests. */
export const JOBS_TABLE_SCHEMA = {
  /** Partition key (Number): the job id. */
  partitionKey: 'jobId',
  /** The sparse index of open records: partition `openShard` (String), sort `queuedAt` (Number). */
  openIndex: 'open-jobs',
  openPartitionKey: 'openShard',
  openSortKey: 'queuedAt',
  /** TTL attribute (epoch seconds). */
  ttlAttribute: 'expiresAt',
} as const;
const OPEN_JOBS_INDEX = JOBS_TABLE_SCHEMA.openIndex;
/**
 * Open records spread over this many index partitions (`open-0` … `open-7`, by job id): a burst of
 * a thousand jobs, four writes each, would otherwise all land on one index partition (1,000 write
 * units a second at most), whose throttling throttles the table's writes too. `open`, the single
 * partition of earlier versions, is still read, so records written before the change stay listed.
 */
export const OPEN_SHARDS = 8;
const shardOf = (jobId: number) => `open-${jobId % OPEN_SHARDS}`;
const SHARDS = ['open', ...Array.from({ length: OPEN_SHARDS }, (_, i) => `open-${i}`)];

/**
 * The DynamoDB adapter of {@link JobLedger}: one item per job (partition key `jobId`), written
 * whole under a condition on `version`; `openShard` is set only while the record is open, so the
 * index holds just the open jobs; `expiresAt`, the TTL, is set once a record closes. The SDK loads on first use; its
 * endpoint comes only from the SDK's settings (`AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function createDynamoDbJobLedger(table: string): JobLedger {
  const load = lazyDocumentClient();
  const fromItem = (item: Record<string, unknown>): JobRecord => {
    const { openShard: _, expiresAt: __, ...record } = item;
    return record as unknown as JobRecord;
  };
  const ledger: JobLedger = {
    async get(jobId, signal) {
      const { client, lib } = await load();
      const { Item } = await client.send(
        new lib.GetCommand({ TableName: table, Key: { jobId }, ConsistentRead: true }),
        callOptions(signal),
      );
      return Item && fromItem(Item);
    },
    async put(next, expectedVersion, signal) {
      return putVersioned(await load(), {
        table,
        key: JOBS_TABLE_SCHEMA.partitionKey,
        next,
        expectedVersion,
        // Only a closed record expires: a job may run for days, and its record protects its runner.
        extra: (written) =>
          written.open ? { openShard: shardOf(written.jobId) } : { expiresAt: expiresAt(written) },
        reread: () => ledger.get(next.jobId, signal),
        signal,
      });
    },
    async listOpen(signal) {
      const { client, lib } = await load();
      const listShard = async (shard: string) => {
        const records: JobRecord[] = [];
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await client.send(
            new lib.QueryCommand({
              TableName: table,
              IndexName: OPEN_JOBS_INDEX,
              KeyConditionExpression: 'openShard = :open',
              ExpressionAttributeValues: { ':open': shard },
              ExclusiveStartKey: startKey,
            }),
            callOptions(signal),
          );
          for (const item of page.Items ?? []) records.push(fromItem(item));
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return records;
      };
      const records = (await Promise.all(SHARDS.map(listShard))).flat();
      // Oldest first, as one partition sorted by queuedAt listed them.
      records.sort((a, b) => a.queuedAt - b.queuedAt);
      return records;
    },
  };
  return ledger;
}
