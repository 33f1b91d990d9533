/**
 * Shared pieces of the end-to-end suites: a small HTTP client over undici for a spawned daemon, the
 * documented error-body check, and direct database access (the real store) for what the API does not show.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before } from 'node:test';
import { type Dispatcher, request } from 'undici';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Daemon, startDaemon } from '../helpers/janua.js';

export const PASSWORD = 'SecurePass123!x';
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const AUTH = '/api/v1/auth';

/** The fields API.md's "Client compatibility" section lists for the user object. */
export const USER_FIELDS = [
  'id',
  'email',
  'email_verified',
  'username',
  'first_name',
  'last_name',
  'name',
  'display_name',
  'profile_image_url',
  'phone_number',
  'phone_verified',
  'timezone',
  'locale',
  'status',
  'mfa_enabled',
  'is_admin',
  'created_at',
  'updated_at',
  'last_sign_in_at',
  'user_metadata',
].sort();

export function uniqueEmail(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.com`;
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the tests.
  body: any;
}

export interface CallOptions {
  /** A value to send as JSON, or a string to send as it is (with a JSON content type). */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export function client(d: Pick<Daemon, 'url'>) {
  return async function call(
    method: Dispatcher.HttpMethod,
    path: string,
    opts: CallOptions = {},
  ): Promise<Res> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    }
    if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
    const {
      statusCode,
      headers: resHeaders,
      text,
    } = body !== undefined && body.length > LARGE_BODY
      ? await sendLarge(`${d.url}${path}`, method, headers, body)
      : await request(`${d.url}${path}`, { method, headers, body }).then(async (r) => ({
          statusCode: r.statusCode,
          headers: r.headers,
          text: await r.body.text(),
        }));
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: statusCode, headers: resHeaders, text, body: parsed };
  };
}

export type Call = ReturnType<typeof client>;

/** Bodies above this go through sendLarge. */
const LARGE_BODY = 1024 * 1024;

/**
 * A request whose body the server may refuse on its Content-Length alone (413): it answers and closes
 * without reading the body, and a client still writing megabytes then gets EPIPE or a reset that can discard
 * the answer. So only the first 64 KiB go out at first (they fit in the socket buffers); the rest follows only
 * if no answer came within two seconds (a server that reads the whole body).
 */
function sendLarge(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ statusCode: number; headers: IncomingHttpHeaders; text: string }> {
  const bytes = Buffer.from(body);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method, headers: { ...headers, 'content-length': bytes.length } });
    const rest = setTimeout(() => req.end(bytes.subarray(64 * 1024)), 2_000);
    req.on('response', (res) => {
      answered = true;
      clearTimeout(rest);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      clearTimeout(rest);
      if (!answered) reject(err);
    });
    req.write(bytes.subarray(0, 64 * 1024));
  });
}

/** The management API's one error format: exactly {detail, error_code, status_code}, status_code = HTTP status. */
export function assertError(res: Res, status: number, code: string, what = ''): void {
  const where = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  assert.deepEqual(Object.keys(res.body ?? {}).sort(), ['detail', 'error_code', 'status_code'], where);
  assert.equal(res.body.error_code, code, where);
  assert.equal(res.body.status_code, status, where);
  assert.equal(typeof res.body.detail, 'string', where);
  assert.ok(res.body.detail.length > 0, where);
  assert.doesNotMatch(res.text, /\n\s+at |node_modules|\.js:\d+/, `no stack trace in ${where}`);
}

export interface Session {
  access_token: string;
  refresh_token: string;
  // biome-ignore lint/suspicious/noExplicitAny: the user object is checked by the tests that need it.
  user: any;
}

export async function signUp(call: Call, email = uniqueEmail('user'), extra: object = {}): Promise<Session> {
  const res = await call('POST', `${AUTH}/signup`, { body: { email, password: PASSWORD, ...extra } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

export async function signIn(call: Call, email: string, password = PASSWORD): Promise<Session> {
  const res = await call('POST', `${AUTH}/signin`, { body: { email, password } });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
  };
}

export function openStore(databaseUrl: string): Store {
  return createStore(databaseUrl, { poolSize: 2 });
}

export interface E2e {
  db: TestDatabase;
  d: Daemon;
  call: Call;
  store: Store;
}

/**
 * The fixture of an end-to-end suite: a fresh database, the real daemon spawned on it, a client for it and
 * the real store beside it (to check what a request changed), made before the suite's tests and torn down
 * after them. `bind` hands them to the suite's own variables.
 */
export function e2eDaemon(
  dialect: 'sqlite' | 'postgres',
  env: Record<string, string>,
  bind: (fixture: E2e) => void,
): void {
  const f: Partial<E2e> = {};
  before(async () => {
    f.db = await createTestDatabase(dialect);
    f.d = await startDaemon({ databaseUrl: f.db.url, env });
    f.call = client(f.d);
    f.store = openStore(f.db.url);
    bind(f as E2e);
  });
  after(async () => {
    await f.store?.destroy();
    await f.d?.stop();
    await f.db?.drop();
  });
}

export const COUNTED_TABLES = ['users', 'sessions', 'refresh_tokens', 'outbox'] as const;

/** Row counts of the tables a bad request must not touch. */
export async function rowCounts(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of COUNTED_TABLES) {
    const row = await store.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[t] = Number(row.n);
  }
  return out;
}

/** Every table that holds data (all but the migration ledger). */
export const DATA_TABLES = [
  'users',
  'password_credentials',
  'sessions',
  'refresh_tokens',
  'sign_in_attempts',
  'signing_keys',
  'audit_events',
  'outbox',
  'settings',
  'organizations',
  'organization_roles',
  'organization_members',
  'organization_invitations',
  'one_time_tokens',
  'user_identities',
  'import_records',
  'import_runs',
  'webauthn_credentials',
  'webauthn_challenges',
  'gdpr_requests',
  'gdpr_exports',
  'deletion_receipts',
  'consent_records',
] as const;

/**
 * Every row of every data table, as comparable text (rows sorted): equal before and after a request means the
 * request changed nothing at all — no insert, no update, no delete, no audit row.
 */
export async function snapshot(store: Store): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of DATA_TABLES) {
    const rows = await store.db.selectFrom(t).selectAll().execute();
    // The daemon's outbox drain marks events handled in the background, whatever the request did: that
    // bookkeeping is not the request's change.
    if (t === 'outbox') for (const r of rows) delete (r as { handled_at?: unknown }).handled_at;
    out[t] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** Audit rows of one action, with metadata decoded (JSON text on SQLite, jsonb on Postgres). */
export async function auditRows(
  store: Store,
  action: string,
): Promise<Array<{ target_id: string | null; outcome: string; metadata: Record<string, unknown> }>> {
  const rows = await store.db
    .selectFrom('audit_events')
    .select(['target_id', 'outcome', 'metadata'])
    .where('action', '=', action)
    .execute();
  return rows.map((r) => ({
    target_id: r.target_id,
    outcome: r.outcome,
    metadata: (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata) as Record<
      string,
      unknown
    >,
  }));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a value, or fails after `ms`. */
export async function eventually<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}
