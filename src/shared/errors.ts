/** Stable error codes, in HTTP bodies and IPC replies: clients may branch on them. */
export type ErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'worker_unavailable'
  | 'worker_timeout'
  | 'shutting_down'
  | 'session_not_ready'
  | 'browser_not_found'
  | 'send_failed'
  | 'internal';

const statusByCode: Record<ErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  conflict: 409,
  worker_unavailable: 503,
  worker_timeout: 504,
  shutting_down: 503,
  session_not_ready: 409,
  browser_not_found: 503,
  send_failed: 502,
  internal: 500,
};

/** The one error class of the service: a stable code, the HTTP status derived from it, a cause. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying, for 503s. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterS?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = statusByCode[code];
    this.retryAfterS = options?.retryAfterS;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Turns anything thrown (including whatsapp-web.js's thrown strings) into a readable message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;

  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return value in statusByCode;
}
