/**
 * A lossy HTTP proxy in front of a DynamoDB-protocol server (dynalite, `dynamodb-server.ts`): it
 * forwards every request, and for the ones `dropAnswer` picks it lets the write land, then destroys
 * the client's socket instead of answering, as a connection lost after DynamoDB committed. The
 * SDK's own retry (ECONNRESET is transient) then meets its own write: a conditional put answers
 * ConditionalCheckFailedException. It also gives dynalite what real DynamoDB has and dynalite
 * lacks: `ReturnValuesOnConditionCheckFailure: ALL_OLD` (the item that failed the condition, in
 * the error's `Item`).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './aws-stand-in';

export interface DynamoDbCall {
  /** `PutItem`, `GetItem`, `Query`, ... */
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

export interface LossyDynamoDb {
  readonly url: string;
  /** Every request forwarded, in order. */
  readonly calls: DynamoDbCall[];
  /** The requests whose answer was dropped after the write landed. */
  readonly dropped: DynamoDbCall[];
  /** Picks the requests whose answer is lost; undefined: none. */
  dropAnswer: ((call: DynamoDbCall) => boolean) | undefined;
  close(): Promise<void>;
}

interface Forwarded {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const TARGET = 'DynamoDB_20120810.';

function forward(upstream: URL, path: string, headers: IncomingHttpHeaders, body: Buffer) {
  return new Promise<Forwarded>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path,
        method: 'POST',
        headers: { ...headers, host: upstream.host, 'content-length': String(body.length) },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(chunks) }),
        );
        answer.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The key of an item, from a put's `Item` (the table's partition key `jobId`, or the request's `Key`). */
const keyOf = (input: Record<string, unknown>) => {
  if (input.Key !== undefined) return input.Key;
  const item = input.Item as Record<string, unknown> | undefined;
  return item && { jobId: item.jobId };
};

export async function startLossyDynamoDb(
  upstreamUrl: string,
  options: { readonly dropAnswer?: (call: DynamoDbCall) => boolean } = {},
): Promise<LossyDynamoDb> {
  const upstream = new URL(upstreamUrl);
  const calls: DynamoDbCall[] = [];
  const dropped: DynamoDbCall[] = [];
  const state = { dropAnswer: options.dropAnswer };
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(request.headers['x-amz-target'] ?? '');
    let input: Record<string, unknown> = {};
    try {
      input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      input = {};
    }
    const call: DynamoDbCall = { operation: target.replace(TARGET, ''), input };
    calls.push(call);
    try {
      let answer = await forward(upstream, request.url ?? '/', request.headers, body);
      if (state.dropAnswer?.(call)) {
        dropped.push(call);
        request.socket.destroy();
        return;
      }
      if (
        answer.status === 400 &&
        input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' &&
        answer.body.toString('utf8').includes('ConditionalCheckFailedException')
      ) {
        // dynalite ignores the parameter: fetch the item that failed the condition, as DynamoDB returns it.
        const get = Buffer.from(
          JSON.stringify({ TableName: input.TableName, Key: keyOf(input), ConsistentRead: true }),
        );
        const stored = await forward(
          upstream,
          '/',
          { ...request.headers, 'x-amz-target': `${TARGET}GetItem` },
          get,
        );
        const { Item } = JSON.parse(stored.body.toString('utf8')) as { Item?: unknown };
        const error = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
        const text = Buffer.from(JSON.stringify({ ...error, ...(Item !== undefined && { Item }) }));
        // A new body: its length and checksum are no longer dynalite's.
        const { 'x-amz-crc32': _, 'content-length': __, ...headers } = answer.headers;
        answer = { ...answer, headers: { ...headers, 'content-length': String(text.length) }, body: text };
      }
      response.writeHead(answer.status, answer.headers).end(answer.body);
    } catch (error) {
      response
        .writeHead(500, { 'content-type': 'application/x-amz-json-1.0' })
        .end(JSON.stringify({ __type: 'InternalServerError', message: String(error) }));
    }
  });
  const listening = await listenOnLoopback(server);
  return Object.assign(state, { url: listening.url, calls, dropped, close: listening.close });
}

/** Whether a call is a conditional PutItem of the job `jobId`. */
export const isConditionalPutOf = (jobId: number) => (call: DynamoDbCall) =>
  call.operation === 'PutItem' &&
  call.input.ConditionExpression !== undefined &&
  (call.input.Item as { jobId?: { N?: string } } | undefined)?.jobId?.N === String(jobId);

/** Drops the answer of the first call `matches` picks, once. */
export function once(matches: (call: DynamoDbCall) => boolean): (call: DynamoDbCall) => boolean {
  let done = false;
  return (call) => {
    if (done || !matches(call)) return false;
    done = true;
    return true;
  };
}
