import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { boundedRequestHandler } from '../call-timeout';

export type DocumentClient = {
  readonly client: DynamoDBDocumentClient;
  readonly lib: typeof import('@aws-sdk/lib-dynamodb');
};

/**
 * The DynamoDB document client of a ledger, loaded on first use (most deliveries of a cold start
 * need it, but `npm start` never does). Two tries: a conditional write whose answer was lost is
 * retried once and recognised by {@link putVersioned}. The endpoint comes only from the SDK's
 * settings (`AWS_ENDPOINT_URL_DYNAMODB`).
 */
export function lazyDocumentClient(): () => Promise<DocumentClient> {
  let loaded: Promise<DocumentClient> | undefined;
  return () => {
    loaded ??= Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]).then(
      ([dynamodb, lib]) => ({
        client: lib.DynamoDBDocumentClient.from(
          new dynamodb.DynamoDBClient({ maxAttempts: 2, requestHandler: boundedRequestHandler }),
          { marshallOptions: { removeUndefinedValues: true } },
        ),
        lib,
      }),
    );
    return loaded;
  };
}

/** The SDK's per-call options of an optional abort signal. */
export const callOptions = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

/**
 * Writes a record of a versioned ledger whole, over the version it read (`expectedVersion`;
 * undefined: no item may exist under `key`), with its version bumped and a fresh `writeId`. Returns
 * what was written, or undefined when another writer got there first. The SDK's retry of a write
 * that landed (its answer lost) fails its own condition: a consistent read (`reread`) tells our
 * write from another's by the write id.
 */
export async function putVersioned<
  T extends { readonly version: number; readonly writeId?: string | undefined },
>(
  db: DocumentClient,
  request: {
    readonly table: string;
    /** The partition key's attribute name. */
    readonly key: string;
    readonly next: T;
    readonly expectedVersion: number | undefined;
    /** Attributes stored beside the record (index keys, the TTL), not part of it. */
    readonly extra: (written: T) => Record<string, unknown>;
    readonly reread: () => Promise<T | undefined>;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<T | undefined> {
  const { client, lib } = db;
  const { expectedVersion } = request;
  const written: T = { ...request.next, version: (expectedVersion ?? 0) + 1, writeId: randomUUID() };
  try {
    await client.send(
      new lib.PutCommand({
        TableName: request.table,
        Item: { ...written, ...request.extra(written) },
        ...(expectedVersion === undefined
          ? { ConditionExpression: `attribute_not_exists(${request.key})` }
          : {
              ConditionExpression: '#version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': expectedVersion },
            }),
      }),
      callOptions(request.signal),
    );
    return written;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    const stored = await request.reread();
    return stored?.writeId === written.writeId ? stored : undefined;
  }
}
