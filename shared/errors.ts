/**
 * Errors that carry the HTTP status the webhook answers with. One mapper
 * ({@link toErrorResponse} in `webhook/responses.ts`) turns them into responses; anything
 * else is a 500 with a generic body and the detail in the log.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 400: the request is not a usable webhook delivery (empty, not JSON, fields missing). */
export class BadRequestError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(400, message, options);
  }
}

/** 401: the delivery is not signed with our secret; nothing else is done. */
export class UnauthorizedError extends HttpError {
  constructor(message: string) {
    super(401, message);
  }
}

/** 403: the delivery comes from outside the allowed source ranges (`WEBHOOK_ALLOWED_CIDRS`). */
export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, message);
  }
}

/** 405: the webhook only takes POST. */
export class MethodNotAllowedError extends HttpError {
  constructor(method: string) {
    super(405, `method ${method} is not allowed; GitHub delivers webhooks with POST`);
  }
}

/** 415: the webhook was configured with a content type other than JSON. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string) {
    super(
      415,
      `content type ${contentType} is not supported; set the webhook's content type to application/json`,
    );
  }
}

/** 503: a dependency (ECS, Secrets Manager) could not do its part in time; the delivery can be retried. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(503, message, options);
  }
}

/** The environment does not describe a working configuration; thrown at cold start. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** An error's message for a log line or an answer; anything thrown that is not an Error, as text. */
export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
