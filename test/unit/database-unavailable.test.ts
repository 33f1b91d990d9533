/**
 * Connection-level database failures (src/core/store/unavailable.ts), produced by the real drivers: a refused
 * port, a server that accepts and never answers, a backend terminated by the server, an SQLite file that
 * cannot be opened or stays locked. Each becomes 503 SERVICE_UNAVAILABLE with Retry-After through the
 * daemon's one error mapper; ordinary database errors (a unique violation, bad SQL) do not.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { freePort } from '../../bench/daemon.js';
import { createStore } from '../../src/core/store/store.js';
import {
  DATABASE_RETRY_AFTER_S,
  DatabaseUnavailable,
  unreachableReason,
} from '../../src/core/store/unavailable.js';
import { errorBody, toJanuaError } from '../../src/daemon/errors.js';
import { PG_URL, tempDir } from '../helpers/db.js';

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a failure');
}

/** The mapped error: 503 with Retry-After and a body that never carries the driver's message. */
function assertMapped(err: unknown, reason: string): void {
  assert.equal(unreachableReason(err), reason);
  const mapped = toJanuaError(err);
  assert.ok(mapped instanceof DatabaseUnavailable);
  assert.equal(mapped.status, 503);
  assert.equal(mapped.code, 'SERVICE_UNAVAILABLE');
  assert.equal(mapped.retryAfter, DATABASE_RETRY_AFTER_S);
  const body = errorBody(mapped, 'rid');
  assert.deepEqual(body, {
    detail: 'The database is unavailable; retry later',
    error_code: 'SERVICE_UNAVAILABLE',
    status_code: 503,
  });
}

describe('connection-level database failures', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('Postgres refused (nothing listens on the port)', async () => {
    const port = await freePort();
    const store = createStore(`postgres://janua@127.0.0.1:${port}/janua`);
    try {
      assertMapped(await failure(store.ping()), 'connection refused');
    } finally {
      await store.destroy();
    }
  });

  it('Postgres accepts the TCP connection and never answers: the pool connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as { port: number };
    const pool = new pg.Pool({
      connectionString: `postgres://janua@127.0.0.1:${port}/janua`,
      connectionTimeoutMillis: 300,
    });
    try {
      assertMapped(await failure(pool.query('select 1')), 'connect timeout');
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await pool.end().catch(() => {});
    }
  });

  it('Postgres terminates the backend (57P01), then the connection is gone', {
    skip: PG_URL ? false : 'needs JANUA_TEST_DATABASE_URL',
  }, async () => {
    const victim = new pg.Client({ connectionString: PG_URL });
    victim.on('error', () => {});
    await victim.connect();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { rows } = await victim.query<{ pid: number }>('select pg_backend_pid() as pid');
      const running = failure(victim.query('select pg_sleep(30)'));
      // Wait until the sleep is running, then end that backend as `pg_ctl stop -m fast` ends every backend.
      for (let i = 0; i < 100; i++) {
        const act = await admin.query(
          `select 1 from pg_stat_activity where pid = $1 and query like '%pg_sleep%'`,
          [rows[0]!.pid],
        );
        if (act.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      const err = (await running) as { code?: string };
      assert.equal(err.code, '57P01');
      assertMapped(err, 'server shutting down');
      assertMapped(await failure(victim.query('select 1')), 'connection lost');
    } finally {
      await admin.end();
      await victim.end().catch(() => {});
    }
  });

  it('SQLite file that cannot be opened', async () => {
    const path = join(dir.path, 'a-directory');
    mkdirSync(path);
    const store = createStore(`sqlite:${path}`);
    try {
      assertMapped(await failure(store.ping()), 'cannot open database file');
    } finally {
      await store.destroy().catch(() => {});
    }
  });

  it('SQLite write lock held by another process past the busy timeout', async () => {
    const file = join(dir.path, 'locked.db');
    const holder = new sqlite3.Database(file);
    const run = (db: sqlite3.Database, q: string) =>
      new Promise<void>((resolve, reject) => db.exec(q, (err) => (err ? reject(err) : resolve())));
    await run(
      holder,
      'PRAGMA journal_mode = WAL; CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);',
    );
    const other = new sqlite3.Database(file);
    other.configure('busyTimeout', 0);
    try {
      assertMapped(await failure(run(other, 'BEGIN IMMEDIATE')), 'database locked');
    } finally {
      await run(holder, 'ROLLBACK');
      await new Promise((r) => holder.close(r));
      await new Promise((r) => other.close(r));
    }
  });

  it('ordinary database errors are not unavailability: unique violation, bad SQL', async () => {
    const store = createStore(`sqlite:${join(dir.path, 'plain.db')}`);
    try {
      await sql`create table u (x text unique)`.execute(store.db);
      await sql`insert into u values ('a')`.execute(store.db);
      for (const err of [
        await failure(sql`insert into u values ('a')`.execute(store.db)),
        await failure(sql`selec 1`.execute(store.db)),
        new Error('something else'),
        undefined,
        'text',
      ]) {
        assert.equal(unreachableReason(err), undefined, String(err));
        assert.equal(toJanuaError(err).code, 'INTERNAL_ERROR');
      }
    } finally {
      await store.destroy();
    }
  });

  it('a wrapped failure (as `cause`) is still recognized', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' });
    assertMapped(new Error('query failed', { cause: inner }), 'connection refused');
  });
});
