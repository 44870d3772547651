/**
 * A real DynamoDB-protocol server (dynalite) on loopback, started by the tests themselves, with the
 * job ledger's and the instance ledger's tables made as the stack makes them. The real client reaches it through
 * `AWS_ENDPOINT_URL_DYNAMODB`.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { INSTANCES_TABLE_SCHEMA } from '../../shared/capacity/dynamodb-instance-ledger';
import { JOBS_TABLE_SCHEMA as SCHEMA } from '../../shared/jobs/dynamodb-job-ledger';

export interface DynamoDbServer {
  readonly url: string;
  /** Makes a fresh ledger table and returns its name. */
  createJobsTable(): Promise<string>;
  /** Makes a fresh instance ledger table (with its sparse indexes of free and of open instances) and returns its name. */
  createInstancesTable(): Promise<string>;
  close(): Promise<void>;
}

let tables = 0;

export async function startDynamoDbServer(): Promise<DynamoDbServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async createJobsTable() {
      const name = `github-runners-jobs-${process.pid}-${++tables}`;
      const client = new DynamoDBClient({ endpoint: url });
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: SCHEMA.partitionKey, AttributeType: 'N' },
            { AttributeName: SCHEMA.openPartitionKey, AttributeType: 'S' },
            { AttributeName: SCHEMA.openSortKey, AttributeType: 'N' },
          ],
          KeySchema: [{ AttributeName: SCHEMA.partitionKey, KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: SCHEMA.openIndex,
              KeySchema: [
                { AttributeName: SCHEMA.openPartitionKey, KeyType: 'HASH' },
                { AttributeName: SCHEMA.openSortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }),
      );
      client.destroy();
      return name;
    },
    async createInstancesTable() {
      const name = `github-runners-instances-${process.pid}-${++tables}`;
      const client = new DynamoDBClient({ endpoint: url });
      const schema = INSTANCES_TABLE_SCHEMA;
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: schema.partitionKey, AttributeType: 'S' },
            { AttributeName: schema.freePartitionKey, AttributeType: 'S' },
            { AttributeName: schema.freeSortKey, AttributeType: 'N' },
            { AttributeName: schema.openPartitionKey, AttributeType: 'S' },
            { AttributeName: schema.openSortKey, AttributeType: 'N' },
          ],
          KeySchema: [{ AttributeName: schema.partitionKey, KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: schema.freeIndex,
              KeySchema: [
                { AttributeName: schema.freePartitionKey, KeyType: 'HASH' },
                { AttributeName: schema.freeSortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
            {
              IndexName: schema.openIndex,
              KeySchema: [
                { AttributeName: schema.openPartitionKey, KeyType: 'HASH' },
                { AttributeName: schema.openSortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }),
      );
      client.destroy();
      return name;
    },
    async close() {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
