/**
 * A loopback server speaking the AWS JSON protocol (`X-Amz-Target`, JSON body, `__type` errors),
 * so the real SDK clients can be driven in tests. Each service stand-in registers its operations.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error answer as AWS writes it. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** What a fault hook may do to a request before the operation runs. */
export type Fault =
  | { readonly kind: 'error'; readonly type: string; readonly status: number; readonly message?: string }
  | { readonly kind: 'hangup' }
  /** The operation runs (a task starts), then the connection drops before the answer. */
  | { readonly kind: 'hangup-after' }
  | { readonly kind: 'delay'; readonly ms: number }
  /** The operation runs at once (a task starts); its answer comes `ms` later, after the caller gave up. */
  | { readonly kind: 'answer-late'; readonly ms: number };

export type Operation = (input: Record<string, unknown>) => unknown | Promise<unknown>;

export interface StandIn {
  readonly url: string;
  readonly calls: Array<{ readonly operation: string; readonly input: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** e.g. `AmazonEC2ContainerServiceV20141113` or `secretsmanager`. */
  readonly targetPrefix: string;
  readonly contentType: string;
  readonly operations: Record<string, Operation>;
  /** Called for every request; a returned fault replaces or delays the answer. */
  readonly fault?: (operation: string, input: Record<string, unknown>) => Fault | undefined;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function send(response: ServerResponse, status: number, contentType: string, body: unknown) {
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** Starts a stand-in on 127.0.0.1 with a free port. */
export async function startAwsStandIn(options: StandInOptions): Promise<StandIn> {
  const calls: StandIn['calls'] = [];
  // Answers held back (`delay`, `answer-late`): cut short when the stand-in closes.
  const held = new Set<() => void>();
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      held.add(release);
    });
  const server: Server = createServer(async (request, response) => {
    const target = request.headers['x-amz-target'];
    const input = await readJson(request).catch(() => undefined);
    const error = (e: AwsError) =>
      send(response, e.status, options.contentType, { __type: e.type, message: e.message });
    if (typeof target !== 'string' || !target.startsWith(`${options.targetPrefix}.`) || input === undefined) {
      error(new AwsError('UnknownOperationException', `bad target ${String(target)} or body`));
      return;
    }
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      error(new AwsError('MissingAuthenticationTokenException', 'request is not signed'));
      return;
    }
    const operation = target.slice(options.targetPrefix.length + 1);
    const handler = options.operations[operation];
    if (!handler) {
      error(new AwsError('UnknownOperationException', `${operation} is not served by this stand-in`));
      return;
    }
    calls.push({ operation, input });
    const fault = options.fault?.(operation, input);
    if (fault?.kind === 'hangup') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'error') {
      error(new AwsError(fault.type, fault.message ?? fault.type, fault.status));
      return;
    }
    if (fault?.kind === 'delay') await hold(fault.ms);
    try {
      const output = await handler(input);
      if (fault?.kind === 'answer-late') await hold(fault.ms);
      if (fault?.kind === 'hangup-after') {
        request.socket.destroy();
        return;
      }
      send(response, 200, options.contentType, output);
    } catch (e) {
      if (e instanceof AwsError) error(e);
      else error(new AwsError('InternalFailure', String(e), 500));
    }
  });
  const listening = await listenOnLoopback(server);
  return {
    ...listening,
    calls,
    close: () => {
      for (const release of [...held]) release();
      return listening.close();
    },
  };
}

/** Starts a stand-in's server on 127.0.0.1 with a free port; `close` drops its kept-alive connections. */
export async function listenOnLoopback(server: Server): Promise<Pick<StandIn, 'url' | 'close'>> {
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
