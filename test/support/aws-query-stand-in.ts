/**
 * A loopback server speaking the AWS query protocol (CloudFormation, SNS): a signed POST of a
 * form-encoded body with `Action` and `Version`, answered in XML (`<ActionResponse><ActionResult>`,
 * lists as `<member>` elements), errors as `<ErrorResponse><Error><Code>`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { AwsError, listenOnLoopback, type StandIn } from './aws-stand-in';

export type QueryOperation = (input: URLSearchParams) => unknown | Promise<unknown>;

export interface QueryStandInOptions {
  /** The API version every request must name, e.g. `2010-05-15`. */
  readonly version: string;
  /** The XML namespace of the answers, e.g. `http://cloudformation.amazonaws.com/doc/2010-05-15/`. */
  readonly xmlns: string;
  readonly operations: Record<string, QueryOperation>;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An answer's value as query-protocol XML: objects as elements, arrays as `<member>` lists. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => `<${key}>${toXml(v)}</${key}>`)
      .join('');
  }
  return escapeXml(String(value));
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Starts a query-protocol stand-in on 127.0.0.1 with a free port. */
export async function startAwsQueryStandIn(options: QueryStandInOptions): Promise<StandIn> {
  const calls: StandIn['calls'] = [];
  const server = createServer(async (request, response) => {
    const form = await readForm(request);
    const send = (status: number, xml: string) => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
      response
        .writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) })
        .end(body);
    };
    const fail = (error: AwsError) =>
      send(
        error.status,
        `<ErrorResponse xmlns="${options.xmlns}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(error.type)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    const action = form.get('Action') ?? '';
    if (
      request.method !== 'POST' ||
      !String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ) {
      fail(new AwsError('InvalidAction', 'the query protocol is a form-encoded POST'));
      return;
    }
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      fail(new AwsError('MissingAuthenticationToken', 'request is not signed', 403));
      return;
    }
    if (form.get('Version') !== options.version) {
      fail(new AwsError('InvalidParameterValue', `Version must be ${options.version}`));
      return;
    }
    const handler = options.operations[action];
    if (!handler) {
      fail(new AwsError('InvalidAction', `${action} is not served by this stand-in`));
      return;
    }
    calls.push({ operation: action, input: Object.fromEntries(form) });
    try {
      const result = await handler(form);
      send(
        200,
        `<${action}Response xmlns="${options.xmlns}"><${action}Result>${toXml(result)}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (error) {
      fail(error instanceof AwsError ? error : new AwsError('InternalFailure', String(error), 500));
    }
  });
  return { ...(await listenOnLoopback(server)), calls };
}
