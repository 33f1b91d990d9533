/**
 * Typed errors of the core. Every failure that may reach a client carries a stable `code` from
 * `ErrorCode`; the daemon turns it into the documented body `{detail, error_code, status_code}` and the
 * CLI into an exit code. README's "Errors" table lists exactly these codes (test/unit/error-table.test.ts).
 */

/** Every code a client can see, with the HTTP status it is answered with. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  AUTHENTICATION_ERROR: 401,
  TOKEN_ERROR: 401,
  AUTHORIZATION_ERROR: 403,
  NOT_FOUND_ERROR: 404,
  CONFLICT_ERROR: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_ERROR: 422,
  RATE_LIMIT_ERROR: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface JanuaErrorOptions {
  /** Seconds a client should wait before retrying (429/503); sent as `Retry-After`. */
  retryAfter?: number;
  /** Extra, non-secret fields for validation errors (which field failed). */
  fields?: Record<string, string>;
  cause?: unknown;
}

export class JanuaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Whether `message` may be shown to the caller. Internal errors never are. */
  readonly expose: boolean;
  readonly retryAfter: number | undefined;
  readonly fields: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail: string, options: JanuaErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JanuaError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.expose = code !== 'INTERNAL_ERROR';
    this.retryAfter = options.retryAfter;
    this.fields = options.fields;
  }
}

export const badRequest = (detail: string) => new JanuaError('BAD_REQUEST', detail);
export const notFound = (detail: string) => new JanuaError('NOT_FOUND_ERROR', detail);
export const conflict = (detail: string) => new JanuaError('CONFLICT_ERROR', detail);
export const validation = (detail: string, fields?: Record<string, string>) =>
  new JanuaError('VALIDATION_ERROR', detail, fields ? { fields } : {});
export const unauthenticated = (detail = 'Invalid email or password') =>
  new JanuaError('AUTHENTICATION_ERROR', detail);
export const tokenError = (detail = 'Invalid or expired token') => new JanuaError('TOKEN_ERROR', detail);
export const forbidden = (detail = 'Permission denied') => new JanuaError('AUTHORIZATION_ERROR', detail);

export function isJanuaError(err: unknown): err is JanuaError {
  return err instanceof JanuaError;
}
