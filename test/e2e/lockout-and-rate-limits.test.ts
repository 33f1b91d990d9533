/**
 * Account lockout under parallel guessing (counted atomically before the password check) and per-IP rate
 * limits with their headers, against the spawned daemon.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import {
  AUTH,
  assertError,
  auditRows,
  type Call,
  client,
  e2eDaemon,
  PASSWORD,
  type Res,
  signUp,
  sleep,
  uniqueEmail,
} from './support.js';

const MAX_ATTEMPTS = 5;

for (const dialect of dialects()) {
  describe(`e2e lockout (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    let call: Call;
    let store: Store;

    e2eDaemon(dialect, { LOCKOUT_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }, (f) => {
      ({ db, d, call, store } = f);
    });

    const guess = (email: string, password = 'Wrong-Password-1') =>
      call('POST', `${AUTH}/signin`, { body: { email, password } });

    /** The parts of a locked answer that must not depend on whether the account exists. */
    const lockedShape = (r: Res) => ({
      status: r.status,
      body: r.body,
      retryAfter: r.headers['retry-after'] !== undefined,
    });

    test('20 parallel wrong passwords: all 401, at most LOCKOUT_MAX_ATTEMPTS compared, then locked; unlock lifts it', async () => {
      const email = uniqueEmail('lock');
      const s = await signUp(call, email);

      const answers = await Promise.all(Array.from({ length: 20 }, () => guess(email)));
      for (const r of answers) assertError(r, 401, 'AUTHENTICATION_ERROR', 'parallel guess');

      // Only the attempts counted within the limit reached bcrypt; the rest were refused before comparing.
      const compared = (await auditRows(store, 'auth.signin')).filter(
        (r) => r.target_id === s.user.id && r.metadata['reason'] === 'invalid_credentials',
      );
      // Every attempt was counted before comparing: exactly the first LOCKOUT_MAX_ATTEMPTS reached bcrypt.
      assert.ok(compared.length <= MAX_ATTEMPTS, `${compared.length} attempts compared a password`);
      assert.equal(compared.length, MAX_ATTEMPTS);
      // The lock is recorded once, under the account or under the hashed email (whichever path set it).
      const key = `signin:${createHash('sha256').update(email).digest('hex')}`;
      const lockouts = (await auditRows(store, 'auth.lockout')).filter(
        (r) => r.target_id === s.user.id || r.target_id === key,
      );
      assert.equal(lockouts.length, 1, 'the lockout is audited once');

      // Locked: even the right password is refused, with a Retry-After.
      const right = await guess(email, PASSWORD);
      assertError(right, 401, 'AUTHENTICATION_ERROR', 'right password while locked');
      const retryAfter = Number(right.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);

      const unlock = await runCli(['users', 'unlock', email, '--json'], {
        env: { DATABASE_URL: db.url, JANUA_DATA_DIR: d.env['JANUA_DATA_DIR'] },
      });
      assert.equal(unlock.code, 0, unlock.stderr);
      const out = JSON.parse(unlock.stdout) as { user: { email: string }; was_locked: boolean };
      assert.equal(out.user.email, email);
      assert.equal(out.was_locked, true);

      const after = await guess(email, PASSWORD);
      assert.equal(after.status, 200, after.text);
      assert.equal(after.body.user.id, s.user.id);
    });

    test('a locked unknown email answers exactly like a locked real account', async () => {
      const real = uniqueEmail('real');
      await signUp(call, real);
      const ghost = uniqueEmail('ghost');
      for (const email of [real, ghost]) {
        for (let i = 0; i < MAX_ATTEMPTS; i++)
          assertError(await guess(email), 401, 'AUTHENTICATION_ERROR', 'guess');
      }
      const lockedReal = await guess(real, PASSWORD);
      const lockedGhost = await guess(ghost, PASSWORD);
      assertError(lockedReal, 401, 'AUTHENTICATION_ERROR', 'locked real');
      assert.deepEqual(lockedShape(lockedGhost), lockedShape(lockedReal));
      assert.equal(lockedGhost.text, lockedReal.text);
      // Both are locked, not merely failing: the same locked answer comes back for any password.
      assert.equal((await guess(ghost)).text, lockedReal.text);
    });
  });

  describe(`e2e rate limits (${dialect})`, () => {
    let db: TestDatabase;
    let limited: Daemon;
    let exempt: Daemon;
    // Two daemons on one database share its signing keys, so they need the same master key.
    const limits = {
      JANUA_MASTER_KEY: newMasterKey(),
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_PER_MINUTE: '5',
      RATE_LIMIT_PER_HOUR: '100',
      AUTH_RATE_LIMIT_PER_MINUTE: '3',
    };

    before(async () => {
      db = await createTestDatabase(dialect);
      limited = await startDaemon({ databaseUrl: db.url, env: limits });
      exempt = await startDaemon({
        databaseUrl: db.url,
        env: { ...limits, RATE_LIMIT_WHITELIST: '127.0.0.1' },
      });
      // Counters live in fixed one-minute windows. Start the sequence well inside one so that a window
      // boundary cannot reset them half-way (this waits for the clock; it measures nothing).
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 50_000) await sleep(60_000 - intoMinute + 100);
    });

    after(async () => {
      await limited?.stop();
      await exempt?.stop();
      await db?.drop();
    });

    function rateHeaders(r: Res): { limit: number; remaining: number; reset: number } {
      for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
        assert.ok(r.headers[h] !== undefined, `${h} on ${r.status} ${r.text.slice(0, 100)}`);
      }
      return {
        limit: Number(r.headers['x-ratelimit-limit']),
        remaining: Number(r.headers['x-ratelimit-remaining']),
        reset: Number(r.headers['x-ratelimit-reset']),
      };
    }

    test('credential endpoints: AUTH_RATE_LIMIT_PER_MINUTE, then 429 RATE_LIMIT_ERROR with Retry-After', async () => {
      const call = client(limited);
      // Successful responses carry the headers too.
      const ok = await call('GET', '/health');
      assert.equal(ok.status, 200);
      assert.deepEqual(
        { limit: rateHeaders(ok).limit, remaining: rateHeaders(ok).remaining },
        { limit: 5, remaining: 4 },
      );
      const body = { email: uniqueEmail('rl'), password: 'Wrong-Password-1' };
      for (let i = 1; i <= 3; i++) {
        const r = await call('POST', `${AUTH}/signin`, { body });
        assertError(r, 401, 'AUTHENTICATION_ERROR', `sign-in ${i}`);
        const h = rateHeaders(r);
        assert.equal(h.limit, 3);
        assert.equal(h.remaining, 3 - i);
        const now = Date.now() / 1000;
        assert.ok(
          h.reset > now && h.reset <= now + 61,
          `reset ${h.reset} is an epoch second within a minute`,
        );
      }
      const over = await call('POST', `${AUTH}/signin`, { body });
      assertError(over, 429, 'RATE_LIMIT_ERROR', 'sign-in over the limit');
      const h = rateHeaders(over);
      assert.equal(h.limit, 3);
      assert.equal(h.remaining, 0);
      const retryAfter = Number(over.headers['retry-after']);
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
        `Retry-After ${retryAfter}`,
      );
      // The other credential routes share the credential budget.
      assertError(
        await call('POST', `${AUTH}/signup`, { body: { email: uniqueEmail('rl'), password: PASSWORD } }),
        429,
        'RATE_LIMIT_ERROR',
        'signup over the limit',
      );
    });

    test('every route: RATE_LIMIT_PER_MINUTE, then 429 (counting the requests above)', async () => {
      const call = client(limited);
      // The requests above used the whole general budget of 5: the next request is over it.
      const r = await call('GET', '/health');
      assertError(r, 429, 'RATE_LIMIT_ERROR', 'general limit');
      const h = rateHeaders(r);
      assert.equal(h.limit, 5);
      assert.equal(h.remaining, 0);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      // 404s are counted and limited too: unknown routes are no way around the limiter.
      assertError(await call('GET', '/no/such/route'), 429, 'RATE_LIMIT_ERROR', 'unknown route');
    });

    test('a whitelisted address is never limited and gets no rate-limit headers', async () => {
      const call = client(exempt);
      const body = { email: uniqueEmail('wl'), password: 'Wrong-Password-1' };
      for (let i = 0; i < 8; i++) {
        const r = await call('POST', `${AUTH}/signin`, { body: { ...body, email: uniqueEmail('wl') } });
        assertError(r, 401, 'AUTHENTICATION_ERROR', `whitelisted sign-in ${i}`);
        assert.equal(r.headers['x-ratelimit-limit'], undefined);
      }
      for (let i = 0; i < 8; i++) assert.equal((await call('GET', '/health')).status, 200);
    });
  });
}
