/**
 * TOTP MFA end to end on the spawned `janua serve`, with codes from an independent generator (otplib): enrol
 * and confirm, sign in with a challenge and finish it, a replayed code refused, backup codes single use and
 * regenerated, disable; the original SDK's paths; the organization requirement; bad input (malformed bodies,
 * wrong codes, expired and reused mfa_tokens, an mfa_token as a bearer token); and `janua users mfa-reset`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generate } from 'otplib';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli } from '../helpers/janua.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  PASSWORD,
  type Res,
  rowCounts,
  signUp,
  uniqueEmail,
} from './support.js';

const MFA = '/api/v1/mfa';

/** The code for now + `offset` steps, as an authenticator app shows it. */
const totp = (secret: string, offset = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });

function assertChallenge(res: Res): string {
  assert.equal(res.status, 200, res.text);
  const b = res.body;
  assert.equal(b.mfa_required, true);
  assert.equal(b.requires_mfa, true);
  assert.equal(typeof b.mfa_token, 'string');
  assert.ok(
    !('access_token' in b) && !('tokens' in b) && !('refresh_token' in b),
    'no tokens before the code',
  );
  return b.mfa_token;
}

function assertTokens(res: Res): string {
  assert.equal(res.status, 200, res.text);
  const b = res.body;
  assert.equal(b.token_type, 'bearer');
  assert.equal(typeof b.access_token, 'string');
  assert.deepEqual(b.tokens, {
    access_token: b.access_token,
    refresh_token: b.refresh_token,
    token_type: 'bearer',
    expires_in: b.expires_in,
  });
  assert.equal(typeof b.user.id, 'string');
  return b.access_token;
}

