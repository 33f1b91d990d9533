/**
 * Maintenance mode across nodes: two `janua serve` processes on one database (Postgres, or one SQLite file
 * in WAL mode). A toggle through `janua admin maintenance` or through one node's API reaches the other node
 * within the documented bound, survives a restart, and turning it off restores writes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { GOOD_PASSWORD } from '../helpers/app.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';

/** The bound plus room for a loaded test machine (process scheduling, a slow first query). */
// The nodes run with a 1 s re-read bound and a 120 s Retry-After (both settings, not the defaults).
const REFRESH_SECONDS = 1;
const WITHIN_MS = REFRESH_SECONDS * 1000 + 2000;

async function call(url: string, method: string, body?: unknown, token?: string) {
  const res = await request(url, {
    method: method as 'GET',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** A non-admin write that changes nothing either way: 422 while open (empty body), 503 in maintenance. */
const probeWrite = (node: Daemon) => call(`${node.url}/api/v1/auth/signup`, 'POST', {});

/** Polls until the node answers a non-admin write with `status`; returns how long that took. */
async function until(node: Daemon, status: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await probeWrite(node);
    if (r.status === status) return Date.now() - start;
    assert.ok(Date.now() - start < WITHIN_MS, `${node.url} still answers ${r.status}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const dialect of dialects()) {
  describe(`maintenance mode across two nodes (${dialect})`, () => {
    let db: TestDatabase;
    let a: Daemon;
    let b: Daemon;
    let env: Record<string, string>;
    let adminToken: string;
    const cli = (...args: string[]) => runCli(['admin', 'maintenance', ...args], { env });

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        // Nodes behind one load balancer share one public issuer.
        JANUA_BASE_URL: 'https://auth.example.test',
        JANUA_MASTER_KEY: newMasterKey(),
        ADMIN_BOOTSTRAP_EMAIL: 'root@example.com',
        ADMIN_BOOTSTRAP_PASSWORD: GOOD_PASSWORD,
        JANUA_MAINTENANCE_REFRESH_SECONDS: String(REFRESH_SECONDS),
        JANUA_MAINTENANCE_RETRY_AFTER_SECONDS: '120',
      };
      a = await startDaemon({ databaseUrl: db.url, env });
      b = await startDaemon({ databaseUrl: db.url, env });
      const r = await call(`${a.url}/api/v1/auth/signin`, 'POST', {
        email: 'root@example.com',
        password: GOOD_PASSWORD,
      });
      assert.equal(r.status, 200);
      adminToken = r.body['access_token'] as string;
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await db?.drop();
    });

    test('`janua admin maintenance on` (CLI) reaches both nodes within the bound', async () => {
      assert.equal((await probeWrite(b)).status, 422, 'open before');
      const on = await cli('on', '--message', 'Back at noon', '--json');
      assert.equal(on.code, 0, on.stderr);
      const state = JSON.parse(on.stdout);
      assert.equal(state.enabled, true);
      assert.equal(state.message, 'Back at noon');
      assert.equal(state.updated_by, 'cli');
      for (const node of [a, b]) await until(node, 503);

      const r = await probeWrite(b);
      assert.deepEqual(r.body, {
        detail: 'Back at noon',
        error_code: 'SERVICE_UNAVAILABLE',
        status_code: 503,
      });
      assert.equal(r.headers['retry-after'], '120');
      assert.equal((await call(`${b.url}/health`, 'GET')).status, 200);
      assert.equal((await call(`${b.url}/health/ready`, 'GET')).status, 200);
      assert.equal((await call(`${b.url}/api/v1/auth/me`, 'GET', undefined, adminToken)).status, 200);
      const adminWrite = await call(
        `${b.url}/api/v1/auth/profile`,
        'PATCH',
        { first_name: 'Root' },
        adminToken,
      );
      assert.equal(adminWrite.status, 200, 'an admin can still write on any node');

      const status = await cli('status');
      assert.equal(status.code, 0);
      assert.match(status.stdout, /maintenance mode: on — "Back at noon"/);
    });

    test('survives a restart: a node started during maintenance refuses writes at once', async () => {
      await b.stop();
      b = await startDaemon({ databaseUrl: db.url, env });
      assert.equal((await probeWrite(b)).status, 503);
    });

    test("turning it off through one node's API reopens the other within the bound", async () => {
      const off = await call(`${a.url}/api/v1/admin/maintenance`, 'POST', { enabled: false }, adminToken);
      assert.equal(off.status, 200);
      assert.equal(off.body['enabled'], false);
      assert.equal((await probeWrite(a)).status, 422, 'the node that toggled it sees it at once');
      await until(b, 422);
    });

    test("turning it on through one node's API, off through the CLI", async () => {
      const on = await call(
        `${b.url}/api/v1/admin/maintenance`,
        'POST',
        { enabled: true, message: 'Upgrading' },
        adminToken,
      );
      assert.equal(on.status, 200);
      await until(a, 503);
      assert.equal((await probeWrite(a)).body['detail'], 'Upgrading');
      const off = await cli('off');
      assert.equal(off.code, 0, off.stderr);
      assert.equal(off.stdout, 'maintenance mode: off\n');
      for (const node of [a, b]) await until(node, 422);
    });

    test('CLI usage errors exit 2', async () => {
      const bad = await cli('maybe');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /on, off, status/);
    });
  });
}
