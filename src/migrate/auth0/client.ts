/**
 * The Auth0 Management API, read-only, through the `auth0` package's ManagementClient. What this file adds to
 * the package: a client-credentials token we own (fetched again when it nears expiry or when a 401 says it is
 * no longer valid — the package's own provider only watches the clock), and one retry policy for every call
 * (429 waits for `Retry-After` / `x-ratelimit-reset`; 408, 5xx and network errors back off exponentially with
 * jitter; bounded attempts). The package's own retries are off so the two policies do not multiply.
 * Errors name the call and Auth0's answer, never the client secret or a token.
 */
import { ManagementClient, ManagementError, ManagementTimeoutError } from 'auth0';
import { Agent, type Dispatcher, fetch as undiciFetch } from 'undici';

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  attempts: number;
  /** First backoff (doubled per attempt, with jitter), and its cap. */
  baseMs: number;
  maxMs: number;
  /** Longest wait a 429 may ask for; beyond it the wait is capped (and retried). */
  maxRateLimitWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 8,
  baseMs: 500,
  maxMs: 30_000,
  maxRateLimitWaitMs: 60_000,
};

export type Auth0ClientEvent =
  | {
      type: 'retry';
      what: string;
      reason: 'rate_limited' | 'server_error' | 'network';
      status?: number;
      attempt: number;
      waitMs: number;
    }
  | { type: 'token'; reason: 'initial' | 'expiring' | 'rejected' };

export interface Auth0ClientOptions {
  /** The tenant: `example.eu.auth0.com` or `host:port` (a scheme and trailing slash are tolerated). */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** Management API audience (default `https://{domain}/api/v2/`; set it when `domain` is a custom domain). */
  audience?: string;
  /** Test only: a PEM CA to trust. The spawned binary trusts a test CA through NODE_EXTRA_CA_CERTS instead. */
  ca?: string;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  onEvent?: (e: Auth0ClientEvent) => void;
}

/** A failed call to Auth0; `status` is Auth0's HTTP status when it answered. */
export class Auth0Error extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'Auth0Error';
  }
}

export function normalizeDomain(raw: string): string {
  const d = raw
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/\/+$/, '');
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(d))
    throw new Auth0Error(`Not an Auth0 domain: "${d.slice(0, 100)}"`);
  return d.toLowerCase();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fetch = typeof fetch;

/** Classified failure: what the retry loop does with it. */
type Failure =
  | { kind: 'auth'; status: number; detail: string }
  | { kind: 'rate'; status: 429; waitMs?: number; detail: string }
  | { kind: 'transient'; status?: number; detail: string }
  | { kind: 'fatal'; status?: number; detail: string };

export class Auth0Client {
  readonly domain: string;
  readonly mgmt: ManagementClient;
  readonly policy: RetryPolicy;
  /** The fetch every request uses (with the test CA when given); also used for the export download. */
  readonly fetch: Fetch;
  readonly dispatcher: Dispatcher | undefined;
  private token: { value: string; refreshAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;

  constructor(private readonly opts: Auth0ClientOptions) {
    this.domain = normalizeDomain(opts.domain);
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.dispatcher = opts.ca ? new Agent({ connect: { ca: opts.ca } }) : undefined;
    const dispatcher = this.dispatcher;
    this.fetch = ((url: string | URL | Request, init?: RequestInit) =>
      undiciFetch(url as string, {
        ...(init as object),
        ...(dispatcher ? { dispatcher } : {}),
      })) as unknown as Fetch;
    this.mgmt = new ManagementClient({
      domain: this.domain,
      token: () => this.accessToken(),
      fetch: this.fetch,
      maxRetries: 0,
      timeoutInSeconds: Math.ceil((opts.timeoutMs ?? 30_000) / 1000),
      telemetry: false,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  /** A Management API token: cached until shortly before it expires; one request at a time. */
  async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return this.token.value;
    this.opts.onEvent?.({ type: 'token', reason: this.token ? 'expiring' : 'initial' });
    this.pendingToken ??= this.retrying('POST /oauth/token', () => this.fetchToken()).finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  /** Forgets the token (after a 401): the next call fetches a new one. */
  invalidateToken(): void {
    this.token = undefined;
    this.opts.onEvent?.({ type: 'token', reason: 'rejected' });
  }

  private async fetchToken(): Promise<string> {
    const res = await this.fetch(`https://${this.domain}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: this.opts.clientId,
        client_secret: this.opts.clientSecret,
        audience: this.opts.audience ?? `https://${this.domain}/api/v2/`,
      }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new TokenFailure(
        res.status,
        res.headers,
        `${body['error'] ?? ''} ${body['error_description'] ?? ''}`.trim(),
      );
    const value = body['access_token'];
    if (typeof value !== 'string' || !value)
      throw new TokenFailure(502, res.headers, 'no access_token in the answer');
    const ttlMs = Math.max(1, Number(body['expires_in'] ?? 86_400)) * 1000;
    // Refresh a little ahead of expiry (a minute, or a quarter of a short lifetime).
    this.token = { value, refreshAt: Date.now() + ttlMs - Math.min(60_000, ttlMs / 4) };
    return value;
  }

  /**
   * Runs one Management API call under the retry policy: a 401 gets a new token (twice at most), 429 waits
   * as told, 408/5xx/network errors back off; anything else fails at once with a clear message.
   */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let rejected = 0;
    return this.retrying(what, fn, (f) => {
      if (f.kind !== 'auth' || rejected++ >= 2) return false;
      this.invalidateToken();
      return true;
    });
  }

  private async retrying<T>(
    what: string,
    fn: () => Promise<T>,
    onAuth?: (f: Failure) => boolean,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // Already explained (e.g. the token request under this call gave up): pass it on as it is.
        if (err instanceof Auth0Error) throw err;
        const f = classify(err);
        if (f.kind === 'auth' && onAuth?.(f)) continue;
        if (f.kind === 'auth' || f.kind === 'fatal' || attempt >= this.policy.attempts)
          throw new Auth0Error(
            this.redact(
              `Auth0 ${what} failed${attempt > 1 ? ` after ${attempt} attempts` : ''}: ${f.detail}`,
            ),
            f.status,
          );
        const backoff = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** (attempt - 1));
        const jittered = backoff / 2 + Math.random() * (backoff / 2);
        const waitMs =
          f.kind === 'rate' && f.waitMs !== undefined
            ? Math.min(f.waitMs, this.policy.maxRateLimitWaitMs)
            : jittered;
        const reason = f.kind === 'rate' ? 'rate_limited' : f.status ? 'server_error' : 'network';
        this.opts.onEvent?.({
          type: 'retry',
          what,
          reason,
          status: f.status,
          attempt,
          waitMs: Math.round(waitMs),
        });
        await sleep(waitMs);
      }
    }
  }

