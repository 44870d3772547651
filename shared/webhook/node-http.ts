import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { WebhookHandler } from './handle-webhook';
import { jsonResponse, lowerCaseHeaders, type WebhookResponse } from './http';

/** GitHub caps a webhook payload at 25 MB; a larger body is not from GitHub. */
const MAX_BODY_BYTES = 25 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The webhook behind `node:http`, at `POST {path}`: what `npm start` serves on loopback; `GET
 * /status` answers with `status()` (the local ledger, for `npm run status -- --url`).
 */
export function createWebhookServer(
  handler: WebhookHandler,
  path = '/webhook',
  status?: () => Promise<unknown>,
): Server {
  return createServer(async (request, response) => {
    const send = ({ statusCode, headers, body }: WebhookResponse) => {
      response.writeHead(statusCode, headers).end(body);
    };
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (status && url.pathname === '/status' && request.method === 'GET') {
      const body = JSON.stringify(await status());
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (url.pathname !== path) {
      send(jsonResponse(404, `nothing at ${url.pathname}; the webhook is POST ${path}`));
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      send(jsonResponse(413, `the body is larger than GitHub's ${MAX_BODY_BYTES} byte limit`));
      return;
    }
    send(
      await handler({ method: request.method ?? 'GET', headers: lowerCaseHeaders(request.headers), body }),
    );
  });
}
