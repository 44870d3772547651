import { HttpError } from '../errors';

/** A webhook request as plain data: what every platform adapter turns its event into. */
export interface WebhookRequest {
  readonly method: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The exact body GitHub signed, decoded as UTF-8. */
  readonly body: string;
  /** The caller's address as the platform saw it (API Gateway's `sourceIp`); undefined when unknown. */
  readonly sourceIp?: string | undefined;
}

/** A webhook answer as plain data: what every platform adapter turns into its response. */
export interface WebhookResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Lower-cases header names (API Gateway REST keeps GitHub's case, HTTP API lowers it). */
export function lowerCaseHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>> | null | undefined,
): Record<string, string | undefined> {
  const lower: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    lower[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return lower;
}

/** A JSON answer with a message an operator can act on, plus any detail fields. */
export function jsonResponse(
  statusCode: number,
  message: string,
  detail: Record<string, unknown> = {},
): WebhookResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, ...detail }),
  };
}

/** Turns an error into the answer: its own status for an {@link HttpError}, else a generic 500. */
export function errorResponse(error: unknown): WebhookResponse {
  if (error instanceof HttpError) return jsonResponse(error.statusCode, error.message);
  return jsonResponse(500, 'internal error; the delivery was not handled, see the function log');
}
