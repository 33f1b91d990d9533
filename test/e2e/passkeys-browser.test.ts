/**
 * Passkeys in a real browser: Debian's Chromium, headless, driven by playwright-core, with the DevTools
 * WebAuthn virtual authenticator (CTAP2, internal transport, resident keys, user verification) against the
 * spawned `janua serve`. The page is served by a loopback static server on `localhost` (a secure context, and
 * the RP id); a second one on another port stands for an origin not in WEBAUTHN_ORIGINS. The page itself calls
 * our API (CORS) and `navigator.credentials`, as an app would; the negative runs post the browser's responses
 * from here so they can be replayed or re-used. Each refusal is a clear error, audited, and changes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import {
  AUTH,
  assertError,
  auditRows,
  type Call,
  e2eDaemon,
  PASSWORD,
  rowCounts,
  type Session,
  signUp,
  snapshot,
  UUID_RE,
  uniqueEmail,
} from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const PK = '/api/v1/passkeys';

/** The test page: helpers that turn our API's options JSON into a ceremony and the credential back into JSON. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>passkeys test page</title><script>
window.pk = {
  async api(base, path, body, token) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
    return { status: res.status, body: await res.json() };
  },
  async create(options) {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
    return (await navigator.credentials.create({ publicKey })).toJSON();
  },
  async get(options) {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
    return (await navigator.credentials.get({ publicKey })).toJSON();
  },
  /** A whole registration as an app does it: begin, create, complete. */
  async register(base, token, paths, name) {
    const begin = await this.api(base, paths[0], {}, token);
    if (begin.status !== 200) return begin;
    const credential = await this.create(begin.body);
    return this.api(base, paths[1], { credential, name }, token);
  },
  /** A whole sign-in: begin (with or without an email), get, complete. */
  async signIn(base, email, paths) {
    const begin = await this.api(base, paths[0], email ? { email } : {});
    if (begin.status !== 200) return begin;
    const credential = await this.get(begin.body);
    return this.api(base, paths[1], { credential, challenge: begin.body.challenge, email });
  },
};
</script>`;

async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

interface Tab {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

const chromiumMissing = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install chromium)`;

