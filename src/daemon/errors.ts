/**
 * The one place errors become response bodies. Management API: `{detail, error_code, status_code}` (README
 * "Errors"). Non-exposed errors become a generic 500 naming the request id; the stack goes to the log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode, isJanuaError, JanuaError } from '../core/errors.js';

export interface ErrorBody {
  detail: string;
  error_code: ErrorCode;
  status_code: number;
}

/** Fastify's own errors, by code, in our vocabulary. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
};

function fromStatus(status: number): ErrorCode {
  const exact = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (exact) return exact[0];
  return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
}

/** Turns any thrown value into a JanuaError that is safe to show. */
export function toJanuaError(err: unknown): JanuaError {
  if (isJanuaError(err)) return err;
  const fe = err as FastifyError & { validationContext?: string };
  if (fe?.validation) {
    const where = fe.validationContext ?? 'body';
    const first = fe.validation[0];
    const field =
      first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ||
      (first?.params as { missingProperty?: string })?.missingProperty ||
      where;
    return new JanuaError(
      'VALIDATION_ERROR',
      `Invalid ${where}: ${field} ${first?.message ?? 'is invalid'}`.trim(),
      {
        fields: { [field]: first?.message ?? 'invalid' },
      },
    );
  }
  if (err instanceof SyntaxError || fe?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new JanuaError('BAD_REQUEST', 'Request body is not valid JSON');
  }
  if (fe?.code && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code]!;
    return new JanuaError(code, code === 'PAYLOAD_TOO_LARGE' ? 'Request body is too large' : fe.message);
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) return new JanuaError(fromStatus(status), fe.message || 'Bad request');
  return new JanuaError('INTERNAL_ERROR', 'Internal server error', { cause: err });
}

export function errorBody(err: JanuaError, requestId: string): ErrorBody {
  const detail = err.expose ? err.message : `Internal server error (request id ${requestId})`;
  return { detail, error_code: err.code, status_code: err.status };
}

export function sendError(reply: FastifyReply, request: FastifyRequest, err: JanuaError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (err.code === 'AUTHENTICATION_ERROR' && request.headers.authorization === undefined)
    reply.header('www-authenticate', 'Bearer');
  if (err.code === 'TOKEN_ERROR') reply.header('www-authenticate', 'Bearer error="invalid_token"');
  return reply.status(err.status).type('application/json; charset=utf-8').send(errorBody(err, request.id));
}

/** Shed answers being held at once; past this they are sent at once (a held answer keeps a socket open). */
const MAX_HELD = 1024;

export function registerErrorHandling(app: FastifyInstance, opts: { shedDelayMs?: number } = {}): void {
  const shedDelayMs = opts.shedDelayMs ?? 0;
  let held = 0;
  app.setErrorHandler(async (raw, request, reply) => {
    const err = toJanuaError(raw);
    if (err.status >= 500 && err.code === 'INTERNAL_ERROR')
      request.log.error({ err: raw }, 'unhandled error');
    else if (err.code === 'SERVICE_UNAVAILABLE' && err.retryAfter !== undefined) {
      // Load shedding is the server working as designed: its access line (503) and
      // janua_password_hash_shed_total tell it; the reason is written at debug, not as a second info line.
      request.log.debug({ code: err.code }, err.message);
      // Pace the excess: a client that retries at once gets its answer after a short pause, so a retry
      // loop costs the server a few requests a second instead of taking the cores the hashes run on.
      if (shedDelayMs > 0 && held < MAX_HELD) {
        held++;
        try {
          await new Promise((resolve) => setTimeout(resolve, shedDelayMs));
        } finally {
          held--;
        }
      }
    } else if (err.status >= 500) request.log.warn({ code: err.code }, err.message);
    return sendError(reply, request, err);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      new JanuaError('NOT_FOUND_ERROR', `No route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
