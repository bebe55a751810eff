import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../shared/logger';
import { ServiceError, describeError } from '../shared/errors';

/** body-parser's errors carry a `type`; map the ones a client can cause to our codes. */
function fromBodyParser(error: {
  type?: unknown;
  limit?: unknown;
  status?: unknown;
}): ServiceError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new ServiceError('bad_request', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new ServiceError(
        'payload_too_large',
        `the request body is over ${String(error.limit)} bytes`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ServiceError('unsupported_media_type', 'send the body as UTF-8 JSON');
    case 'request.aborted':
      return new ServiceError('bad_request', 'the request was aborted');
  }

  // Other errors Express or body-parser mark as the client's: a path segment that is not valid
  // percent-encoding (URIError), a body that is not the gzip its Content-Encoding says.
  if (error.status === 400) {
    return new ServiceError(
      'bad_request',
      `the request could not be read: ${describeError(error)}`,
    );
  }
  return undefined;
}

export function validationError(error: z.ZodError, what: string): ServiceError {
  const details = error.issues
    .map((issue) =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    .join('; ');
  return new ServiceError('bad_request', `invalid ${what}: ${details}`, { cause: error });
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ServiceError('not_found', `no route for ${req.method} ${req.path}`));
};

/** For `.all()` after a route's methods: names the full path and sets `Allow`. */
export function methodNotAllowed(...allowed: ('GET' | 'POST')[]): RequestHandler {
  const allow = allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
  return (req, res, next) => {
    res.setHeader('Allow', allow.join(', '));
    const path = `${req.baseUrl}${req.path}`;
    const message = `${req.method} is not allowed on ${path}; use ${allow.join(', ')}`;
    next(new ServiceError('method_not_allowed', message));
  };
}

/** The one place where errors become `{error: {code, message}}` responses; no stack traces. */
export function errorResponder(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known =
      error instanceof ServiceError
        ? error
        : error instanceof z.ZodError
          ? validationError(error, 'request')
          : typeof error === 'object' && error !== null
            ? fromBodyParser(error)
            : undefined;
    const served = known ?? new ServiceError('internal', 'internal error; see the service log');
    if (!known) log.error({ err: error, method: req.method, path: req.path }, 'request failed');
    else if (served.status >= 500) log.warn({ code: served.code, path: req.path }, served.message);

    if (served.retryAfterS !== undefined) res.setHeader('Retry-After', String(served.retryAfterS));
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(served.status).json({ error: served.toJSON() });
  };
}
