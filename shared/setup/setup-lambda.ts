import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { lowerCaseHeaders } from '../webhook/http';
import type { SetupRequest, SetupResponse } from './handle-setup';

/**
 * A REST API (1.0) proxy event as a {@link SetupRequest}: the route, the query, lower-cased headers,
 * the body, and where the browser reached us (`Host` and `X-Forwarded-Proto`, which API Gateway
 * sets; the stage is the base path of every link and cookie).
 */
export function fromSetupEvent(event: APIGatewayProxyEvent): SetupRequest {
  const headers = lowerCaseHeaders(event.headers);
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const key = name.toLowerCase();
    // Browsers send one Cookie header; a client that sends several means all of them.
    if (values !== undefined && (headers[key] === undefined || key === 'cookie'))
      headers[key] = values.join(key === 'cookie' ? '; ' : ',');
  }
  const path = event.path ?? '/';
  const fullPath = event.requestContext?.path ?? path;
  const basePath = fullPath.endsWith(path) ? fullPath.slice(0, fullPath.length - path.length) : '';
  const raw = event.body ?? '';
  return {
    method: event.httpMethod ?? 'GET',
    path,
    query: { ...(event.queryStringParameters ?? {}) },
    headers,
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
    origin: `${headers['x-forwarded-proto'] ?? 'https'}://${headers.host ?? 'localhost'}`,
    basePath: basePath.replace(/\/+$/, ''),
  };
}

/** A {@link SetupResponse} as API Gateway's proxy result: each cookie its own `Set-Cookie`. */
export function toSetupResult(response: SetupResponse): APIGatewayProxyResult {
  return {
    statusCode: response.statusCode,
    headers: { ...response.headers },
    ...(response.cookies.length > 0 && { multiValueHeaders: { 'set-cookie': [...response.cookies] } }),
    body: response.body,
  };
}
