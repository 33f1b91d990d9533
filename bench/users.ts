/**
 * User-administration benchmark: `node dist/bench/users.js [COUNT]`.
 *
 * Seeds COUNT users (default 100,000) through the import function (NDJSON in, batches of 500, imported
 * bcrypt hashes: no hashing) on SQLite, and on Postgres when JANUA_BENCH_DATABASE_URL or
 * JANUA_TEST_DATABASE_URL is set (a scratch database is created and dropped). Then times `listUsers` — the
 * function behind `GET /api/v1/users` and `janua users list` — for searches, filters, sorts and deep pages
 * (p50/p99 over QUERIES runs each), against a baseline of a primary-key lookup in the same process, and
 * prints the query plans (EXPLAIN QUERY PLAN / EXPLAIN) of the search so index use can be checked.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/core/config/load.js';
import { type Container, createContainer } from '../src/core/container.js';
import type { RequestContext } from '../src/core/events/events.js';
import { migrate } from '../src/core/store/migrator.js';
import { userList, users } from '../src/core/store/repos/users.js';
import { importUsers, type ListUsersQuery, listUsers } from '../src/core/users/admin.js';
import { readImportRecords } from '../src/core/users/import-format.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const QUERIES = Number(process.env['BENCH_QUERIES'] ?? 200);
const ADMIN: RequestContext = { actorType: 'cli', actorId: null };
const PG_URL = process.env['JANUA_BENCH_DATABASE_URL'] ?? process.env['JANUA_TEST_DATABASE_URL'];

const FIRST = [
  'ada',
  'alan',
  'grace',
  'linus',
  'barbara',
  'ken',
  'dennis',
  'margaret',
  'edsger',
  'donald',
  'frances',
  'john',
  'radia',
  'tim',
  'vint',
  'sophie',
  'katherine',
  'guido',
  'bjarne',
  'james',
];
const LAST = [
  'lovelace',
  'turing',
  'hopper',
  'torvalds',
  'liskov',
  'thompson',
  'ritchie',
  'hamilton',
  'dijkstra',
  'knuth',
  'allen',
  'mccarthy',
  'perlman',
  'berners-lee',
  'cerf',
  'wilson',
  'johnson',
  'van rossum',
  'stroustrup',
  'gosling',
];
const DOMAINS = ['example.com', 'acme.io', 'corp.example', 'mail.test', 'uni.edu'];
const HASH = '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5R8y1Ujq7cZb3aZ0v4G8m7sQ9Z7G0Nq';

/** Deterministic pseudo-random numbers (mulberry32), so runs are comparable. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;

async function* ndjson(count: number): AsyncGenerator<string> {
  const r = rng(42);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const f = pick(r, FIRST);
    const l = pick(r, LAST);
    chunk += `${JSON.stringify({
      email: `${f}.${l.replace(/\W/g, '')}${i}@${pick(r, DOMAINS)}`,
      first_name: f[0]!.toUpperCase() + f.slice(1),
      last_name: l[0]!.toUpperCase() + l.slice(1),
      email_verified: r() < 0.7,
      ...(r() < 0.5 ? { password_hash: HASH } : {}),
      ...(r() < 0.1 ? { user_metadata: { plan: 'pro', seats: 3 } } : {}),
    })}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
}

async function explain(c: Container, q: ListUsersQuery & { sort: string }): Promise<string[]> {
  const { page, count } = userList.compile(
    c.store.db,
    c.store.dialect,
    { search: q.search, status: q.status as never, emailVerified: q.emailVerified },
    q.sort as never,
    20,
    0,
  );
  const lines: string[] = [];
  for (const [name, compiled] of [
    ['page', page],
    ['count', count],
  ] as const) {
    const prefix = c.store.dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
    const res = await c.store.db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]),
    );
    lines.push(`  ${name}:`);
    for (const row of res.rows) lines.push(`    ${String(row['detail'] ?? row['QUERY PLAN'])}`);
  }
  return lines;
}

async function benchDialect(name: string, databaseUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-'));
  const config = loadConfig({
    env: { DATABASE_URL: databaseUrl, JANUA_DATA_DIR: dir, LOG_LEVEL: 'silent' },
  });
  const c = createContainer(config, { masterKey: 'lazy', logger: pino({ level: 'silent' }) });
  try {
    await migrate(c.store);
    const t0 = performance.now();
    const s = await importUsers(c, readImportRecords(ndjson(COUNT)), {}, ADMIN);
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `\n[${name}] import: ${s.created} created in ${secs.toFixed(1)} s = ${Math.round(s.created / secs)} records/s`,
    );
    const again = performance.now();
    const s2 = await importUsers(c, readImportRecords(ndjson(COUNT)), {}, ADMIN);
    const secs2 = (performance.now() - again) / 1000;
    console.log(
      `[${name}] re-import (all skipped): ${s2.skipped} skipped, ${s2.created} created in ${secs2.toFixed(1)} s = ${Math.round(s2.skipped / secs2)} records/s`,
    );
    // What autovacuum does on a live server: statistics, and the visibility map index-only scans need.
    if (c.store.dialect === 'postgres')
      await c.store.db.executeQuery(CompiledQuery.raw('VACUUM ANALYZE users'));
    else await c.store.db.executeQuery(CompiledQuery.raw('ANALYZE'));

    const r = rng(7);
    const ids = (await listUsers(c, { perPage: 100 }, ADMIN)).users.map((u) => u.id);
    const baseline = await time(QUERIES, (i) => users.findById(c.store.db, ids[i % ids.length]!));
    console.log(
      `[${name}] baseline findById: p50 ${baseline.p50.toFixed(2)} ms  p99 ${baseline.p99.toFixed(2)} ms`,
    );
    const pages = Math.ceil(COUNT / 100);
    const scenarios: Array<[string, () => ListUsersQuery]> = [
      ['first page (default sort)', () => ({})],
      ['search 2 letters (broad)', () => ({ search: pick(r, FIRST).slice(0, 2) })],
      ['search email prefix (narrow)', () => ({ search: `${pick(r, FIRST)}.${pick(r, LAST).slice(0, 3)}` })],
      ['search last name', () => ({ search: pick(r, LAST).slice(0, 4) })],
      ['search no match', () => ({ search: `zz${Math.floor(r() * 1000)}` })],
      ['status=active sort=email', () => ({ status: 'active', sort: 'email' })],
      [
        'email_verified + created_after',
        () => ({ emailVerified: true, createdAfter: new Date(Date.now() - 86_400_000) }),
      ],
      ['sort=-last_sign_in_at', () => ({ sort: '-last_sign_in_at' })],
      ['deep page (per_page 100, random page)', () => ({ perPage: 100, page: 1 + Math.floor(r() * pages) })],
      ['last page (per_page 100)', () => ({ perPage: 100, page: pages })],
      ['search + deep page', () => ({ search: pick(r, FIRST).slice(0, 3), page: 1 + Math.floor(r() * 50) })],
    ];
    for (const [label, q] of scenarios) {
      const t = await time(QUERIES, () => listUsers(c, q(), ADMIN));
      const ratio = t.p50 / Math.max(baseline.p50, 0.001);
      console.log(
        `[${name}] list ${label.padEnd(40)} p50 ${t.p50.toFixed(2).padStart(7)} ms  p99 ${t.p99.toFixed(2).padStart(7)} ms  (${ratio.toFixed(1)}× baseline)`,
      );
    }
    console.log(`[${name}] plan: search "gra", sort -created_at`);
    for (const l of await explain(c, { search: 'gra', sort: '-created_at' })) console.log(l);
    console.log(`[${name}] plan: status=active, sort email`);
    for (const l of await explain(c, { status: 'active', sort: 'email' })) console.log(l);
    console.log(`[${name}] plan: email_verified=true, sort -created_at`);
    for (const l of await explain(c, { emailVerified: true, sort: '-created_at' })) console.log(l);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`users benchmark: ${COUNT} users, ${QUERIES} queries per scenario, node ${process.version}`);
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
