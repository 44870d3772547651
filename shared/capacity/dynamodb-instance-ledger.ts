import { callOptions, lazyDocumentClient, putVersioned } from '../dynamodb/versioned-table';
import type { InstanceLedger } from './instance-ledger';
import type { InstanceRecord } from './instance-record';

/** The table's shape, one place for the adapter, the stack and the tests. */
export const INSTANCES_TABLE_SCHEMA = {
  /** Partition key (String): the EC2 instance id. */
  partitionKey: 'instanceId',
  /** The sparse index of free instances: partition `freeGroup` (String), sort `readyAt` (Number). */
  freeIndex: 'free',
  freePartitionKey: 'freeGroup',
  freeSortKey: 'readyAt',
  /** The sparse index of open instances: partition `openGroup` (String), sort `launchedAt` (Number). */
  openIndex: 'open-instances',
  openPartitionKey: 'openGroup',
  openSortKey: 'launchedAt',
  /** TTL attribute (epoch seconds), set once the instance is gone. */
  ttlAttribute: 'expiresAt',
} as const;

/** A gone instance's record is kept this long (for status and the figures). */
const GONE_TTL_SECONDS = 24 * 60 * 60;

/**
 * The DynamoDB adapter of {@link InstanceLedger}: one item per instance, written whole under a
 * condition on `version`; `freeGroup` is set only while the instance is `ready`, so the index holds
 * only free instances. The SDK loads on first use (endpoint: `AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function createDynamoDbInstanceLedger(table: string, groups?: readonly string[]): InstanceLedger {
  const load = lazyDocumentClient();
  const fromItem = (item: Record<string, unknown>): InstanceRecord => {
    const { freeGroup: _, openGroup: ___, expiresAt: __, ...record } = item;
    return record as unknown as InstanceRecord;
  };
  const ledger: InstanceLedger = {
    async get(instanceId, signal) {
      const { client, lib } = await load();
      const { Item } = await client.send(
        new lib.GetCommand({ TableName: table, Key: { instanceId }, ConsistentRead: true }),
        callOptions(signal),
      );
      return Item && fromItem(Item);
    },
    async put(next, expectedVersion, signal) {
      return putVersioned(await load(), {
        table,
        key: INSTANCES_TABLE_SCHEMA.partitionKey,
        next,
        expectedVersion,
        extra: (written) => ({
          ...(written.open && written.state === 'ready' && { freeGroup: written.group }),
          ...(written.open && { openGroup: written.group }),
          ...(!written.open && { expiresAt: Math.floor(written.updatedAt / 1000) + GONE_TTL_SECONDS }),
        }),
        reread: () => ledger.get(next.instanceId, signal),
        signal,
      });
    },
    async listOpen(group, signal) {
      const { client, lib } = await load();
      const records: InstanceRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      // The functions read the open index, group by group (gone instances stay in the table a day);
      // an operator's tool that names no groups scans.
      const named = group !== undefined ? [group] : groups;
      if (named !== undefined) {
        for (const name of named) {
          do {
            const page = await client.send(
              new lib.QueryCommand({
                TableName: table,
                IndexName: INSTANCES_TABLE_SCHEMA.openIndex,
                KeyConditionExpression: 'openGroup = :group',
                ExpressionAttributeValues: { ':group': name },
                ExclusiveStartKey: startKey,
              }),
              callOptions(signal),
            );
            for (const item of page.Items ?? []) records.push(fromItem(item));
            startKey = page.LastEvaluatedKey;
          } while (startKey);
        }
        return records;
      }
      do {
        const page = await client.send(
          new lib.ScanCommand({
            TableName: table,
            FilterExpression: group === undefined ? '#open = :open' : '#open = :open AND #group = :group',
            ExpressionAttributeNames: { '#open': 'open', ...(group !== undefined && { '#group': 'group' }) },
            ExpressionAttributeValues: { ':open': true, ...(group !== undefined && { ':group': group }) },
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
          callOptions(signal),
        );
        for (const item of page.Items ?? []) records.push(fromItem(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return records;
    },
    async listFree(group, limit, signal) {
      const { client, lib } = await load();
      const { Items } = await client.send(
        new lib.QueryCommand({
          TableName: table,
          IndexName: INSTANCES_TABLE_SCHEMA.freeIndex,
          KeyConditionExpression: 'freeGroup = :group',
          ExpressionAttributeValues: { ':group': group },
          Limit: limit,
        }),
        callOptions(signal),
      );
      return (Items ?? []).map(fromItem);
    },
  };
  return ledger;
}