for (const dialect of dialects()) {
  describe(`e2e passkeys in Chromium (${dialect})`, { skip: chromiumMissing }, () => {
    const env: Record<string, string> = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_RP_NAME: 'Janua e2e' };
    let good: { server: Server; origin: string };
    let evil: { server: Server; origin: string };
    let browser: Browser;
    let call: Call;
    let store: Store;
    let api: string;

    before(async () => {
      good = await pageServer();
      evil = await pageServer();
      env['WEBAUTHN_ORIGINS'] = good.origin;
      // Both pages may call the API (CORS is not what guards a ceremony; the origin list is).
      env['CORS_ORIGINS'] = `${good.origin},${evil.origin}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
    });
    e2eDaemon(dialect, env, (f) => {
      ({ call, store } = f);
      api = f.d.url;
    });
    after(async () => {
      await browser?.close();
      for (const s of [good, evil]) s?.server.close();
    });

    /** A fresh page on `origin` with its own virtual authenticator. */
    async function tab(origin = good.origin): Promise<Tab> {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable', { enableUI: false });
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      return { page, cdp, authenticatorId };
    }
    const inPage = <T>(t: Tab, fn: string, ...args: unknown[]): Promise<T> =>
      // The function runs in the page, where `pk` is the test page's global (no DOM types in this project).
      t.page.evaluate(
        ([f, a]) => {
          const pk = (globalThis as unknown as { pk: Record<string, (...x: unknown[]) => unknown> }).pk;
          return pk[f]!.apply(pk, a);
        },
        [fn, args] as [string, unknown[]],
      ) as Promise<T>;
    type PageRes = { status: number; body: Record<string, unknown> & { detail?: string } };

    async function storedCredential(id: string) {
      return store.db
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
    }
    async function lastPasskeyFailure(action = 'auth.signin') {
      const rows = (await auditRows(store, action)).filter(
        (r) => r.outcome === 'failure' && r.metadata['method'] === 'passkey',
      );
      return rows;
    }

    let alice: Session;
    let aliceTab: Tab;
    let passkeyId: string;

    test('register a passkey in the browser (documented begin/complete paths), then list it', async () => {
      alice = await signUp(call, uniqueEmail('pk-alice'));
      aliceTab = await tab();
      const res = await inPage<PageRes>(
        aliceTab,
        'register',
        api,
        alice.access_token,
        [`${PK}/register/begin`, `${PK}/register/complete`],
        'Chromium',
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body['verified'], true);
      passkeyId = String(res.body['passkey_id']);
      assert.match(passkeyId, UUID_RE);
      const list = await call('GET', `${PK}/`, { token: alice.access_token });
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.map((p: { id: string; name: string }) => [p.id, p.name]),
        [[passkeyId, 'Chromium']],
      );
      assert.equal(list.body[0].backed_up, false);
      assert.deepEqual(list.body[0].transports, ['internal']);
      const { credentials } = await aliceTab.cdp.send('WebAuthn.getCredentials', {
        authenticatorId: aliceTab.authenticatorId,
      });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0]?.isResidentCredential, true, 'a discoverable credential');
      assert.equal(
        credentials[0]?.credentialId.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
        list.body[0].credential_id,
      );
      const events = await store.db
        .selectFrom('outbox')
        .select('payload')
        .where('event_type', '=', 'security.passkey.registered')
        .execute();
      assert.equal(events.length, 1);
    });

    test('sign in usernameless and email-first (both spellings); the tokens work', async () => {
      const usernameless = await inPage<PageRes>(aliceTab, 'signIn', api, null, [
        `${PK}/authenticate/begin`,
        `${PK}/authenticate/complete`,
      ]);
      assert.equal(usernameless.status, 200, JSON.stringify(usernameless.body));
      const emailFirst = await inPage<PageRes>(aliceTab, 'signIn', api, alice.user.email, [
        `${PK}/authenticate/options`,
        `${PK}/authenticate/verify`,
      ]);
      assert.equal(emailFirst.status, 200, JSON.stringify(emailFirst.body));
      for (const res of [usernameless, emailFirst]) {
        const body = res.body as Record<string, unknown> & {
          tokens: Record<string, unknown>;
          user: { id: string };
        };
        assert.equal(body.user.id, alice.user.id);
        assert.equal(body['access_token'], body.tokens['access_token']);
        const me = await call('GET', `${AUTH}/me`, { token: String(body['access_token']) });
        assert.equal(me.status, 200);
        assert.equal(me.body.id, alice.user.id);
        const refreshed = await call('POST', `${AUTH}/refresh`, {
          body: { refresh_token: body['refresh_token'] },
        });
        assert.equal(refreshed.status, 200);
      }
      const stored = await storedCredential(passkeyId);
      assert.ok(
        Number(stored.sign_count) >= 2,
        `the counter follows the authenticator (${stored.sign_count})`,
      );
      const ok = (await auditRows(store, 'auth.signin')).filter(
        (r) => r.outcome === 'success' && r.metadata['method'] === 'passkey',
      );
      assert.equal(ok.length, 2);
    });

    test('a replayed assertion and a re-used challenge are refused, audited, and change nothing', async () => {
      const options = (await call('POST', `${PK}/authenticate/begin`, { body: {} })).body;
      const assertion = await inPage<Record<string, unknown>>(aliceTab, 'get', options);
      const first = await call('POST', `${PK}/authenticate/complete`, { body: { credential: assertion } });
      assert.equal(first.status, 200, first.text);
      const before = await snapshot(store);
      const counts = await rowCounts(store);
      const replay = await call('POST', `${PK}/authenticate/complete`, { body: { credential: assertion } });
      assertError(replay, 401, 'AUTHENTICATION_ERROR', 'replayed assertion');
      assert.match(replay.body.detail, /challenge/);
      // The same options signed again by the authenticator: a fresh signature over a spent challenge.
      const again = await inPage<Record<string, unknown>>(aliceTab, 'get', options);
      const reused = await call('POST', `${PK}/authenticate/complete`, { body: { credential: again } });
      assertError(reused, 401, 'AUTHENTICATION_ERROR', 're-used challenge');
      assert.deepEqual(await rowCounts(store), counts);
      const after = await snapshot(store);
      assert.deepEqual(
        { ...after, audit_events: [] },
        { ...before, audit_events: [] },
        'only audit rows were added',
      );
      const reasons = (await lastPasskeyFailure()).map((r) => r.metadata['reason']);
      assert.deepEqual(reasons.slice(-2), ['challenge', 'challenge']);
    });

    test('a page on an origin not in WEBAUTHN_ORIGINS is refused (registration and sign-in)', async () => {
      const bob = await signUp(call, uniqueEmail('pk-bob'));
      const evilTab = await tab(evil.origin);
      const reg = await inPage<PageRes>(
        evilTab,
        'register',
        api,
        bob.access_token,
        [`${PK}/register/begin`, `${PK}/register/complete`],
        'evil',
      );
      assert.equal(reg.status, 400, JSON.stringify(reg.body));
      assert.match(String(reg.body.detail), /origin/);
      assert.equal((await call('GET', `${PK}/`, { token: bob.access_token })).body.length, 0);

      // Alice's credential, copied into an authenticator on the other origin, signs a real assertion there.
      const { credentials } = await aliceTab.cdp.send('WebAuthn.getCredentials', {
        authenticatorId: aliceTab.authenticatorId,
      });
      const cred = credentials[0]!;
      await evilTab.cdp.send('WebAuthn.addCredential', {
        authenticatorId: evilTab.authenticatorId,
        credential: { ...cred, signCount: cred.signCount + 100 },
      });
      const before = await storedCredential(passkeyId);
      // Email-first, so the authenticator answers with Alice's credential and not the one the refused
      // registration above left in it (which of two discoverable ones it picks is not defined).
      const res = await inPage<PageRes>(evilTab, 'signIn', api, alice.user.email, [
        `${PK}/authenticate/begin`,
        `${PK}/authenticate/complete`,
      ]);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(String(res.body.detail), /origin/);
      assert.equal((await lastPasskeyFailure()).at(-1)?.metadata['reason'], 'origin');
      assert.deepEqual(await storedCredential(passkeyId), before);
    });

    test('the authenticator’s bogus-signature and bad-UV overrides are refused', async () => {
      const before = await storedCredential(passkeyId);
      for (const [bits, reason, message] of [
        [{ isBogusSignature: true }, 'signature', /signature/],
        [{ isBadUV: true }, 'user_verification', /verif/],
      ] as const) {
        await aliceTab.cdp.send('WebAuthn.setResponseOverrideBits', {
          authenticatorId: aliceTab.authenticatorId,
          ...bits,
        });
        const res = await inPage<PageRes>(aliceTab, 'signIn', api, null, [
          `${PK}/authenticate/begin`,
          `${PK}/authenticate/complete`,
        ]);
        assert.equal(res.status, 401, JSON.stringify(res.body));
        assert.match(String(res.body.detail), message);
        assert.equal((await lastPasskeyFailure()).at(-1)?.metadata['reason'], reason);
      }
      await aliceTab.cdp.send('WebAuthn.setResponseOverrideBits', {
        authenticatorId: aliceTab.authenticatorId,
        isBogusSignature: false,
        isBadUV: false,
        isBadUP: false,
      });
      assert.deepEqual(await storedCredential(passkeyId), before);
    });

    test('a cloned authenticator (its counter behind the stored one) is refused and audited', async () => {
      const { credentials } = await aliceTab.cdp.send('WebAuthn.getCredentials', {
        authenticatorId: aliceTab.authenticatorId,
      });
      const cred = credentials[0]!;
      const stored = Number((await storedCredential(passkeyId)).sign_count);
      assert.ok(stored > 1);
      const clone = await tab();
      await clone.cdp.send('WebAuthn.addCredential', {
        authenticatorId: clone.authenticatorId,
        credential: { ...cred, signCount: 0 },
      });
      const res = await inPage<PageRes>(clone, 'signIn', api, alice.user.email, [
        `${PK}/authenticate/begin`,
        `${PK}/authenticate/complete`,
      ]);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(String(res.body.detail), /counter/);
      const audit = (await lastPasskeyFailure()).at(-1);
      assert.equal(audit?.metadata['reason'], 'counter_regression');
      assert.equal(audit?.target_id, alice.user.id);
      assert.equal(Number((await storedCredential(passkeyId)).sign_count), stored);
      // The genuine authenticator still signs in.
      const ok = await inPage<PageRes>(aliceTab, 'signIn', api, null, [
        `${PK}/authenticate/begin`,
        `${PK}/authenticate/complete`,
      ]);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });

    test('a registration challenge issued to another user is refused', async () => {
      const carol = await signUp(call, uniqueEmail('pk-carol'));
      const forCarol = (await call('POST', `${PK}/register/options`, { token: carol.access_token, body: {} }))
        .body;
      const t = await tab();
      const credential = await inPage<Record<string, unknown>>(t, 'create', forCarol);
      const res = await call('POST', `${PK}/register/verify`, {
        token: alice.access_token,
        body: { credential },
      });
      assertError(res, 400, 'BAD_REQUEST', 'another user’s challenge');
      assert.match(res.body.detail, /challenge/);
      assert.equal((await call('GET', `${PK}/`, { token: alice.access_token })).body.length, 1);
      // Carol's own completion with it still works: the refused attempt did not spend her challenge.
      const own = await call('POST', `${PK}/register/verify`, {
        token: carol.access_token,
        body: { credential },
      });
      assert.equal(own.status, 200, own.text);
    });

    test('rename, then delete with the password; the removed passkey no longer signs in', async () => {
      const token = alice.access_token;
      const renamed = await call('PATCH', `${PK}/${passkeyId}`, { token, body: { name: 'Work laptop' } });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.name, 'Work laptop');
      assertError(
        await call('DELETE', `${PK}/${passkeyId}`, { token, body: { password: 'wrong' } }),
        422,
        'VALIDATION_ERROR',
      );
      const del = await call('DELETE', `${PK}/${passkeyId}`, { token, body: { password: PASSWORD } });
      assert.equal(del.status, 200, del.text);
      assert.deepEqual((await call('GET', `${PK}/`, { token })).body, []);
      const res = await inPage<PageRes>(aliceTab, 'signIn', api, null, [
        `${PK}/authenticate/begin`,
        `${PK}/authenticate/complete`,
      ]);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(String(res.body.detail), /not registered/);
      const removed = await store.db
        .selectFrom('outbox')
        .select('payload')
        .where('event_type', '=', 'security.passkey.removed')
        .execute();
      assert.equal(removed.length, 1);
    });
  });
}
