/**
 * Access tokens as a relying party sees them (verified with jose against the published JWKS), key rotation
 * by `janua keys rotate` in the middle of a session, and refresh-token reuse detection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Store } from '../../src/core/store/store.js';
import { dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli } from '../helpers/janua.js';
import {
  AUTH,
  assertError,
  auditRows,
  type Call,
  decodeJwt,
  e2eDaemon,
  eventually,
  ISO_RE,
  signIn,
  signUp,
  UUID_RE,
  uniqueEmail,
} from './support.js';

for (const dialect of dialects()) {
  describe(`e2e tokens and keys (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    let call: Call;
    let store: Store;
    const masterKey = newMasterKey();
    const cli = (args: string[]) =>
      runCli(args, {
        env: { DATABASE_URL: db.url, JANUA_MASTER_KEY: masterKey, JANUA_DATA_DIR: d.env['JANUA_DATA_DIR'] },
      });

    e2eDaemon(dialect, { JANUA_MASTER_KEY: masterKey, JANUA_KEYS_RELOAD_SECONDS: '1' }, (f) => {
      ({ db, d, call, store } = f);
    });

    test('access tokens verify against the published JWKS with the documented claims', async () => {
      const email = uniqueEmail('jwks');
      const s = await signUp(call, email);
      const jwksRes = await call('GET', '/.well-known/jwks.json');
      assert.equal(jwksRes.status, 200);
      assert.match(String(jwksRes.headers['cache-control']), /max-age=\d+/);
      for (const k of jwksRes.body.keys) {
        assert.equal(k.kty, 'RSA');
        assert.equal(k.alg, 'RS256');
        assert.equal(k.use, 'sig');
        assert.equal(typeof k.kid, 'string');
        assert.ok(!('d' in k) && !('p' in k) && !('q' in k), 'no private key material is published');
      }

      const jwks = createRemoteJWKSet(new URL(`${d.url}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(s.access_token, jwks, {
        issuer: d.url,
        audience: 'janua.dev',
        algorithms: ['RS256'],
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.ok(jwksRes.body.keys.some((k: { kid: string }) => k.kid === protectedHeader.kid));
      assert.equal(payload.iss, d.url);
      assert.equal(payload.aud, 'janua.dev');
      assert.equal(payload.sub, s.user.id);
      assert.match(String(payload['sid']), UUID_RE);
      assert.match(String(payload.jti), UUID_RE);
      assert.equal(payload['type'], 'access');
      assert.equal(payload['email'], email);
      assert.equal(typeof payload.iat, 'number');
      assert.equal(payload.exp! - payload.iat!, 28800);
      assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 120);

      // Another relying party with the wrong audience or issuer expectations refuses it.
      await assert.rejects(jwtVerify(s.access_token, jwks, { audience: 'someone-else' }));
      await assert.rejects(jwtVerify(s.access_token, jwks, { issuer: 'https://evil.example' }));
    });

    test('`janua keys list --json` lists one active and one next key', async () => {
      const res = await cli(['keys', 'list', '--json']);
      assert.equal(res.code, 0, res.stderr);
      const out = JSON.parse(res.stdout) as { keys: Array<Record<string, unknown>> };
      assert.ok(Array.isArray(out.keys));
      for (const k of out.keys) {
        assert.deepEqual(Object.keys(k).sort(), [
          'activated_at',
          'alg',
          'created_at',
          'kid',
          'retired_at',
          'retires_at',
          'state',
        ]);
        assert.equal(k['alg'], 'RS256');
        assert.match(String(k['created_at']), ISO_RE);
        assert.ok(['next', 'active', 'retired'].includes(String(k['state'])));
      }
      assert.equal(out.keys.filter((k) => k['state'] === 'active').length, 1);
      assert.equal(out.keys.filter((k) => k['state'] === 'next').length, 1);
      const active = out.keys.find((k) => k['state'] === 'active')!;
      assert.match(String(active['activated_at']), ISO_RE);
      assert.equal(active['retired_at'], null);
      // The JWKS the daemon publishes holds exactly these keys.
      const jwks = await call('GET', '/.well-known/jwks.json');
      assert.deepEqual(
        jwks.body.keys.map((k: { kid: string }) => k.kid).sort(),
        out.keys.map((k) => k['kid']).sort(),
      );
    });

    test('rotation mid-session: old tokens keep working, new tokens use the new key', async () => {
      const email = uniqueEmail('rotate');
      const s = await signUp(call, email);
      const oldKid = decodeJwt(s.access_token).header['kid'];

      const rotated = await cli(['keys', 'rotate', '--json']);
      assert.equal(rotated.code, 0, rotated.stderr);
      const r = JSON.parse(rotated.stdout) as { activated: string; retired: string[]; next: string };
      assert.deepEqual(r.retired, [oldKid]);
      assert.notEqual(r.activated, oldKid);
      assert.notEqual(r.next, r.activated);

      // The token signed before the rotation is still accepted by the daemon and by a JWKS verifier.
      const me = await call('GET', `${AUTH}/me`, { token: s.access_token });
      assert.equal(me.status, 200, me.text);
      const jwks = createRemoteJWKSet(new URL(`${d.url}/.well-known/jwks.json`));
      const verified = await jwtVerify(s.access_token, jwks, { issuer: d.url, audience: 'janua.dev' });
      assert.equal(verified.protectedHeader.kid, oldKid);

      // Within the reload interval (1 s here) new tokens carry the new kid.
      const fresh = await eventually('new tokens signed with the rotated key', 5000, async () => {
        const t = await signIn(call, email);
        return decodeJwt(t.access_token).header['kid'] === r.activated ? t : undefined;
      });
      const v2 = await jwtVerify(fresh.access_token, jwks, { issuer: d.url, audience: 'janua.dev' });
      assert.equal(v2.protectedHeader.kid, r.activated);
      assert.equal((await call('GET', `${AUTH}/me`, { token: fresh.access_token })).status, 200);

      // JWKS publishes the retired, the active and the next key.
      const published = (await call('GET', '/.well-known/jwks.json')).body.keys.map(
        (k: { kid: string }) => k.kid,
      );
      for (const kid of [oldKid, r.activated, r.next]) assert.ok(published.includes(kid), `JWKS has ${kid}`);

      const list = JSON.parse((await cli(['keys', 'list', '--json'])).stdout) as {
        keys: Array<{ kid: string; state: string; retired_at: string | null; retires_at: string | null }>;
      };
      const byKid = new Map(list.keys.map((k) => [k.kid, k]));
      assert.equal(byKid.get(String(oldKid))?.state, 'retired');
      assert.match(String(byKid.get(String(oldKid))?.retires_at), ISO_RE);
      assert.ok(Date.parse(String(byKid.get(String(oldKid))?.retires_at)) > Date.now() + 28_000_000);
      assert.equal(byKid.get(r.activated)?.state, 'active');
      assert.equal(byKid.get(r.next)?.state, 'next');
    });

    test('refresh-token reuse revokes the whole family and is audited', async () => {
      const s = await signUp(call);
      const first = await call('POST', `${AUTH}/token/refresh`, { body: { refresh_token: s.refresh_token } });
      assert.equal(first.status, 200, first.text);
      const legit = first.body as { access_token: string; refresh_token: string };
      assert.equal((await call('GET', `${AUTH}/me`, { token: legit.access_token })).status, 200);

      // An attacker replays the spent token …
      const replay = await call('POST', `${AUTH}/token/refresh`, {
        body: { refresh_token: s.refresh_token },
      });
      assertError(replay, 401, 'TOKEN_ERROR', 'replayed refresh token');
      // … and from then on the legitimate holder's tokens fail too.
      const next = await call('POST', `${AUTH}/token/refresh`, {
        body: { refresh_token: legit.refresh_token },
      });
      assertError(next, 401, 'TOKEN_ERROR', 'refresh after family revoked');
      assertError(
        await call('GET', `${AUTH}/me`, { token: legit.access_token }),
        401,
        'TOKEN_ERROR',
        'access token of the revoked family',
      );

      const sid = decodeJwt(s.access_token).payload['sid'];
      const rows = await auditRows(store, 'auth.refresh.reuse');
      const mine = rows.filter((row) => row.target_id === sid);
      assert.ok(mine.length >= 1, 'an auth.refresh.reuse audit row names the session');
      assert.equal(mine[0]!.outcome, 'failure');
      assert.equal(mine[0]!.metadata['user_id'], s.user.id);
      const session = await store.db
        .selectFrom('sessions')
        .select(['revoked_at', 'revoke_reason'])
        .where('id', '=', String(sid))
        .executeTakeFirstOrThrow();
      assert.notEqual(session.revoked_at, null);
      assert.equal(session.revoke_reason, 'refresh_token_reuse');
    });

    test('one refresh token presented 8 times at once: one new pair, then the family is revoked', async () => {
      const s = await signUp(call);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          call('POST', `${AUTH}/token/refresh`, { body: { refresh_token: s.refresh_token } }),
        ),
      );
      const ok = answers.filter((a) => a.status === 200);
      assert.equal(ok.length, 1, answers.map((a) => a.status).join(','));
      for (const a of answers.filter((x) => x.status !== 200))
        assertError(a, 401, 'TOKEN_ERROR', 'a concurrent replay');
      // The seven replays revoked the family: the one pair issued is dead too.
      const winner = ok[0]!.body as { access_token: string; refresh_token: string };
      assertError(
        await call('POST', `${AUTH}/token/refresh`, { body: { refresh_token: winner.refresh_token } }),
        401,
        'TOKEN_ERROR',
        'refresh after the concurrent replays',
      );
      const live = await store.db
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .select(({ fn }) => fn.countAll<number>().as('n'))
        .where('sessions.user_id', '=', s.user.id)
        .where('sessions.revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      assert.equal(Number(live.n), 0, 'no live session is left for the account');
    });
  });
}
