/**
 * GDPR benchmark: `node dist/bench/gdpr.js [BACKGROUND_AUDIT_ROWS]`.
 *
 * On SQLite (and Postgres when JANUA_BENCH_DATABASE_URL or JANUA_TEST_DATABASE_URL is set) a database with
 * BACKGROUND_AUDIT_ROWS audit events (default 100,000) of other users, a fifth as many outbox events and mail
 * messages, holds ROUNDS pairs of identical users (each with 500 audit events, 20 sessions, 100 events, 20 mail
 * messages). Times, per pair: exporting one user (`collectUserData`, every provider), erasing it
 * (`executeErasure`: every provider in one transaction, free text searched and scrubbed), and — the baseline
 * in the same run — the hard delete of its twin (`janua users delete --hard`: the row and its cascades only).
 * Erasure scans the free-text tables for the user's strings, so its cost grows with them: the ratio says what
 * the completeness costs over a plain delete.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/core/config/load.js';
import { type Container, createContainer } from '../src/core/container.js';
import { CLI_CONTEXT } from '../src/core/events/events.js';
import { executeErasure } from '../src/core/gdpr/erase.js';
import { collectUserData } from '../src/core/gdpr/registry.js';
import { json } from '../src/core/store/codec.js';
import { migrate } from '../src/core/store/migrator.js';
import { deleteUser } from '../src/core/users/admin-status.js';
import { createUser } from '../src/core/users/service.js';
import { median } from './report.js';

const BACKGROUND = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const PG_URL = process.env['JANUA_BENCH_DATABASE_URL'] ?? process.env['JANUA_TEST_DATABASE_URL'];
const BATCH = 500;

async function inBatches<T>(n: number, make: (i: number) => T, insert: (rows: T[]) => Promise<unknown>) {
  for (let i = 0; i < n; i += BATCH)
    await insert(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => make(i + k)));
}

/** A user with data in the tables erasure searches: audit events, sessions, events, mail. */
async function person(c: Container, tag: string): Promise<string> {
  const email = `person.${tag}@example.com`;
  const u = await createUser(c, { email, firstName: `First${tag}`, lastName: `Last${tag}` }, CLI_CONTEXT);
  const now = c.clock.now();
  const db = c.store.db;
  await inBatches(
    500,
    (i) => ({
      id: randomUUID(),
      occurred_at: new Date(now.getTime() - i * 1000),
      action: 'auth.signin',
      outcome: 'success',
      actor_id: u.id,
      actor_type: 'user',
      target_type: 'user',
      target_id: u.id,
      ip: `203.0.113.${i % 250}`,
      user_agent: 'Bench/1.0',
      request_id: null,
      metadata: json({ email }),
    }),
    (rows) => db.insertInto('audit_events').values(rows).execute(),
  );
  await inBatches(
    20,
    () => ({
      id: randomUUID(),
      user_id: u.id,
      created_at: now,
      last_used_at: now,
      expires_at: new Date(now.getTime() + 86_400_000),
      ip: '203.0.113.1',
      user_agent: 'Bench/1.0',
    }),
    (rows) => db.insertInto('sessions').values(rows).execute(),
  );
  await inBatches(
    100,
    () => ({
      id: randomUUID(),
      event_type: 'user.updated',
      aggregate_type: 'user',
      aggregate_id: u.id,
      payload: json({ user_id: u.id, email }),
      created_at: now,
      handled_at: now,
    }),
    (rows) => db.insertInto('outbox').values(rows).execute(),
  );
  await inBatches(
    20,
    (i) => mail(u.id, email, now, i),
    (rows) => db.insertInto('mail_messages').values(rows).execute(),
  );
  return u.id;
}

function mail(userId: string | null, to: string, now: Date, i: number) {
  return {
    id: randomUUID(),
    user_id: userId,
    to_address: to,
    from_address: 'noreply@example.com',
    template: 'verify_email',
    subject: `Verify ${i}`,
    text_body: `Hello ${to}`,
    html_body: `<p>Hello ${to}</p>`,
    status: 'sent',
    attempts: 1,
    resends: 0,
    created_at: now,
    updated_at: now,
  };
}

async function background(c: Container): Promise<void> {
  const now = c.clock.now();
  const db = c.store.db;
  await inBatches(
    BACKGROUND,
    (i) => ({
      id: randomUUID(),
      occurred_at: new Date(now.getTime() - i * 100),
      action: 'auth.signin',
      outcome: i % 7 ? 'success' : 'failure',
      actor_id: randomUUID(),
      actor_type: 'user',
      target_type: 'user',
      target_id: null,
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Other/1.0',
      request_id: null,
      metadata: json({ email: `other.${i}@example.org` }),
    }),
    (rows) => db.insertInto('audit_events').values(rows).execute(),
  );
  await inBatches(
    BACKGROUND / 5,
    (i) => ({
      id: randomUUID(),
      event_type: 'user.updated',
      aggregate_type: 'user',
      aggregate_id: randomUUID(),
      payload: json({ email: `other.${i}@example.org` }),
      created_at: now,
      handled_at: now,
    }),
    (rows) => db.insertInto('outbox').values(rows).execute(),
  );
  await inBatches(
    BACKGROUND / 5,
    (i) => mail(null, `other.${i}@example.org`, now, i),
    (rows) => db.insertInto('mail_messages').values(rows).execute(),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function benchDialect(name: string, databaseUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-'));
  const config = loadConfig({ env: { DATABASE_URL: databaseUrl, JANUA_DATA_DIR: dir, LOG_LEVEL: 'silent' } });
  const c = createContainer(config, { logger: pino({ level: 'silent' }) });
  try {
    await migrate(c.store);
    const t0 = performance.now();
    await background(c);
    console.log(
      `\n[${name}] seeded ${BACKGROUND} background audit events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const exportMs: number[] = [];
    const eraseMs: number[] = [];
    const deleteMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const subject = await person(c, `s${r}`);
      const twin = await person(c, `t${r}`);
      exportMs.push(await timed(() => collectUserData(c, subject)));
      deleteMs.push(await timed(() => deleteUser(c, twin, { hard: true }, CLI_CONTEXT)));
      eraseMs.push(await timed(() => executeErasure(c, subject, CLI_CONTEXT)));
    }
    const base = median(deleteMs);
    console.log(`[${name}] baseline hard delete (row + cascades): median ${base.toFixed(1)} ms`);
    console.log(
      `[${name}] export (16 providers):               median ${median(exportMs).toFixed(1)} ms (${(median(exportMs) / base).toFixed(1)}× baseline)`,
    );
    console.log(
      `[${name}] erasure (16 providers, one tx):      median ${median(eraseMs).toFixed(1)} ms (${(median(eraseMs) / base).toFixed(1)}× baseline)`,
    );
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `gdpr benchmark: ${BACKGROUND} background audit events, ${ROUNDS} rounds, node ${process.version}`,
  );
  const sqliteDir = mkdtempSync(join(tmpdir(), 'janua-bench-db-'));
  try {
    await benchDialect('sqlite', `sqlite:${join(sqliteDir, 'bench.db')}`);
  } finally {
    rmSync(sqliteDir, { recursive: true, force: true });
  }
  if (!PG_URL) {
    console.log('\n(postgres skipped: set JANUA_BENCH_DATABASE_URL or JANUA_TEST_DATABASE_URL)');
    return;
  }
  const name = `janua_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    await benchDialect('postgres', url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
