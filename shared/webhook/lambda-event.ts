import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { lowerCaseHeaders, type WebhookRequest } from './http';

/** The events the webhook function is invoked with: REST API (1.0), HTTP API (2.0), function URL. */
export type WebhookLambdaEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2 | LambdaFunctionURLEvent;

/**
 * Turns any of the three event shapes into a {@link WebhookRequest}: method, lower-cased headers
 * and the exact body (decoded from base64 when the platform encoded it).
 */
export function fromLambdaEvent(event: WebhookLambdaEvent): WebhookRequest {
  // Anything else becomes an unsigned request, which the handler answers 401.
  if (typeof event !== 'object' || event === null) return { method: 'POST', headers: {}, body: '' };
  const method =
    'httpMethod' in event
      ? event.httpMethod
      : (event.requestContext as { http?: { method?: string } }).http?.method;
  const headers = lowerCaseHeaders(event.headers);
  if ('multiValueHeaders' in event) {
    for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
      const key = name.toLowerCase();
      if (headers[key] === undefined && values !== undefined) headers[key] = values.join(',');
    }
  }
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const context = event.requestContext as
    | { http?: { sourceIp?: string }; identity?: { sourceIp?: string } }
    | undefined;
  const sourceIp = context?.http?.sourceIp ?? context?.identity?.sourceIp;
  return { method: method ?? 'POST', headers, body, ...(sourceIp !== undefined && { sourceIp }) };
}