for (const dialect of dialects()) {
  describe(`e2e TOTP MFA (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;
    e2eDaemon(dialect, { JANUA_MASTER_KEY: newMasterKey(), MFA_ISSUER: 'Acme Auth' }, (f) => {
      ({ d, call, store } = f);
    });

    const signInRes = (email: string) =>
      call('POST', `${AUTH}/signin`, { body: { email, password: PASSWORD } });

    /** A signed-up user with MFA on (documented paths): email, secret, backup codes, a token. */
    async function enrolled() {
      const email = uniqueEmail('mfa');
      const s = await signUp(call, email);
      const en = await call('POST', `${MFA}/totp/enable`, { token: s.access_token });
      assert.equal(en.status, 200, en.text);
      const ok = await call('POST', `${MFA}/totp/confirm`, {
        token: s.access_token,
        body: { code: await totp(en.body.secret) },
      });
      assert.equal(ok.status, 200, ok.text);
      return {
        email,
        secret: en.body.secret as string,
        codes: ok.body.backup_codes as string[],
        token: s.access_token,
      };
    }

    test('enable → confirm → sign-in answers mfa_required → verify → the tokens work; replay refused', async () => {
      const email = uniqueEmail('flow');
      const s = await signUp(call, email);
      const en = await call('POST', `${MFA}/totp/enable`, { token: s.access_token });
      assert.equal(en.status, 200, en.text);
      assert.match(en.body.secret, /^[A-Z2-7]+$/);
      assert.match(en.body.qr_code, /^data:image\/png;base64,/);
      assert.ok(en.body.otpauth_uri.startsWith('otpauth://totp/Acme%20Auth:'), en.body.otpauth_uri);
      assert.equal(en.body.provisioning_uri, en.body.otpauth_uri);
      assert.equal(en.body.backup_codes, undefined, 'the documented path issues codes at confirmation');
      const pending = await call('GET', `${MFA}/status`, { token: s.access_token });
      assert.deepEqual([pending.body.enabled, pending.body.pending], [false, true]);

      const wrong = await call('POST', `${MFA}/totp/confirm`, {
        token: s.access_token,
        body: { code: '000000' },
      });
      assertError(wrong, 422, 'VALIDATION_ERROR', 'wrong confirmation code');
      const ok = await call('POST', `${MFA}/totp/confirm`, {
        token: s.access_token,
        body: { code: await totp(en.body.secret) },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.backup_codes.length, 10);
      for (const c of ok.body.backup_codes) assert.match(c, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      const me = await call('GET', `${AUTH}/me`, { token: s.access_token });
      assert.equal(me.body.mfa_enabled, true);

      const mfaToken = assertChallenge(await signInRes(email));
      const asBearer = await call('GET', `${AUTH}/me`, { token: mfaToken });
      assert.equal(asBearer.status, 401, 'an mfa_token is not an access token');
      // The confirmation spent the current step: the next one (inside the ±1 window) signs in.
      const next = await totp(en.body.secret, 1);
      const access = assertTokens(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: mfaToken, code: next } }),
      );
      assert.equal((await call('GET', `${AUTH}/me`, { token: access })).body.email, email);

      const reused = await call('POST', `${MFA}/verify`, { body: { mfa_token: mfaToken, code: next } });
      assertError(reused, 401, 'TOKEN_ERROR', 'a spent mfa_token');
      const again = assertChallenge(await signInRes(email));
      const replay = await call('POST', `${MFA}/verify`, { body: { mfa_token: again, code: next } });
      assertError(replay, 401, 'AUTHENTICATION_ERROR', 'a replayed code');
    });

    test('backup codes: single use, regenerated with the password (old set dead); disable with password + code', async () => {
      const u = await enrolled();
      const [first, second] = u.codes as [string, string];
      const t1 = assertChallenge(await signInRes(u.email));
      assertTokens(await call('POST', `${MFA}/verify`, { body: { mfa_token: t1, code: first } }));
      const t2 = assertChallenge(await signInRes(u.email));
      assertError(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: t2, code: first } }),
        401,
        'AUTHENTICATION_ERROR',
        'a used backup code',
      );
      const summary = await call('GET', `${MFA}/backup-codes`, { token: u.token });
      assert.deepEqual([summary.body.remaining, summary.body.total], [9, 10]);

      assertError(
        await call('POST', `${MFA}/regenerate-backup-codes`, {
          token: u.token,
          body: { password: 'Nope-wrong-1' },
        }),
        422,
        'VALIDATION_ERROR',
      );
      const regen = await call('POST', `${MFA}/regenerate-backup-codes`, {
        token: u.token,
        body: { password: PASSWORD },
      });
      assert.equal(regen.status, 200, regen.text);
      assert.equal(regen.body.backup_codes.length, 10);
      assertError(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: t2, code: second } }),
        401,
        'AUTHENTICATION_ERROR',
        'a code of the replaced set',
      );
      assertTokens(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: t2, code: regen.body.backup_codes[0] } }),
      );

      assertError(
        await call('POST', `${MFA}/disable`, {
          token: u.token,
          body: { password: PASSWORD, code: '000000' },
        }),
        422,
        'VALIDATION_ERROR',
      );
      const off = await call('POST', `${MFA}/disable`, {
        token: u.token,
        body: { password: PASSWORD, code: regen.body.backup_codes[1] },
      });
      assert.equal(off.status, 200, off.text);
      assertTokens(await signInRes(u.email));
      assert.equal((await call('GET', `${MFA}/status`, { token: u.token })).body.enabled, false);
    });

    test("the original SDK's paths: /auth/mfa/enable|verify|disable, /mfa/status, /mfa/validate-code, /auth/login", async () => {
      const email = uniqueEmail('sdk');
      const s = await signUp(call, email);
      const en = await call('POST', `${AUTH}/mfa/enable`, {
        token: s.access_token,
        body: { method: 'totp' },
      });
      assert.equal(en.status, 200, en.text);
      for (const k of ['secret', 'qr_code', 'provisioning_uri']) assert.equal(typeof en.body[k], 'string', k);
      assert.equal(en.body.backup_codes.length, 10, 'the SDK shows backup codes at enable');
      const conf = await call('POST', `${AUTH}/mfa/verify`, {
        token: s.access_token,
        body: { code: await totp(en.body.secret) },
      });
      assert.equal(conf.status, 200, conf.text);
      assert.equal(conf.body.enabled, true);
      const st = await call('GET', `${MFA}/status`, { token: s.access_token });
      assert.equal(st.status, 200, st.text);
      assert.equal(st.body.enabled, true);
      assert.equal(st.body.verified, true);
      assert.equal(st.body.backup_codes_remaining, 10);

      const login = await call('POST', `${AUTH}/login`, { body: { email, password: PASSWORD } });
      const mfaToken = assertChallenge(login);
      assert.deepEqual(login.body.mfa_methods, ['totp', 'backup_code']);
      assertTokens(
        await call('POST', `${AUTH}/mfa/verify`, {
          body: { mfa_token: mfaToken, code: en.body.backup_codes[0] },
        }),
      );

      const bad = await call('POST', `${MFA}/validate-code`, {
        token: s.access_token,
        body: { code: '000000' },
      });
      assert.equal(bad.status, 200, bad.text);
      assert.deepEqual(bad.body.valid, false);
      const good = await call('POST', `${MFA}/validate-code`, {
        token: s.access_token,
        body: { code: await totp(en.body.secret, 1) },
      });
      assert.equal(good.body.valid, true, good.text);

      const off = await call('POST', `${AUTH}/mfa/disable`, {
        token: s.access_token,
        body: { password: PASSWORD, code: en.body.backup_codes[1] },
      });
      assert.equal(off.status, 200, off.text);
      assertTokens(await call('POST', `${AUTH}/login`, { body: { email, password: PASSWORD } }));
    });

    test('bad input: malformed bodies, garbage, expired and wrong mfa_tokens — clear errors, nothing changes', async () => {
      const u = await enrolled();
      const mfaToken = assertChallenge(await signInRes(u.email));
      const before = await rowCounts(store);
      const cases: Array<[string, string, object | string | undefined, number, string, string?]> = [
        ['POST', `${MFA}/verify`, {}, 422, 'VALIDATION_ERROR'],
        ['POST', `${MFA}/verify`, { mfa_token: mfaToken }, 422, 'VALIDATION_ERROR'],
        ['POST', `${MFA}/verify`, { mfa_token: mfaToken, code: 123456 }, 422, 'VALIDATION_ERROR'],
        ['POST', `${MFA}/verify`, { mfa_token: mfaToken, code: 'x'.repeat(100) }, 422, 'VALIDATION_ERROR'],
        ['POST', `${MFA}/verify`, '{"mfa_token": ', 400, 'BAD_REQUEST'],
        ['POST', `${MFA}/verify`, { mfa_token: 'garbage', code: '123456' }, 401, 'TOKEN_ERROR'],
        ['POST', `${MFA}/verify`, { mfa_token: 'A'.repeat(43), code: '123456' }, 401, 'TOKEN_ERROR'],
        ['POST', `${MFA}/totp/enable`, undefined, 401, 'AUTHENTICATION_ERROR'],
        ['POST', `${MFA}/totp/confirm`, { code: '123456' }, 401, 'AUTHENTICATION_ERROR'],
        [
          'POST',
          `${MFA}/totp/enable`,
          { mfa_token: mfaToken },
          401,
          'TOKEN_ERROR',
          'a sign-in token cannot enrol',
        ],
        ['GET', `${MFA}/status`, undefined, 401, 'AUTHENTICATION_ERROR'],
        ['POST', `${MFA}/disable`, { password: PASSWORD, code: '123456' }, 401, 'AUTHENTICATION_ERROR'],
      ];
      for (const [method, path, body, status, errCode, what] of cases) {
        const res = await call(method as 'POST', path, body === undefined ? {} : { body });
        assertError(res, status, errCode, what ?? `${method} ${path} ${JSON.stringify(body)}`);
      }
      // A wrong code does not spend the token; expiry does.
      assertError(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: mfaToken, code: '000000' } }),
        401,
        'AUTHENTICATION_ERROR',
      );
      assert.deepEqual(await rowCounts(store), before, 'refusals opened no session and emitted nothing');
      await store.db
        .updateTable('mfa_challenges')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .execute();
      assertError(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: mfaToken, code: u.codes[0] } }),
        401,
        'TOKEN_ERROR',
        'an expired mfa_token',
      );
    });

    test('an organization requiring MFA: its member enrols with the mfa_token, and that completes the sign-in', async () => {
      const email = uniqueEmail('orgmfa');
      const s = await signUp(call, email);
      const org = await call('POST', '/api/v1/organizations', {
        token: s.access_token,
        body: { name: 'Strict Co', slug: `strict-${Date.now().toString(36)}` },
      });
      assert.equal(org.status, 201, org.text);
      assert.equal(org.body.require_mfa, false);
      const upd = await call('PATCH', `/api/v1/organizations/${org.body.id}`, {
        token: s.access_token,
        body: { require_mfa: true },
      });
      assert.equal(upd.status, 200, upd.text);
      assert.equal(upd.body.require_mfa, true);

      const res = await signInRes(email);
      const mfaToken = assertChallenge(res);
      assert.equal(res.body.mfa_enrollment_required, true);
      assert.deepEqual(res.body.mfa_methods, []);
      assertError(
        await call('POST', `${MFA}/verify`, { body: { mfa_token: mfaToken, code: '123456' } }),
        401,
        'TOKEN_ERROR',
        'an enrolment token cannot be verified',
      );
      const en = await call('POST', `${MFA}/totp/enable`, { body: { mfa_token: mfaToken } });
      assert.equal(en.status, 200, en.text);
      const done = await call('POST', `${MFA}/totp/confirm`, {
        body: { mfa_token: mfaToken, code: await totp(en.body.secret) },
      });
      const access = assertTokens(done);
      assert.equal(done.body.backup_codes.length, 10);
      assert.equal((await call('GET', `${AUTH}/me`, { token: access })).body.mfa_enabled, true);
      assertChallenge(await signInRes(email));
    });

    test('janua users mfa-reset: factor and backup codes gone, sessions revoked, audited', async () => {
      const u = await enrolled();
      const refused = await runCli(['users', 'mfa-reset', u.email], { env: d.env });
      assert.equal(refused.code, 2, 'no terminal, no --yes: refused');
      const r = await runCli(['users', 'mfa-reset', u.email, '--yes', '--json'], { env: d.env });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.email, u.email);
      assert.equal(out.mfa_removed, true);
      assert.ok(out.sessions_revoked >= 1);
      assert.equal((await call('GET', `${AUTH}/me`, { token: u.token })).status, 401, 'sessions revoked');
      assertTokens(await signInRes(u.email));
      const audit = await store.db
        .selectFrom('audit_events')
        .select(['action', 'actor_type'])
        .where('target_id', '=', out.user_id)
        .where('action', '=', 'security.mfa.reset')
        .execute();
      assert.deepEqual(audit, [{ action: 'security.mfa.reset', actor_type: 'cli' }]);
      const events = await store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', out.user_id)
        .where('event_type', '=', 'security.mfa.disabled')
        .execute();
      assert.equal(events.length, 1);
      const missing = await runCli(['users', 'mfa-reset', 'nobody@example.com', '--yes'], { env: d.env });
      assert.equal(missing.code, 4, missing.stderr);
    });
  });
}
