/**
 * A Lambda handler of REST API (1.0) proxy events served on loopback, as API Gateway would serve
 * it under a stage: `http://127.0.0.1:PORT/{stage}/…` becomes the event's `path` without the stage,
 * `Set-Cookie` comes from the result's `multiValueHeaders`. For a browser driving the function.
 */
import { createServer } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { listenOnLoopback } from './aws-stand-in';

export interface RestApiServer {
  /** `http://127.0.0.1:PORT/{stage}`. */
  readonly url: string;
  readonly events: APIGatewayProxyEvent[];
  close(): Promise<void>;
}

export async function serveRestApiHandler(
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
  stage = 'github',
): Promise<RestApiServer> {
  const events: APIGatewayProxyEvent[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(`/${stage}/`)) {
      response
        .writeHead(403, { 'content-type': 'application/json' })
        .end('{"message":"Missing Authentication Token"}');
      return;
    }
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      const [name, value] = [request.rawHeaders[i] as string, request.rawHeaders[i + 1] as string];
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    // API Gateway tells the function how the browser reached it.
    headers['X-Forwarded-Proto'] = 'http';
    const query = Object.fromEntries(url.searchParams);
    const path = url.pathname.slice(stage.length + 1);
    const event = {
      resource: path,
      path,
      httpMethod: request.method ?? 'GET',
      headers,
      multiValueHeaders,
      queryStringParameters: Object.keys(query).length > 0 ? query : null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      requestContext: { stage, path: url.pathname, httpMethod: request.method ?? 'GET' },
      body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;
    events.push(event);
    const result = await handler(event);
    const outgoing: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) outgoing[name] = String(value);
    for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
      outgoing[name] = values.map(String);
    response.writeHead(result.statusCode, outgoing).end(result.body);
  });
  const listening = await listenOnLoopback(server);
  return { url: `${listening.url}/${stage}`, events, close: listening.close };
}
