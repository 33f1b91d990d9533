/**
 * /api/v1/passkeys over a real database (in-process, app.inject) with the software authenticator: both
 * spellings of each ceremony, the documented error format for anonymous and malformed requests, availability,
 * and deletion for an account without a password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { passwordCredentials } from '../../src/core/store/repos/credentials.js';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

const ORIGIN = 'https://app.example.com';
const PK = '/api/v1/passkeys';

for (const dialect of dialects()) {
  describe(`passkeys API (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await testApp(dialect, {
        WEBAUTHN_RP_ID: 'example.com',
        WEBAUTHN_RP_NAME: 'Example',
        WEBAUTHN_ORIGINS: ORIGIN,
      });
    });
    after(() => t.close());

    const inject = async (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      body?: unknown,
      token?: string,
    ) => {
      const res = await t.app.inject({
        method,
        url,
        ...(body === undefined ? {} : { payload: body as object }),
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return {
        status: res.statusCode,
        body: res.json() as Record<string, unknown> & Array<Record<string, unknown>>,
      };
    };
    const isError = (r: { status: number; body: Record<string, unknown> }, status: number, code: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body).sort(), ['detail', 'error_code', 'status_code']);
      assert.equal(r.body['error_code'], code);
    };
    async function account(email: string) {
      const r = await inject('POST', '/api/v1/auth/signup', { email, password: GOOD_PASSWORD });
      assert.equal(r.status, 201);
      return { token: String(r.body['access_token']), id: String((r.body['user'] as { id: string }).id) };
    }

    test('availability names the relying party; anonymous and malformed requests get the error format', async () => {
      const a = await inject('GET', `${PK}/availability`);
      assert.equal(a.status, 200);
      assert.equal(a.body['available'], true);
      assert.equal(a.body['rp_id'], 'example.com');
      assert.equal(a.body['rp_name'], 'Example');
      isError(await inject('POST', `${PK}/register/begin`, {}), 401, 'AUTHENTICATION_ERROR');
      isError(await inject('GET', `${PK}/`), 401, 'AUTHENTICATION_ERROR');
      isError(await inject('POST', `${PK}/authenticate/complete`, {}), 422, 'VALIDATION_ERROR');
      isError(
        await inject('POST', `${PK}/authenticate/verify`, {
          credential: { id: 'a', rawId: 'a', type: 'other', response: {} },
        }),
        422,
        'VALIDATION_ERROR',
      );
    });

    test('both spellings register and sign in; the options are WebAuthn JSON', async () => {
      const me = await account('api-pk@example.com');
      const auth = new SoftAuthenticator('example.com', ORIGIN);
      for (const [begin, complete] of [
        ['register/begin', 'register/complete'],
        ['register/options', 'register/verify'],
      ] as const) {
        t.clock.advance(1000); // "oldest first" below: the two registrations a second apart
        const o = await inject('POST', `${PK}/${begin}`, {}, me.token);
        assert.equal(o.status, 200);
        assert.deepEqual((o.body['rp'] as Record<string, unknown>)['id'], 'example.com');
        assert.equal(
          (o.body['authenticatorSelection'] as Record<string, unknown>)['residentKey'],
          'required',
        );
        const made = auth.create(o.body as never);
        const r = await inject(
          'POST',
          `${PK}/${complete}`,
          { credential: made.response, name: begin },
          me.token,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body['verified'], true);
      }
      const list = await inject('GET', `${PK}/`, undefined, me.token);
      assert.deepEqual(
        list.body.map((p) => p['name']),
        ['register/begin', 'register/options'],
      );
      for (const [begin, complete] of [
        ['authenticate/begin', 'authenticate/complete'],
        ['authenticate/options', 'authenticate/verify'],
      ] as const) {
        const o = await inject('POST', `${PK}/${begin}`, { email: 'api-pk@example.com' });
        assert.equal(o.status, 200);
        assert.equal((o.body['allowCredentials'] as unknown[]).length, 2);
        const r = await inject('POST', `${PK}/${complete}`, {
          credential: auth.get(o.body as never),
          challenge: 'ignored',
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body['access_token'], (r.body['tokens'] as Record<string, unknown>)['access_token']);
        assert.equal((r.body['user'] as { id: string }).id, me.id);
      }
      // An email without an account gets options of the same shape.
      const unknown = await inject('POST', `${PK}/authenticate/options`, { email: 'nobody@example.com' });
      assert.equal(unknown.status, 200);
      assert.equal((unknown.body['allowCredentials'] as unknown[]).length, 1);
    });

    test('rename and delete; an account without a password deletes on its session alone', async () => {
      const me = await account('api-pk2@example.com');
      const auth = new SoftAuthenticator('example.com', ORIGIN);
      const o = await inject('POST', `${PK}/register/begin`, null, me.token);
      const r = await inject(
        'POST',
        `${PK}/register/complete`,
        { credential: auth.create(o.body as never).response },
        me.token,
      );
      const id = String(r.body['passkey_id']);
      assert.equal((r.body['passkey'] as Record<string, unknown>)['name'], 'Passkey');
      const renamed = await inject('PATCH', `${PK}/${id}`, { name: 'YubiKey' }, me.token);
      assert.equal(renamed.body['name'], 'YubiKey');
      isError(await inject('PATCH', `${PK}/not-a-uuid`, { name: 'x' }, me.token), 422, 'VALIDATION_ERROR');
      isError(await inject('DELETE', `${PK}/${id}`, {}, me.token), 422, 'VALIDATION_ERROR');
      // Passkey-only account (e.g. its password was never set): the session is the proof.
      await t.c.store.db.deleteFrom('password_credentials').where('user_id', '=', me.id).execute();
      assert.equal(await passwordCredentials.getHash(t.c.store.db, me.id), undefined);
      const del = await inject('DELETE', `${PK}/${id}`, undefined, me.token);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      isError(await inject('DELETE', `${PK}/${id}`, undefined, me.token), 404, 'NOT_FOUND_ERROR');
    });
  });
}
