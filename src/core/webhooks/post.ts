/**
 * One HTTP attempt of a delivery, with undici: a POST of the stored body, bounded everywhere — connect
 * (WEBHOOK_CONNECT_TIMEOUT_SECONDS, in the connector), the whole attempt (WEBHOOK_TIMEOUT_SECONDS, an
 * AbortSignal), the answer read (WEBHOOK_MAX_RESPONSE_BYTES, then the connection is dropped) — never following
 * a redirect (undici's `request` does not; a 3xx is a failed attempt: the subscription names its URL, and a
 * redirect would be a way around the SSRF guard). Success is a 2xx.
 */
import { Agent, type Dispatcher, request } from 'undici';
import type { JanuaConfig } from '../config/schema.js';
import { JANUA_VERSION } from '../version.js';
import { guardedConnector } from './outbound.js';

/** How much of an answer is kept on the delivery (for the operator to read). */
export const KEPT_RESPONSE_BYTES = 1024;
export const USER_AGENT = `Janua-Webhooks/${JANUA_VERSION}`;

export type PostConfig = Pick<
  JanuaConfig,
  | 'webhookTimeoutSeconds'
  | 'webhookConnectTimeoutSeconds'
  | 'webhookMaxResponseBytes'
  | 'webhookAllowPrivateTargets'
>;

export interface AttemptResult {
  ok: boolean;
  /** The answer's status, when one came. */
  status: number | null;
  /** The first KEPT_RESPONSE_BYTES of the answer (UTF-8, lossy), when one came. */
  body: string | null;
  latencyMs: number;
  /** Why the attempt failed (null on success). */
  error: string | null;
}

/** One dispatcher per process: connections to an endpoint are kept alive between its deliveries. */
export function webhookDispatcher(cfg: PostConfig): Agent {
  const timeoutMs = cfg.webhookTimeoutSeconds * 1000;
  return new Agent({
    connect: guardedConnector({
      connectTimeoutMs: cfg.webhookConnectTimeoutSeconds * 1000,
      allowPrivate: cfg.webhookAllowPrivateTargets,
    }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
  });
}

/** The message of an error and of its causes (undici wraps the connector's), once each. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const msg = e instanceof Error ? e.message || e.name : String(e);
    if (msg && !parts.includes(msg)) parts.push(msg);
    e = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ').slice(0, 1000) || 'unknown error';
}

export async function postOnce(
  dispatcher: Dispatcher,
  cfg: PostConfig,
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<AttemptResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const timeoutMs = cfg.webhookTimeoutSeconds * 1000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  let status: number | null = null;
  let kept: Buffer | null = null;
  try {
    const res = await request(url, { method: 'POST', headers, body, dispatcher, signal: both });
    status = res.statusCode;
    kept = await readCapped(res.body, cfg.webhookMaxResponseBytes);
    const ok = status >= 200 && status < 300;
    return {
      ok,
      status,
      body: kept.toString('utf8'),
      latencyMs: latency(),
      error: ok
        ? null
        : status >= 300 && status < 400
          ? `answered ${status} (redirects are not followed)`
          : `answered ${status}`,
    };
  } catch (err) {
    const error = timeout.aborted
      ? `no complete answer within ${cfg.webhookTimeoutSeconds} s (WEBHOOK_TIMEOUT_SECONDS)`
      : describeError(err);
    return { ok: false, status, body: kept?.toString('utf8') ?? null, latencyMs: latency(), error };
  }
}

/**
 * Reads at most `cap` bytes of the answer, keeping the first KEPT_RESPONSE_BYTES; past the cap the stream is
 * destroyed, which drops the connection (a receiver streaming without end cannot hold the attempt).
 */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<Buffer> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let read = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    read += chunk.length;
    if (keptBytes < KEPT_RESPONSE_BYTES) {
      const part = chunk.subarray(0, KEPT_RESPONSE_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (read >= cap) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept);
}
