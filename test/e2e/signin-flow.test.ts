/**
 * The sign-in slice end to end, against the real `janua serve` binary: sign-up, sign-in, me, profile,
 * refresh, sign-out (one / all), the session cap, the SDK's alias paths, and a graceful SIGTERM stop.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import type { Daemon } from '../helpers/janua.js';
import {
  AUTH,
  assertError,
  type Call,
  decodeJwt,
  e2eDaemon,
  eventually,
  ISO_RE,
  PASSWORD,
  rowCounts,
  signIn,
  signUp,
  USER_FIELDS,
  UUID_RE,
  uniqueEmail,
} from './support.js';

const MAX_SESSIONS = 3;

for (const dialect of dialects()) {
  describe(`e2e sign-in flow (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;

    // At debug the daemon logs each request as it comes in (the SIGTERM test waits for that line).
    e2eDaemon(dialect, { MAX_SESSIONS_PER_USER: String(MAX_SESSIONS), LOG_LEVEL: 'debug' }, (f) => {
      ({ d, call, store } = f);
    });

    function assertUser(u: Record<string, unknown>, email: string): void {
      assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
      assert.match(String(u['id']), UUID_RE);
      assert.equal(u['email'], email);
      assert.equal(u['email_verified'], false);
      assert.equal(u['phone_verified'], false);
      assert.equal(u['status'], 'active');
      assert.equal(u['mfa_enabled'], false);
      assert.equal(u['is_admin'], false);
      assert.match(String(u['created_at']), ISO_RE);
      assert.match(String(u['updated_at']), ISO_RE);
      assert.deepEqual(u['user_metadata'], {});
    }

    test('signup answers 201 with the documented fields, a session and the SDK user object', async () => {
      const email = uniqueEmail('signup');
      const res = await call('POST', `${AUTH}/signup`, {
        body: { email, password: PASSWORD, first_name: 'Jane', last_name: 'Developer' },
      });
      assert.equal(res.status, 201, res.text);
      const b = res.body;
      assert.match(b.id, UUID_RE);
      assert.equal(b.email, email);
      assert.equal(b.first_name, 'Jane');
      assert.equal(b.last_name, 'Developer');
      assert.equal(b.email_verified, false);
      assert.equal(typeof b.message, 'string');
      assert.equal(b.token_type, 'bearer');
      assert.equal(b.expires_in, 28800);
      assert.equal(typeof b.access_token, 'string');
      assert.equal(decodeJwt(b.access_token).header['alg'], 'RS256');
      assert.ok(b.refresh_token.length >= 22, 'refresh token carries at least 128 bits');
      assertUser(b.user, email);
      assert.equal(b.user.id, b.id);
      assert.equal(b.user.first_name, 'Jane');
      assert.equal(b.user.name, 'Jane Developer');
      // No secret leaves: no hash anywhere in the body.
      assert.doesNotMatch(res.text, /\$2[aby]\$|password/i);
      // The session is usable at once.
      const me = await call('GET', `${AUTH}/me`, { token: b.access_token });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.id, b.id);
    });

    test('duplicate email in any case or surrounding whitespace → 409 CONFLICT_ERROR, nothing written', async () => {
      const email = uniqueEmail('dup');
      await signUp(call, email);
      const before = await rowCounts(store);
      for (const variant of [
        email,
        email.toUpperCase(),
        `  ${email}  `,
        // (A TAB is a control character, refused with 422 like every other one: e2e/bad-input.)
        ` ${email.replace('dup', 'DUP')}\u00a0`,
      ]) {
        const res = await call('POST', `${AUTH}/signup`, { body: { email: variant, password: PASSWORD } });
        assertError(res, 409, 'CONFLICT_ERROR', `signup ${JSON.stringify(variant)}`);
      }
      assert.deepEqual(await rowCounts(store), before);
    });

    test('parallel sign-ups with one email: exactly one account, the others 409', async () => {
      const email = uniqueEmail('race');
      const before = await rowCounts(store);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          call('POST', `${AUTH}/signup`, {
            body: { email: i % 2 ? email.toUpperCase() : email, password: PASSWORD },
          }),
        ),
      );
      assert.equal(answers.filter((r) => r.status === 201).length, 1);
      for (const r of answers.filter((r) => r.status !== 201))
        assertError(r, 409, 'CONFLICT_ERROR', 'racing signup');
      const after = await rowCounts(store);
      assert.equal(after['users'], before['users']! + 1);
      assert.equal(after['sessions'], before['sessions']! + 1);
    });

    test('weak passwords → 422 VALIDATION_ERROR naming the rule, nothing written', async () => {
      const before = await rowCounts(store);
      for (const weak of [
        'short1!A',
        'alllowercase123!',
        'ALLUPPERCASE123!',
        'NoDigitsHere!!',
        'NoSymbols12345',
      ]) {
        const res = await call('POST', `${AUTH}/signup`, {
          body: { email: uniqueEmail('weak'), password: weak },
        });
        assertError(res, 422, 'VALIDATION_ERROR', `password ${weak}`);
        assert.match(res.body.detail, /password/i);
      }
      assert.deepEqual(await rowCounts(store), before);
    });

    test('signin returns a fresh session; /me and PATCH /profile work with its token', async () => {
      const email = uniqueEmail('signin');
      const created = await signUp(call, email, { first_name: 'Ann' });
      const res = await call('POST', `${AUTH}/signin`, {
        body: { email: ` ${email.toUpperCase()} `, password: PASSWORD },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), [
        'access_token',
        'expires_in',
        'refresh_token',
        'token_type',
        'tokens',
        'user',
      ]);
      // API.md, "Client compatibility": the tokens flat and nested, beside `user`.
      assert.deepEqual(res.body.tokens, {
        access_token: res.body.access_token,
        refresh_token: res.body.refresh_token,
        token_type: 'bearer',
        expires_in: res.body.expires_in,
      });
      assert.equal(res.body.token_type, 'bearer');
      assert.equal(res.body.expires_in, 28800);
      assertUser(res.body.user, email);
      assert.match(res.body.user.last_sign_in_at, ISO_RE);
      assert.notEqual(res.body.refresh_token, created.refresh_token);
      assert.notEqual(
        decodeJwt(res.body.access_token).payload['sid'],
        decodeJwt(created.access_token).payload['sid'],
      );

      const token = res.body.access_token;
      const me = await call('GET', `${AUTH}/me`, { token });
      assert.equal(me.status, 200, me.text);
      assertUser(me.body, email);
      assert.equal(me.body.first_name, 'Ann');

      const patch = await call('PATCH', `${AUTH}/profile`, {
        token,
        body: {
          first_name: 'Anna',
          last_name: 'Smith',
          display_name: 'annas',
          timezone: 'Europe/Madrid',
          locale: 'es-ES',
          user_metadata: { theme: 'dark', n: 2 },
        },
      });
      assert.equal(patch.status, 200, patch.text);
      assert.equal(patch.body.first_name, 'Anna');
      assert.equal(patch.body.name, 'Anna Smith');
      assert.equal(patch.body.display_name, 'annas');
      assert.deepEqual(patch.body.user_metadata, { theme: 'dark', n: 2 });
      assert.ok(Date.parse(patch.body.updated_at) >= Date.parse(me.body.updated_at));

      const again = await call('GET', `${AUTH}/me`, { token });
      assert.equal(again.body.last_name, 'Smith');
      assert.equal(again.body.timezone, 'Europe/Madrid');
      assert.equal(again.body.locale, 'es-ES');
      assert.deepEqual(again.body.user_metadata, { theme: 'dark', n: 2 });

      // An empty patch and a field that is not the user's to set are refused or dropped.
      assertError(
        await call('PATCH', `${AUTH}/profile`, { token, body: {} }),
        422,
        'VALIDATION_ERROR',
        'empty patch',
      );
      const sneaky = await call('PATCH', `${AUTH}/profile`, {
        token,
        body: { first_name: 'A', is_admin: true },
      });
      assert.equal(sneaky.status, 200, sneaky.text);
      assert.equal(sneaky.body.is_admin, false);
    });

    test('unknown email and wrong password get the identical answer', async () => {
      const email = uniqueEmail('enum');
      await signUp(call, email);
      const wrong = await call('POST', `${AUTH}/signin`, { body: { email, password: `${PASSWORD}x` } });
      const unknown = await call('POST', `${AUTH}/signin`, {
        body: { email: uniqueEmail('nobody'), password: `${PASSWORD}x` },
      });
      assertError(wrong, 401, 'AUTHENTICATION_ERROR', 'wrong password');
      assert.equal(unknown.status, wrong.status);
      assert.equal(unknown.text, wrong.text);
      assert.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate']);
      assert.equal(unknown.headers['retry-after'], wrong.headers['retry-after']);
    });

    test('token/refresh gives a new pair and spends the old refresh token', async () => {
      const s = await signUp(call);
      const res = await call('POST', `${AUTH}/token/refresh`, { body: { refresh_token: s.refresh_token } });
      assert.equal(res.status, 200, res.text);
      // RFC 6749 §5.1: a response carrying tokens is never stored by a cache.
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['pragma'], 'no-cache');
      assert.equal(res.body.token_type, 'bearer');
      assert.equal(res.body.expires_in, 28800);
      assert.notEqual(res.body.access_token, s.access_token);
      assert.notEqual(res.body.refresh_token, s.refresh_token);
      assert.equal(res.body.user.id, s.user.id);
      const oldClaims = decodeJwt(s.access_token).payload;
      const newClaims = decodeJwt(res.body.access_token).payload;
      assert.equal(newClaims['sid'], oldClaims['sid'], 'same session, rotated token');
      assert.notEqual(newClaims['jti'], oldClaims['jti']);
      assert.equal((await call('GET', `${AUTH}/me`, { token: res.body.access_token })).status, 200);
      // The new refresh token works once more before the old one is replayed.
      const second = await call('POST', `${AUTH}/token/refresh`, {
        body: { refresh_token: res.body.refresh_token },
      });
      assert.equal(second.status, 200, second.text);
      const replay = await call('POST', `${AUTH}/token/refresh`, {
        body: { refresh_token: s.refresh_token },
      });
      assertError(replay, 401, 'TOKEN_ERROR', 'spent refresh token');
      const unknown = await call('POST', `${AUTH}/token/refresh`, {
        body: { refresh_token: 'not-a-real-token' },
      });
      assertError(unknown, 401, 'TOKEN_ERROR', 'unknown refresh token');
    });

    test('signout ends this session only, at once; ?all=true ends every session', async () => {
      const email = uniqueEmail('signout');
      const a = await signUp(call, email);
      const b = await signIn(call, email);
      const c = await signIn(call, email);

      const out = await call('POST', `${AUTH}/signout`, { token: a.access_token });
      assert.equal(out.status, 200, out.text);
      assert.equal(out.body.sessions_revoked, 1);
      assertError(
        await call('GET', `${AUTH}/me`, { token: a.access_token }),
        401,
        'TOKEN_ERROR',
        'signed-out token',
      );
      assertError(
        await call('POST', `${AUTH}/token/refresh`, { body: { refresh_token: a.refresh_token } }),
        401,
        'TOKEN_ERROR',
        'signed-out refresh token',
      );
      assert.equal((await call('GET', `${AUTH}/me`, { token: b.access_token })).status, 200);
      assert.equal((await call('GET', `${AUTH}/me`, { token: c.access_token })).status, 200);

      const all = await call('POST', `${AUTH}/signout?all=true`, { token: b.access_token });
      assert.equal(all.status, 200, all.text);
      assert.equal(all.body.sessions_revoked, 2);
      for (const s of [b, c]) {
        assertError(
          await call('GET', `${AUTH}/me`, { token: s.access_token }),
          401,
          'TOKEN_ERROR',
          'after all',
        );
      }
      // Signing out needs a live token.
      assertError(await call('POST', `${AUTH}/signout`), 401, 'AUTHENTICATION_ERROR', 'no token');
      assertError(
        await call('POST', `${AUTH}/signout`, { token: b.access_token }),
        401,
        'TOKEN_ERROR',
        'twice',
      );
    });

    test(`at most MAX_SESSIONS_PER_USER (${MAX_SESSIONS}) live sessions: the oldest is revoked`, async () => {
      const email = uniqueEmail('cap');
      const sessions = [await signUp(call, email)];
      for (let i = 0; i < MAX_SESSIONS; i++) sessions.push(await signIn(call, email));
      const [oldest, ...rest] = sessions;
      assertError(
        await call('GET', `${AUTH}/me`, { token: oldest!.access_token }),
        401,
        'TOKEN_ERROR',
        'oldest',
      );
      for (const s of rest)
        assert.equal((await call('GET', `${AUTH}/me`, { token: s.access_token })).status, 200);

      const userId = oldest!.user.id as string;
      const rows = await store.db
        .selectFrom('sessions')
        .select(['id', 'revoked_at', 'revoke_reason'])
        .where('user_id', '=', userId)
        .execute();
      assert.equal(rows.length, MAX_SESSIONS + 1);
      assert.equal(rows.filter((r) => r.revoked_at === null).length, MAX_SESSIONS);
      const revoked = rows.filter((r) => r.revoked_at !== null);
      assert.equal(revoked.length, 1);
      assert.equal(revoked[0]!.id, decodeJwt(oldest!.access_token).payload['sid']);
      assert.equal(revoked[0]!.revoke_reason, 'session_limit');
    });

    test('the SDK aliases /register, /login, /refresh, /logout serve the same handlers', async () => {
      const email = uniqueEmail('alias');
      const reg = await call('POST', `${AUTH}/register`, {
        body: { email, password: PASSWORD, first_name: 'Al' },
      });
      assert.equal(reg.status, 201, reg.text);
      for (const k of [
        'id',
        'email',
        'first_name',
        'last_name',
        'email_verified',
        'message',
        'access_token',
      ]) {
        assert.ok(k in reg.body, `register answers ${k}`);
      }
      assertUser(reg.body.user, email);
      assertError(
        await call('POST', `${AUTH}/register`, { body: { email, password: PASSWORD } }),
        409,
        'CONFLICT_ERROR',
        'register twice',
      );

      const login = await call('POST', `${AUTH}/login`, { body: { email, password: PASSWORD } });
      assert.equal(login.status, 200, login.text);
      assertUser(login.body.user, email);
      assertError(
        await call('POST', `${AUTH}/login`, { body: { email, password: 'Wrong-Password-1' } }),
        401,
        'AUTHENTICATION_ERROR',
        'login wrong password',
      );

      const refreshed = await call('POST', `${AUTH}/refresh`, {
        body: { refresh_token: login.body.refresh_token },
      });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);
      assertError(
        await call('POST', `${AUTH}/refresh`, { body: { refresh_token: login.body.refresh_token } }),
        401,
        'TOKEN_ERROR',
        'refresh alias replay',
      );

      // A refresh token of someone else's session in the logout body ends only the caller's own session.
      const bystander = await signUp(call);
      const mine = await signIn(call, email);
      const foreign = await call('POST', `${AUTH}/logout`, {
        token: mine.access_token,
        body: { refresh_token: bystander.refresh_token },
      });
      assert.equal(foreign.status, 200, foreign.text);
      assert.equal(foreign.body.sessions_revoked, 1);
      assert.equal((await call('GET', `${AUTH}/me`, { token: bystander.access_token })).status, 200);
      assertError(
        await call('GET', `${AUTH}/me`, { token: mine.access_token }),
        401,
        'TOKEN_ERROR',
        'own session',
      );

      // The SDK's logout: the bearer token plus {refresh_token}; here the refresh token is another session's.
      const other = await signIn(call, email);
      const logout = await call('POST', `${AUTH}/logout`, {
        token: reg.body.access_token,
        body: { refresh_token: other.refresh_token },
      });
      assert.equal(logout.status, 200, logout.text);
      assert.equal(logout.body.sessions_revoked, 2);
      for (const token of [reg.body.access_token, other.access_token]) {
        assertError(await call('GET', `${AUTH}/me`, { token }), 401, 'TOKEN_ERROR', 'after logout');
      }
    });

    test('a refresh failure is a clean 401 the SDK can act on', async () => {
      const res = await call('POST', `${AUTH}/refresh`, { body: { refresh_token: 'x'.repeat(40) } });
      assertError(res, 401, 'TOKEN_ERROR', 'refresh with garbage');
    });

    test('SIGTERM: an in-flight request is finished, then the daemon exits 0 without waiting on keep-alive', async () => {
      assert.equal((await call('GET', '/health')).status, 200);
      // A sign-up whose body is only half sent: provably in flight when the signal arrives.
      const email = uniqueEmail('inflight');
      const json = JSON.stringify({ email, password: PASSWORD });
      const half = Math.floor(json.length / 2);
      const body = new PassThrough();
      const pending = request(`${d.url}${AUTH}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'e2e-inflight' },
        body,
      });
      body.write(json.slice(0, half));
      await eventually('the daemon received the request', 10_000, async () =>
        d.logs.some((l) => l.includes('"e2e-inflight"') && l.includes('incoming request')) ? true : undefined,
      );
      const exited = d.stop('SIGTERM');
      await eventually('the daemon began stopping', 10_000, async () =>
        d.logs.some((l) => l.includes('stopping: finishing in-flight requests')) ? true : undefined,
      );
      body.end(json.slice(half));
      const res = await pending;
      const created = (await res.body.json()) as { email: string; access_token: string };
      assert.equal(res.statusCode, 201);
      assert.equal(created.email, email);
      assert.equal(typeof created.access_token, 'string');
      assert.equal(res.headers['connection'], 'close', 'a stopping daemon closes the connection');

      // The exit must not wait for the 72 s keep-alive timeout of the connection that served the request.
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((resolve) => {
          timer = setTimeout(() => resolve('hung'), 20_000);
        }),
      ]);
      clearTimeout(timer);
      if (code === 'hung') d.child.kill('SIGKILL');
      assert.equal(code, 0, d.logs.slice(-5).join('\n'));
      assert.ok(
        d.logs.some((l) => l.includes('"stopped"')),
        'logs that it stopped',
      );
      await assert.rejects(call('GET', '/health'));
    });
  });
}
