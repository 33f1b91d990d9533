/**
 * The one place errors become response bodies. Management API: `{detail, error_code, status_code}` (README
 * "Errors"). Non-exposed errors become a generic 500 naming the request id; the stack goes to the log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode, isJanuaError, JanuaError } from '../core/errors.js';
import type { OutageWatch } from '../core/store/outage.js';
import { DatabaseUnavailable, databaseUnavailable } from '../core/store/unavailable.js';
import { TEXT_PATTERNS, TEXT_RULES, type TextKind } from '../core/text.js';

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
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
};

interface AjvError {
  keyword?: string;
  instancePath?: string;
  params?: unknown;
  message?: string;
  /** With Ajv's `verbose` (the body validator): the value and the schema that refused it. */
  data?: unknown;
  parentSchema?: { required?: unknown };
}

/** Ajv's message, in the rule's own words where a regex or a bare type would say less. */
function validationMessage(first: AjvError | undefined): string {
  if (first?.keyword === 'pattern') {
    const pattern = (first.params as { pattern?: string }).pattern;
    const kind = (Object.keys(TEXT_PATTERNS) as TextKind[]).find((k) => TEXT_PATTERNS[k] === pattern);
    if (kind) return TEXT_RULES[kind];
  }
  // No body (or an empty one, which is the same: json-body.ts) where an object with fields belongs.
  const required = first?.parentSchema?.required;
  if (first?.keyword === 'type' && !first.instancePath && first.data == null && Array.isArray(required))
    return `must be a JSON object with ${required.join(', ')}`;
  return first?.message ?? 'is invalid';
}

function fromStatus(status: number): ErrorCode {
  const exact = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (exact) return exact[0];
  return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
}

/** Turns any thrown value into a JanuaError that is safe to show. */
export function toJanuaError(err: unknown): JanuaError {
  if (isJanuaError(err)) return err;
  // The database cannot be reached: 503 with Retry-After, whatever the driver said.
  const down = databaseUnavailable(err);
  if (down) return down;
  const fe = err as FastifyError & { validationContext?: string };
  if (fe?.validation) {
    const where = fe.validationContext ?? 'body';
    const first = fe.validation[0] as AjvError | undefined;
    const field =
      first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ||
      (first?.params as { missingProperty?: string })?.missingProperty ||
      where;
    const message = validationMessage(first);
    // The whole part is wrong (no body where an object belongs): "Invalid body: must be a JSON object …".
    const detail = field === where ? `Invalid ${where}: ${message}` : `Invalid ${where}: ${field} ${message}`;
    return new JanuaError('VALIDATION_ERROR', detail, { fields: { [field]: message } });
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

export function registerErrorHandling(
  app: FastifyInstance,
  opts: { shedDelayMs?: number; outage?: OutageWatch } = {},
): void {
  const shedDelayMs = opts.shedDelayMs ?? 0;
  let held = 0;
  app.setErrorHandler(async (raw, request, reply) => {
    const err = toJanuaError(raw);
    if (err.status >= 500 && err.code === 'INTERNAL_ERROR')
      request.log.error({ err: raw }, 'unhandled error');
    else if (err instanceof DatabaseUnavailable) {
      // The outage watch logs the outage once (and its end); each request it fails is a debug line.
      opts.outage?.observe(err.cause);
      request.log.debug({ code: err.code, reason: err.reason }, err.message);
    } else if (err.code === 'SERVICE_UNAVAILABLE' && err.retryAfter !== undefined) {
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
