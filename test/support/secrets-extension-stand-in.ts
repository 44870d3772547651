/**
 * The AWS Parameters and Secrets Lambda Extension on loopback: `GET /secretsmanager/get?secretId=`
 * with the `X-Aws-Parameters-Secrets-Token` header, answering GetSecretValue's JSON. Like the real
 * one it refuses a request without the token, and it can be made awkward: not ready yet (it
 * answers 400 until its own start is done), or slow.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsExtensionStandIn {
  readonly port: number;
  /** The token it expects: the function's `AWS_SESSION_TOKEN`. */
  readonly token: string;
  readonly calls: string[];
  /** Answers 400 "not ready" while true. */
  notReady: boolean;
  /** Milliseconds before each answer. */
  delayMs: number;
  /** Answers 200 and then one space every 100 ms, never ending (a silence timeout never fires). */
  trickle: boolean;
  close(): Promise<void>;
}

export async function startSecretsExtensionStandIn(
  secrets: Record<string, string>,
  token = 'FwoGZXIvYXdzEBYaDStand+In/Session+Token==',
  /** Where it listens: the real extension's address is not documented, only `localhost`. */
  address = '127.0.0.1',
): Promise<SecretsExtensionStandIn> {
  const standIn = { notReady: false, delayMs: 0, trickle: false, calls: [] as string[] };
  const server = createServer((request, response) => {
    const answer = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      setTimeout(() => {
        if (!response.destroyed) response.writeHead(status, { 'content-type': 'application/json' }).end(text);
      }, standIn.delayMs);
    };
    if (standIn.trickle) {
      response.writeHead(200, { 'content-type': 'application/json' });
      const drip = setInterval(() => (response.destroyed ? clearInterval(drip) : response.write(' ')), 100);
      response.on('close', () => clearInterval(drip));
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.headers['x-aws-parameters-secrets-token'] !== token) {
      answer(401, 'missing or wrong X-Aws-Parameters-Secrets-Token');
      return;
    }
    if (request.method !== 'GET' || url.pathname !== '/secretsmanager/get') {
      answer(400, `unknown request ${request.method} ${url.pathname}`);
      return;
    }
    if (standIn.notReady) {
      answer(400, 'not ready to serve traffic, please wait');
      return;
    }
    const id = url.searchParams.get('secretId');
    if (!id) {
      answer(400, 'secretId is required');
      return;
    }
    standIn.calls.push(id);
    const value = secrets[id];
    if (value === undefined) {
      answer(400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
      return;
    }
    answer(200, {
      ARN: id,
      Name: id.split(':').pop(),
      SecretString: value,
      VersionId: 'v1',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: new Date().toISOString(),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  return Object.assign(standIn, {
    port: (server.address() as AddressInfo).port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
