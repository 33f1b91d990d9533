/**
 * Shared pieces of the fault suites: N real daemons on one database, a load of virtual clients over undici
 * that records every answer (or the lack of one), and the checks that what was acknowledged is in the
 * database and that nothing is half-done.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { hashToken } from '../../../src/core/crypto/secrets.js';
import { toDate } from '../../../src/core/store/codec.js';
import type { Store } from '../../../src/core/store/store.js';
import { type Daemon, newMasterKey, startDaemon } from '../../helpers/janua.js';
import { AUTH, decodeJwt, PASSWORD, sleep } from '../support.js';

export { sleep };

/** What every node of one deployment shares: master key, issuer, Redis (on Postgres), a session cap out of the way. */
export function clusterEnv(dialect: 'sqlite' | 'postgres'): Record<string, string> {
  return {
    JANUA_MASTER_KEY: newMasterKey(),
    JANUA_BASE_URL: 'https://auth.example.test',
    MAX_SESSIONS_PER_USER: '1000',
    ...(dialect === 'postgres'
      ? {
          REDIS_URL: 'redis://127.0.0.1:6379',
          REDIS_PREFIX: `janua-fault-${randomBytes(4).toString('hex')}:`,
        }
      : {}),
  };
}

/** `n` daemons on one database, each on its own loopback port, started one after the other. */
export async function startNodes(
  n: number,
  databaseUrl: string,
  env: Record<string, string>,
  perNode: (i: number) => Record<string, string> = () => ({}),
): Promise<Daemon[]> {
  const nodes: Daemon[] = [];
  try {
    for (let i = 0; i < n; i++)
      nodes.push(await startDaemon({ databaseUrl, env: { ...env, ...perNode(i) } }));
  } catch (err) {
    await Promise.all(nodes.map((d) => d.stop('SIGKILL')));
    throw err;
  }
  return nodes;
}

/** kill -9: no shutdown code runs. Resolves once the process is gone. */
export async function killHard(d: Daemon): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) {
    const exited = once(d.child, 'exit');
    d.child.kill('SIGKILL');
    await exited;
  }
  await d.stop(); // the process is gone: this only removes its data directory
}

export type Op = 'signup' | 'signin' | 'refresh' | 'me';

/** One request of the load and what came of it: an HTTP answer, or none (`status` 0, `error` says why). */
export interface Answer {
  op: Op;
  node: string;
  client: number;
  /** performance.now() when the request was sent and when its answer (or failure) arrived. */
  sent: number;
  done: number;
  status: number;
  error?: string;
  requestId?: string;
  retryAfter?: string;
  contentType?: string;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field.
  body?: any;
  text?: string;
  /** For acknowledged sign-ups, sign-ins and refreshes: the session (from the access token) and tokens. */
  sessionId?: string;
  userId?: string;
  refreshToken?: string;
  accessToken?: string;
  kid?: string;
  /** For /auth/me: the access token presented, and its `kid`. */
  presented?: string;
  tokenKid?: string;
  /** A sign-in after a sign-up whose outcome is unknown (unanswered or 5xx): 401 is a right answer to it. */
  unsure?: boolean;
}

const TIMEOUT_MS = 30_000;

/** One request of a client, recorded as an Answer (never throws: no answer is status 0). */
/** Requests sent and not yet answered, by node: a kill test waits for one on its victim. */
const pending = new Map<string, number>();
export const inFlight = (node: string): number => pending.get(node) ?? 0;

export async function send(
  node: string,
  op: Op,
  client: number,
  path: string,
  init: { method: 'GET' | 'POST'; body?: unknown; token?: string },
): Promise<Answer> {
  pending.set(node, inFlight(node) + 1);
  try {
    return await sendNow(node, op, client, path, init);
  } finally {
    pending.set(node, inFlight(node) - 1);
  }
}

