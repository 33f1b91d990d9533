/**
 * The refresh reuse interval (REFRESH_REUSE_INTERVAL_SECONDS) on every dialect, with a FixedClock: 0 keeps
 * the strict rule (any reuse revokes the session); within a positive interval a just-spent token gets a
 * fresh pair for the same session, and outside it reuse still revokes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { authenticate, refresh, signUp } from '../../src/core/auth/service.js';
import type { Container } from '../../src/core/container.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/core/events/events.js';
import { sessions } from '../../src/core/store/repos/sessions.js';
import { users } from '../../src/core/store/repos/users.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const CTX: RequestContext = { ip: '192.0.2.10', userAgent: 'contract-test', requestId: 'req-reuse' };

function code(expected: ErrorCode, detail?: RegExp) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (detail) assert.match(err.message, detail);
    return true;
  };
}

let n = 0;
const email = () => `reuse${++n}.${Date.now().toString(36)}@example.com`;

for (const dialect of dialects()) {
  describe(`refresh reuse interval (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup(seconds: number) {
      const t = await testContainer(dialect, { REFRESH_REUSE_INTERVAL_SECONDS: String(seconds) });
      open.push(t);
      return t;
    }
    const audits = (c: Container, action: string) =>
      c.store.db.selectFrom('audit_events').selectAll().where('action', '=', action).execute();
    const reason = async (c: Container, id: string) =>
      (await sessions.findById(c.store.db, id))?.revokeReason;

    it('0 (the default) is strict: a spent token presented again a second later revokes the session', async () => {
      const { c, clock } = await setup(0);
      assert.equal(c.config.refreshReuseIntervalSeconds, 0);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const r1 = await refresh(c, s.tokens.refresh_token, CTX);
      clock.advance(1000);
      await assert.rejects(refresh(c, s.tokens.refresh_token, CTX), code('TOKEN_ERROR', /already used/));
      assert.equal(await reason(c, s.session.id), 'refresh_token_reuse');
      await assert.rejects(refresh(c, r1.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
      await assert.rejects(authenticate(c, r1.tokens.access_token), code('TOKEN_ERROR', /revoked/));
    });

    it('within the interval: a fresh pair for the same session; both successors live; audited', async () => {
      const { c, clock } = await setup(30);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      clock.advance(60_000);
      const r1 = await refresh(c, s.tokens.refresh_token, CTX);
      clock.advance(30_000); // exactly the interval: still within
      const r2 = await refresh(c, s.tokens.refresh_token, CTX);
      assert.equal(r2.session.id, s.session.id);
      assert.notEqual(r2.tokens.refresh_token, r1.tokens.refresh_token);
      assert.equal((await authenticate(c, r2.tokens.access_token)).session.id, s.session.id);
      assert.equal(await reason(c, s.session.id), null);
      const stored = await sessions.findById(c.store.db, s.session.id);
      assert.equal(stored?.lastUsedAt.getTime(), clock.now().getTime(), 'last activity moves on refresh');
      const audit = await audits(c, 'auth.refresh.reuse_interval');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.target_id, s.session.id);
      assert.equal((await audits(c, 'auth.refresh.reuse')).length, 0);
      // Each successor rotates normally afterwards.
      clock.advance(1000);
      const r3 = await refresh(c, r1.tokens.refresh_token, CTX);
      const r4 = await refresh(c, r2.tokens.refresh_token, CTX);
      assert.equal(r3.session.id, s.session.id);
      assert.equal(r4.session.id, s.session.id);
    });

    it('outside the interval reuse still revokes the whole family', async () => {
      const { c, clock } = await setup(30);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const r1 = await refresh(c, s.tokens.refresh_token, CTX);
      clock.advance(30_001);
      await assert.rejects(refresh(c, s.tokens.refresh_token, CTX), code('TOKEN_ERROR', /already used/));
      assert.equal(await reason(c, s.session.id), 'refresh_token_reuse');
      await assert.rejects(refresh(c, r1.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
      await assert.rejects(authenticate(c, r1.tokens.access_token), code('TOKEN_ERROR', /revoked/));
      assert.equal((await audits(c, 'auth.refresh.reuse')).length, 1);
    });

    it('the interval counts from when that token was spent: an older spent token is reuse', async () => {
      const { c, clock } = await setup(30);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const r1 = await refresh(c, s.tokens.refresh_token, CTX);
      clock.advance(20_000);
      await refresh(c, r1.tokens.refresh_token, CTX);
      clock.advance(20_000); // r1 spent 20 s ago (within), the first token 40 s ago (outside)
      await assert.rejects(refresh(c, s.tokens.refresh_token, CTX), code('TOKEN_ERROR', /already used/));
      assert.equal(await reason(c, s.session.id), 'refresh_token_reuse');
    });

    it('within the interval a revoked session or a suspended user still gets nothing', async () => {
      const { c, clock } = await setup(30);
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const b = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      await refresh(c, a.tokens.refresh_token, CTX);
      await refresh(c, b.tokens.refresh_token, CTX);
      clock.advance(1000);
      await sessions.revoke(c.store.db, [a.session.id], 'revoked', clock.now());
      await users.update(c.store.db, b.user.id, { status: 'suspended' }, clock.now());
      await assert.rejects(
        refresh(c, a.tokens.refresh_token, CTX),
        code('TOKEN_ERROR', /Invalid or expired/),
      );
      await assert.rejects(
        refresh(c, b.tokens.refresh_token, CTX),
        code('TOKEN_ERROR', /Invalid or expired/),
      );
      assert.equal(await reason(c, a.session.id), 'revoked', 'not re-revoked as reuse');
    });

    it('concurrent presentations of one token within the interval: every one gets a pair, one session', async () => {
      const { c } = await setup(30);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => refresh(c, s.tokens.refresh_token, CTX)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 6, JSON.stringify(results.filter((r) => r.status === 'rejected')));
      const pairs = ok.map((r) => r.value);
      assert.equal(new Set(pairs.map((p) => p.session.id)).size, 1);
      assert.equal(new Set(pairs.map((p) => p.tokens.refresh_token)).size, 6, 'each got its own token');
      assert.equal(await reason(c, s.session.id), null);
      for (const p of pairs)
        assert.equal((await authenticate(c, p.tokens.access_token)).session.id, s.session.id);
    });

    it('concurrent presentations with 0: exactly one rotates, the others are reuse and revoke', async () => {
      const { c } = await setup(0);
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => refresh(c, s.tokens.refresh_token, CTX)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal(await reason(c, s.session.id), 'refresh_token_reuse');
    });
  });
}