  /** Belt and braces: no message leaves with the secret or the token in it, whatever Auth0 echoed. */
  redact(message: string): string {
    let out = message;
    for (const s of [this.opts.clientSecret, this.token?.value])
      if (s && s.length >= 4) out = out.split(s).join('[redacted]');
    return out;
  }

  /** Offset-paged list (`page`, `per_page`, `include_totals`): pages until a short page or the total. */
  async *offsetList<T>(
    what: string,
    load: (page: number, perPage: number) => Promise<{ items: T[]; total?: number }>,
    perPage = 100,
  ): AsyncGenerator<T> {
    let seen = 0;
    for (let page = 0; ; page++) {
      const { items, total } = await this.call(`GET ${what} (page ${page})`, () => load(page, perPage));
      yield* items;
      seen += items.length;
      if (items.length < perPage || (total !== undefined && seen >= total)) return;
    }
  }

  /** Checkpoint-paged list (`from`, `take`): follows `next` until Auth0 stops sending one. */
  async *checkpointList<T>(
    what: string,
    load: (from: string | undefined, take: number) => Promise<{ items: T[]; next?: string }>,
    take = 100,
  ): AsyncGenerator<T> {
    let from: string | undefined;
    for (;;) {
      const { items, next } = await this.call(`GET ${what}`, () => load(from, take));
      yield* items;
      if (!next || next === from) return;
      from = next;
    }
  }
}

/** A refused or failed token request, classified like a Management API answer. */
class TokenFailure extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    detail: string,
  ) {
    super(`${status}${detail ? ` ${detail}` : ''}`);
  }
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ra = headers?.get('retry-after');
  if (ra) {
    const s = Number(ra);
    if (Number.isFinite(s) && s >= 0) return s * 1000;
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  const reset = Number(headers?.get('x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - Date.now());
  return undefined;
}

function describeBody(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const parts = [b['error'], b['message'] ?? b['error_description'], b['errorCode']].filter(
      (x) => typeof x === 'string',
    );
    if (parts.length) return parts.join(': ').slice(0, 300);
  }
  return typeof body === 'string' ? body.slice(0, 300) : '';
}

/** A certificate the process does not trust will not become trusted by retrying: fail at once. */
const TLS_CODE = /CERT|SIGNATURE|ALTNAME|SELF_SIGNED/;
const untrusted = (code: string): Failure => ({
  kind: 'fatal',
  detail: `TLS error (${code}): the tenant's certificate is not trusted (NODE_EXTRA_CA_CERTS adds a CA)`,
});

/** The system error code under an error's cause chain (fetch failed → ECONNREFUSED, CERT_HAS_EXPIRED…). */
function causeCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; i < 4 && e; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

function classify(err: unknown): Failure {
  let status: number | undefined;
  let headers: Headers | undefined;
  let detail: string;
  if (err instanceof TokenFailure) {
    status = err.status;
    headers = err.headers;
    detail = `the token endpoint answered ${err.message}`;
    // A refused client (bad id or secret, or not authorized) is not worth retrying; nor worth a new token.
    if (status === 401 || status === 403)
      return {
        kind: 'fatal',
        status,
        detail: `${detail} (check the client id, secret and the application's grant)`,
      };
  } else if (err instanceof ManagementTimeoutError) {
    return { kind: 'transient', detail: 'timed out' };
  } else if (err instanceof ManagementError) {
    status = err.statusCode;
    headers = err.rawResponse?.headers;
    if (status === undefined) {
      const code = causeCode(err);
      if (code && TLS_CODE.test(code)) return untrusted(code);
      return {
        kind: 'transient',
        detail: `network error (${String(err.message).slice(0, 200)}${code ? `: ${code}` : ''})`,
      };
    }
    detail = `${status}${describeBody(err.body) ? ` ${describeBody(err.body)}` : ''}`;
  } else {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const cause = e?.cause?.code ?? e?.cause?.message ?? '';
    const code = causeCode(err);
    if (code && TLS_CODE.test(code)) return untrusted(code);
    return {
      kind: 'transient',
      detail: `network error (${String(e?.message ?? e).slice(0, 200)}${cause ? `: ${cause}` : ''})`,
    };
  }
  if (status === 401) return { kind: 'auth', status, detail };
  if (status === 429) return { kind: 'rate', status, waitMs: retryAfterMs(headers), detail };
  if (status === 408 || (status !== undefined && status >= 500)) return { kind: 'transient', status, detail };
  return { kind: 'fatal', status, detail };
}
