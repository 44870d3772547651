/**
 * One S3 object behind a presigned GET URL and a presigned DELETE URL, on 127.0.0.1: the config
 * object a standby runner task polls for until a job claims its instance. It answers as S3 does:
 * a GET before the object exists is 403 AccessDenied, not 404 (the signer has no s3:ListBucket),
 * a GET after is 200 with the object, a DELETE is 204 whether or not it exists, and a request
 * whose signature is not the one of its method's URL is 403 SignatureDoesNotMatch (S3 signs the
 * method too). The URLs have the query of the SDK's presigner, signatures included.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PresignedRequest {
  readonly method: string;
  /** The path, without the query (the signature). */
  readonly path: string;
  readonly status: number;
}

export interface PresignedObjectStandIn {
  readonly getUrl: string;
  readonly deleteUrl: string;
  /** The signatures of the two URLs: what holds them can read or delete the object. */
  readonly signatures: readonly string[];
  readonly requests: PresignedRequest[];
  /** Writes the object, as the capacity function does when a job claims the instance. */
  put(body: string): void;
  /** The object, while it exists. */
  body(): string | undefined;
  /** The next `count` GETs answer `status` (S3's transient 500 InternalError, 503 SlowDown). */
  failNextGets(count: number, status?: number): void;
  close(): Promise<void>;
}

export interface PresignedObjectOptions {
  /** Runs before each request is answered: to look at the world while the request is in flight. */
  readonly beforeAnswer?: (request: IncomingMessage) => Promise<void>;
}

const BUCKET = 'github-runners-config-123456789012';

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
  `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;

const ERRORS: Record<number, string> = {
  403: s3Error('AccessDenied', 'Access Denied'),
  500: s3Error('InternalError', 'We encountered an internal error. Please try again.'),
  503: s3Error('SlowDown', 'Please reduce your request rate.'),
};

export async function startPresignedObjectStandIn(
  options: PresignedObjectOptions = {},
): Promise<PresignedObjectStandIn> {
  const key = `runner-config/${randomBytes(16).toString('hex')}.env`;
  const path = `/${BUCKET}/${key}`;
  const signatureOf = { GET: randomBytes(32).toString('hex'), DELETE: randomBytes(32).toString('hex') };
  const requests: PresignedRequest[] = [];
  let object: string | undefined;
  let failures: { count: number; status: number } = { count: 0, status: 500 };

  const answer = (request: IncomingMessage): [number, string] => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const method = request.method === 'GET' || request.method === 'DELETE' ? request.method : undefined;
    if (method === undefined || url.pathname !== path) return [403, ERRORS[403] ?? ''];
    if (url.searchParams.get('X-Amz-Signature') !== signatureOf[method]) {
      return [403, s3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match.')];
    }
    if (method === 'DELETE') {
      object = undefined;
      return [204, ''];
    }
    if (failures.count > 0) {
      failures = { ...failures, count: failures.count - 1 };
      return [failures.status, ERRORS[failures.status] ?? ''];
    }
    return object === undefined ? [403, ERRORS[403] ?? ''] : [200, object];
  };

  const server = createServer((request, response) => {
    request.resume();
    request.on('end', async () => {
      await options.beforeAnswer?.(request);
      const [status, body] = answer(request);
      requests.push({
        method: request.method ?? '',
        path: new URL(request.url ?? '/', 'http://stand-in').pathname,
        status,
      });
      const type = status === 200 ? 'binary/octet-stream' : 'application/xml';
      response.writeHead(status, body === '' ? {} : { 'content-type': type }).end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const presigned = (method: 'GET' | 'DELETE') => {
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
      'X-Amz-Credential': 'ASIAEXAMPLECAPACITY0/20260101/us-east-1/s3/aws4_request',
      'X-Amz-Date': '20260101T000000Z',
      'X-Amz-Expires': '3600',
      'X-Amz-Security-Token': `IQoJb3JpZ2luX2VjE${randomBytes(24).toString('base64url')}`,
      'X-Amz-Signature': signatureOf[method],
      'X-Amz-SignedHeaders': 'host',
      'x-id': method === 'GET' ? 'GetObject' : 'DeleteObject',
    });
    return `http://127.0.0.1:${port}${path}?${query}`;
  };
  return {
    getUrl: presigned('GET'),
    deleteUrl: presigned('DELETE'),
    signatures: [signatureOf.GET, signatureOf.DELETE],
    requests,
    put: (body) => {
      object = body;
    },
    body: () => object,
    failNextGets: (count, status = 500) => {
      failures = { count, status };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
