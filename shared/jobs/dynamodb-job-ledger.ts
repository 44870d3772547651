import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { boundedRequestHandler } from '../call-timeout';
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

type Loaded = { client: DynamoDBDocumentClient; lib: typeof import('@aws-sdk/lib-dynamodb') };

/**
 * The DynamoDB adapter of {@link JobLedger}: one item per job (partition key `jobId`), written
 * whole under a condition on `version`; `openShard` is set only while the record is open, so the
 * index holds just the open jobs; `expiresAt`, the TTL, is set once a record closes. The SDK loads on first use; its
 * endpoint comes only from the SDK's settings (`AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function createDynamoDbJobLedger(table: string): JobLedger {
  let loaded: Promise<Loaded> | undefined;
  const load = () => {
    loaded ??= Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]).then(
      ([dynamodb, lib]) => ({
        client: lib.DynamoDBDocumentClient.from(
          new dynamodb.DynamoDBClient({ maxAttempts: 2, requestHandler: boundedRequestHandler }),
          {
            marshallOptions: { removeUndefinedValues: true },
          },
        ),
        lib,
      }),
    );
    return loaded;
  };
  const options = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
  const fromItem = (item: Record<string, unknown>): JobRecord => {
    const { openShard: _, expiresAt: __, ...record } = item;
    return record as unknown as JobRecord;
  };
  const ledger: JobLedger = {
    async get(jobId, signal) {
      const { client, lib } = await load();
      const { Item } = await client.send(
        new lib.GetCommand({ TableName: table, Key: { jobId }, ConsistentRead: true }),
        options(signal),
      );
      return Item && fromItem(Item);
    },
    async put(next, expectedVersion, signal) {
      const { client, lib } = await load();
      const written: JobRecord = { ...next, version: (expectedVersion ?? 0) + 1, writeId: randomUUID() };
      try {
        await client.send(
          new lib.PutCommand({
            TableName: table,
            // Only a closed record expires: a job may run for days, and its record protects its runner.
            Item: {
              ...written,
              ...(written.open ? { openShard: shardOf(written.jobId) } : { expiresAt: expiresAt(written) }),
            },
            ...(expectedVersion === undefined
              ? { ConditionExpression: 'attribute_not_exists(jobId)' }
              : {
                  ConditionExpression: '#version = :version',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':version': expectedVersion },
                }),
          }),
          options(signal),
        );
        return written;
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
        // The SDK's retry of a write that landed (its answer lost) fails its own condition: a
        // consistent read tells our write from another writer's by the write id.
        const stored = await ledger.get(next.jobId, signal);
        return stored?.writeId === written.writeId ? stored : undefined;
      }
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
            options(signal),
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
