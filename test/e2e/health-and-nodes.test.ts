/**
 * Probes, OpenAPI, request ids and headers on the spawned daemon; and, on Postgres, two daemons behind one
 * database and one Redis, as behind a load balancer: a sign-out on one node holds on the other at once, rate
 * limits are shared, and readiness follows the database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fetch, request } from 'undici';
import { GOOD_PASSWORD } from '../helpers/app.js';
import { createTestDatabase, dialects, PG_URL, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, startDaemon } from '../helpers/janua.js';

async function json(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, init);
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  json(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

for (const dialect of dialects()) {
  describe(`health, docs and headers (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    before(async () => {
      db = await createTestDatabase(dialect);
      d = await startDaemon({ databaseUrl: db.url, env: { CORS_ORIGINS: 'https://app.example.com' } });
    });
    after(async () => {
      await d.stop();
      await db.drop();
    });

    test('probes answer as API.md documents', async () => {
      assert.deepEqual((await json(`${d.url}/health`)).body, { status: 'healthy' });
      const detailed = await json(`${d.url}/health/detailed`);
      assert.equal(detailed.status, 200);
      assert.deepEqual(detailed.body, { status: 'healthy', database: true, redis: null, kms: true });
      const ready = await json(`${d.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body['migrations_pending'], 0);
      assert.equal((await json(`${d.url}/health/live`)).status, 200);
    });

    test('OpenAPI document at /openapi.json and the UI at /docs', async () => {
      const spec = await json(`${d.url}/openapi.json`);
      assert.equal(spec.status, 200);
      const paths = Object.keys(spec.body['paths'] as object);
      for (const p of [
        '/api/v1/auth/signup',
        '/api/v1/auth/signin',
        '/api/v1/auth/token/refresh',
        '/api/v1/auth/signout',
        '/api/v1/auth/me',
        '/health/ready',
      ]) {
        assert.ok(paths.includes(p), `${p} documented`);
      }
      const ui = await fetch(`${d.url}/docs`);
      const html = await ui.text();
      assert.equal(ui.status, 200);
      assert.match(html, /swagger/i);
    });

    test('request id echoed (or made), security headers, CORS for configured origins only', async () => {
      const given = await request(`${d.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
      await given.body.text();
      assert.equal(given.headers['x-request-id'], 'trace-123');
      const made = await request(`${d.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
      await made.body.text();
      assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      // The OWASP REST Security Cheat Sheet's set, and no cache keeps API answers.
      assert.equal(made.headers['x-content-type-options'], 'nosniff');
      assert.equal(made.headers['x-frame-options'], 'DENY');
      assert.equal(made.headers['content-security-policy'], "frame-ancestors 'none'");
      assert.equal(made.headers['referrer-policy'], 'no-referrer');
      assert.equal(made.headers['cache-control'], 'no-store');
      assert.ok(made.headers['strict-transport-security']);

      const ok = await request(`${d.url}/api/v1/auth/signin`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      await ok.body.text();
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
      const evil = await request(`${d.url}/api/v1/auth/signin`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      await evil.body.text();
      assert.equal(evil.headers['access-control-allow-origin'], undefined);
    });
  });
}

describe('two nodes on one Postgres and one Redis', {
  skip: !PG_URL || !dialects().includes('postgres') ? 'needs JANUA_TEST_DATABASE_URL' : false,
}, () => {
  let db: TestDatabase;
  let a: Daemon;
  let b: Daemon;
  const env = {
    // Behind a load balancer every node names the same public issuer.
    JANUA_BASE_URL: 'https://auth.example.test',
    JANUA_MASTER_KEY: newMasterKey(),
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `janua-test-${randomBytes(4).toString('hex')}:`,
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_PER_MINUTE: '1000',
    RATE_LIMIT_PER_HOUR: '5000',
    AUTH_RATE_LIMIT_PER_MINUTE: '6',
  };
  before(async () => {
    db = await createTestDatabase('postgres');
    a = await startDaemon({ databaseUrl: db.url, env });
    b = await startDaemon({ databaseUrl: db.url, env });
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await db.drop();
  });

  test('both nodes serve the same keys and accept each other’s tokens; sign-out on one holds on the other', async () => {
    assert.deepEqual(
      (await json(`${a.url}/.well-known/jwks.json`)).body,
      (await json(`${b.url}/.well-known/jwks.json`)).body,
    );
    const up = await post(`${a.url}/api/v1/auth/signup`, {
      email: 'lb@example.com',
      password: GOOD_PASSWORD,
    });
    assert.equal(up.status, 201, JSON.stringify({ body: up.body, headers: up.headers }));
    const token = String(up.body['access_token']);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await json(`${b.url}/api/v1/auth/me`, { headers: auth })).status, 200);
    assert.equal((await post(`${b.url}/api/v1/auth/signout`, {}, auth)).status, 200);
    const gone = await json(`${a.url}/api/v1/auth/me`, { headers: auth });
    assert.equal(gone.status, 401);
    assert.equal(gone.body['error_code'], 'TOKEN_ERROR');
  });

  test('the credential rate limit is shared through Redis', async () => {
    // One credential request already counted (the sign-up above); 5 more fit the limit of 6, alternating nodes.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const node = i % 2 ? a : b;
      const r = await post(`${node.url}/api/v1/auth/signin`, {
        email: 'lb@example.com',
        password: 'wrong-password',
      });
      statuses.push(r.status);
      if (r.status === 429) {
        assert.equal(r.body['error_code'], 'RATE_LIMIT_ERROR');
        assert.ok(Number(r.headers['retry-after']) >= 1);
      }
    }
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(limited >= 2, `429s once the shared count passes 6: ${statuses.join(',')}`);
    assert.ok(
      statuses.slice(0, 4).every((s) => s === 401),
      `first attempts are judged on credentials: ${statuses.join(',')}`,
    );
  });

  test('readiness follows the database: 503 once it is gone, liveness stays 200', async () => {
    await db.drop();
    const ready = await json(`${a.url}/health/ready`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body['database'], false);
    const detailed = await json(`${a.url}/health/detailed`);
    assert.equal(detailed.status, 503);
    assert.equal(detailed.body['database'], false);
    assert.equal(detailed.body['redis'], true);
    assert.equal((await json(`${a.url}/health/live`)).status, 200);
  });
});