async function sendNow(
  node: string,
  op: Op,
  client: number,
  path: string,
  init: { method: 'GET' | 'POST'; body?: unknown; token?: string },
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  const sent = performance.now();
  try {
    const res = await request(`${node}${path}`, {
      method: init.method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const text = await res.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const a: Answer = { op, node, client, sent, done: performance.now(), status: res.statusCode, body, text };
    const rid = res.headers['x-request-id'];
    if (typeof rid === 'string') a.requestId = rid;
    const ra = res.headers['retry-after'];
    if (typeof ra === 'string') a.retryAfter = ra;
    const ct = res.headers['content-type'];
    if (typeof ct === 'string') a.contentType = ct;
    const tokens = body as { access_token?: string; refresh_token?: string } | undefined;
    if (res.statusCode < 300 && tokens?.access_token) {
      const { header, payload } = decodeJwt(tokens.access_token);
      a.accessToken = tokens.access_token;
      a.sessionId = String(payload['sid']);
      a.userId = String(payload['sub']);
      a.kid = String(header['kid']);
      if (tokens.refresh_token) a.refreshToken = tokens.refresh_token;
    }
    return a;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return {
      op,
      node,
      client,
      sent,
      done: performance.now(),
      status: 0,
      error: e.code ?? e.message ?? String(err),
    };
  }
}

/**
 * A client of its own account: signs up, then refreshes, calls /auth/me and now and then signs in again,
 * sending each request to the next node in turn (so tokens minted on one node are used on the other). After
 * a failed or unanswered sign-in or refresh it starts over with a sign-in: the outcome of an unanswered
 * refresh is unknown, and presenting its token again may be taken for reuse (which revokes the session).
 */
class Client {
  private account: 'none' | 'maybe' | 'yes' = 'none';
  private session: { access: string; refresh: string } | undefined;
  private turn = 0;
  readonly email: string;

  constructor(
    readonly id: number,
    prefix: string,
  ) {
    this.email = `${prefix}-${id}-${randomBytes(3).toString('hex')}@example.com`;
  }

  private node(nodes: string[]): string {
    return nodes[this.turn++ % nodes.length]!;
  }

  async step(nodes: string[], mix: LoadMix): Promise<Answer> {
    const node = this.node(nodes);
    if (this.account !== 'yes' || !this.session) {
      const op: Op = this.account === 'none' ? 'signup' : 'signin';
      const a = await send(node, op, this.id, `${AUTH}/${op}`, {
        method: 'POST',
        body: { email: this.email, password: PASSWORD },
      });
      if (this.account === 'maybe') a.unsure = true;
      if (a.refreshToken && a.accessToken) {
        this.account = 'yes';
        this.session = { access: a.accessToken, refresh: a.refreshToken };
      } else if (op === 'signup')
        this.account = a.status === 409 ? 'yes' : a.status === 0 || a.status >= 500 ? 'maybe' : 'none';
      else if (a.status === 401 && this.account === 'maybe') this.account = 'none'; // the sign-up never happened
      return a;
    }
    const roll = Math.random();
    if (roll < mix.refresh) {
      const a = await send(node, 'refresh', this.id, `${AUTH}/refresh`, {
        method: 'POST',
        body: { refresh_token: this.session.refresh },
      });
      if (a.refreshToken && a.accessToken) this.session = { access: a.accessToken, refresh: a.refreshToken };
      else this.session = undefined;
      return a;
    }
    if (roll < mix.refresh + mix.signin) {
      this.session = undefined;
      return this.step(nodes, mix);
    }
    const a = await send(node, 'me', this.id, `${AUTH}/me`, { method: 'GET', token: this.session.access });
    a.presented = this.session.access;
    a.tokenKid = String(decodeJwt(this.session.access).header['kid']);
    return a;
  }
}

export interface LoadMix {
  /** Share of steps that refresh, and that sign in again; the rest call /auth/me. */
  refresh: number;
  signin: number;
}

export interface Load {
  answers: Answer[];
  /** Resolves once `pred` holds for the answers so far; fails the test after `ms`. */
  until(what: string, ms: number, pred: (answers: Answer[]) => boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `clients` clients in parallel until stopped, each sending its next request as soon as the last one was
 * answered, to the nodes `targets()` names at that moment. Unanswered requests and 503s are followed by a
 * short pause (a real client backs off; a tight loop against a refused port only burns the CPU).
 */
export function startLoad(opts: {
  targets: () => string[];
  clients: number;
  prefix?: string;
  mix?: LoadMix;
}): Load {
  const answers: Answer[] = [];
  const mix = opts.mix ?? { refresh: 0.5, signin: 0.1 };
  const prefix = opts.prefix ?? `load-${randomBytes(3).toString('hex')}`;
  let stopped = false;
  const loops = Array.from({ length: opts.clients }, async (_, i) => {
    const c = new Client(i, prefix);
    while (!stopped) {
      const targets = opts.targets();
      if (targets.length === 0) {
        await sleep(50); // no node up (one was killed, its successor not started yet)
        continue;
      }
      const a = await c.step(targets, mix);
      answers.push(a);
      if (a.status === 0 || a.status >= 500) await sleep(100);
    }
  });
  return {
    answers,
    async until(what, ms, pred) {
      const deadline = Date.now() + ms;
      while (!pred(answers)) {
        if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms (${summary(answers)})`);
        await sleep(50);
      }
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Counts of answers by operation and status, for failure messages: `signin 200×12, refresh 503×3`. */
export function summary(answers: Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key = `${a.op} ${a.status || a.error}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}×${n}`).join(', ');
}

export const ok = (a: Answer) => a.status >= 200 && a.status < 300;

/**
 * Everything acknowledged is in the database: for each 2xx sign-up its user, session, audit row (by request
 * id) and `user.created` / `session.created` events; for each 2xx sign-in its session, audit row and
 * `session.created`; for each 2xx refresh the refresh token it handed out, in its session.
 */
export async function checkAcknowledged(store: Store, answers: Answer[]): Promise<void> {
  const db = store.db;
  const users = new Set((await db.selectFrom('users').select('id').execute()).map((r) => r.id));
  const sessions = new Set((await db.selectFrom('sessions').select('id').execute()).map((r) => r.id));
  const audits = new Set(
    (await db.selectFrom('audit_events').select(['request_id', 'action', 'outcome']).execute()).map(
      (r) => `${r.action}/${r.outcome}/${r.request_id}`,
    ),
  );
  const events = new Set(
    (await db.selectFrom('outbox').select(['event_type', 'aggregate_id']).execute()).map(
      (r) => `${r.event_type}/${r.aggregate_id}`,
    ),
  );
  const tokens = new Map(
    (await db.selectFrom('refresh_tokens').select(['token_hash', 'session_id']).execute()).map((r) => [
      r.token_hash,
      r.session_id,
    ]),
  );
  for (const a of answers.filter(ok)) {
    const what = `${a.op} ${a.status} (request ${a.requestId})`;
    if (a.op === 'me') continue;
    assert.ok(a.sessionId && a.userId && a.refreshToken, `${what} handed out a session`);
    assert.ok(sessions.has(a.sessionId), `${what}: its session is stored`);
    assert.equal(tokens.get(hashToken(a.refreshToken)), a.sessionId, `${what}: its refresh token is stored`);
    if (a.op === 'signup') {
      assert.ok(users.has(a.userId), `${what}: its user is stored`);
      assert.ok(audits.has(`user.signup/success/${a.requestId}`), `${what}: its audit row`);
      assert.ok(events.has(`user.created/${a.userId}`), `${what}: its user.created event`);
    }
    if (a.op === 'signin')
      assert.ok(audits.has(`auth.signin/success/${a.requestId}`), `${what}: its audit row`);
    if (a.op !== 'refresh') assert.ok(events.has(`session.created/${a.sessionId}`), `${what}: its event`);
  }
}

/**
 * Nothing half-done, whatever was answered: every user has its sign-up audit row and `user.created` event,
 * every session its `session.created` event; and every refresh family is whole — exactly one unspent token
 * per session (rotation spends one and adds one; reuse detection and revocation add or spend none), and
 * each spent token's successor in the same session, created at the instant it was spent.
 */
export async function checkNothingHalfDone(store: Store): Promise<{ sessions: number; rotations: number }> {
  const db = store.db;
  const events = new Set(
    (await db.selectFrom('outbox').select(['event_type', 'aggregate_id']).execute()).map(
      (r) => `${r.event_type}/${r.aggregate_id}`,
    ),
  );
  const signups = new Set(
    (
      await db.selectFrom('audit_events').select('target_id').where('action', '=', 'user.signup').execute()
    ).map((r) => r.target_id),
  );
  for (const u of await db.selectFrom('users').select('id').execute()) {
    assert.ok(signups.has(u.id), `user ${u.id} has its sign-up audit row`);
    assert.ok(events.has(`user.created/${u.id}`), `user ${u.id} has its user.created event`);
  }
  const sessions = await db.selectFrom('sessions').select(['id', 'created_at']).execute();
  const rows = await db
    .selectFrom('refresh_tokens')
    .select(['session_id', 'created_at', 'used_at'])
    .execute();
  const bySession = new Map<string, Array<{ created: number; used: number | null }>>();
  for (const r of rows) {
    const list = bySession.get(r.session_id) ?? [];
    list.push({
      created: toDate(r.created_at).getTime(),
      used: r.used_at === null ? null : toDate(r.used_at).getTime(),
    });
    bySession.set(r.session_id, list);
  }
  let rotations = 0;
  for (const s of sessions) {
    assert.ok(events.has(`session.created/${s.id}`), `session ${s.id} has its session.created event`);
    const family = (bySession.get(s.id) ?? []).sort((a, b) => a.created - b.created);
    const unspent = family.filter((t) => t.used === null);
    assert.equal(
      unspent.length,
      1,
      `session ${s.id}: exactly one unspent refresh token (${JSON.stringify(family)})`,
    );
    const spentAt = family
      .filter((t) => t.used !== null)
      .map((t) => t.used!)
      .sort((a, b) => a - b);
    const successorsAt = family.slice(1).map((t) => t.created);
    assert.deepEqual(successorsAt, spentAt, `session ${s.id}: every spent token has its successor`);
    assert.equal(family[0]!.created, toDate(s.created_at).getTime(), `session ${s.id}: its first token`);
    rotations += spentAt.length;
  }
  return { sessions: sessions.length, rotations };
}
