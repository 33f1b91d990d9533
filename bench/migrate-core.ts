/**
 * Core of `janua migrate auth0`, measured: `node dist/bench/migrate-core.js [COUNT]` (default 100,000).
 *
 * Writes a generated Auth0 users export (NDJSON: database users with their `auth0` identity, 10 % Google
 * users, metadata, a few blocked and MFA-enrolled) and a password-hash export for the database users
 * (50 precomputed bcrypt cost-10 hashes cycled: hashing 100,000 would take hours) to a scratch directory, then
 * times the whole pipeline the runner drives — read file → mapAuth0User → importUsersBatch (batches of 1,000,
 * with a checkpoint each), then read → mapAuth0PasswordHash → importPasswordHashesBatch — on SQLite (and on
 * Postgres when JANUA_BENCH_DATABASE_URL or JANUA_TEST_DATABASE_URL is set). Then the re-run (everything
 * unchanged), the baseline of `janua users import` (the admin importer) of the same number of plain records
 * into a fresh database in this process, and the peak RSS.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/core/config/load.js';
import { type Container, createContainer } from '../src/core/container.js';
import type { RequestContext } from '../src/core/events/events.js';
import type { ExternalPasswordHash, ExternalUser } from '../src/core/imports/types.js';
import { importPasswordHashesBatch, importUsersBatch } from '../src/core/imports/users.js';
import { migrate } from '../src/core/store/migrator.js';
import { importRuns } from '../src/core/store/repos/imports.js';
import { importUsers } from '../src/core/users/admin.js';
import { readImportRecords } from '../src/core/users/import-format.js';
import { readPasswordHashesFile, readUsersFile } from '../src/migrate/auth0/files.js';
import { mapAuth0PasswordHash, mapAuth0User } from '../src/migrate/auth0/map-user.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1000);
const CTX: RequestContext = { actorType: 'cli', actorId: null };
const PG_URL = process.env['JANUA_BENCH_DATABASE_URL'] ?? process.env['JANUA_TEST_DATABASE_URL'];
const FIRST = ['ada', 'alan', 'grace', 'linus', 'barbara', 'ken', 'dennis', 'margaret', 'edsger', 'radia'];
const LAST = ['lovelace', 'turing', 'hopper', 'torvalds', 'liskov', 'thompson', 'ritchie', 'hamilton'];

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

async function write(path: string, lines: () => Generator<string>): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (const line of lines()) {
    chunk += line;
    if (chunk.length > 256 * 1024) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

/** The export files: users (NDJSON) and the hashes of the database users among them. */
async function generate(
  dir: string,
  hashes: string[],
): Promise<{ users: string; hashes: string; withHash: number }> {
  const r = rng(42);
  const ids: Array<{ oid: string; email: string } | null> = [];
  const usersPath = join(dir, 'users.ndjson');
  await write(usersPath, function* () {
    for (let i = 0; i < COUNT; i++) {
      const f = FIRST[Math.floor(r() * FIRST.length)]!;
      const l = LAST[Math.floor(r() * LAST.length)]!;
      const email = `${f}.${l}${i}@example.com`;
      const social = r() < 0.1;
      const oid = (i + 0x10000000).toString(16).padStart(24, '0');
      const userId = social ? `google-oauth2|${100000000000 + i}` : `auth0|${oid}`;
      ids.push(social ? null : { oid, email });
      const created = new Date(Date.UTC(2018, 0, 1) + Math.floor(r() * 2e11)).toISOString();
      yield `${JSON.stringify({
        user_id: userId,
        email,
        email_verified: r() < 0.8,
        given_name: f,
        family_name: l,
        name: `${f} ${l}`,
        nickname: f,
        picture: `https://s.gravatar.com/avatar/${i.toString(16)}.png`,
        created_at: created,
        updated_at: created,
        last_login: r() < 0.9 ? created : undefined,
        logins_count: Math.floor(r() * 100),
        identities: [
          social
            ? {
                provider: 'google-oauth2',
                user_id: String(100000000000 + i),
                connection: 'google-oauth2',
                isSocial: true,
              }
            : {
                provider: 'auth0',
                user_id: oid,
                connection: 'Username-Password-Authentication',
                isSocial: false,
              },
        ],
        ...(r() < 0.2 ? { user_metadata: { theme: 'dark', locale: 'en' } } : {}),
        ...(r() < 0.2 ? { app_metadata: { plan: 'pro', seats: 3 } } : {}),
        ...(r() < 0.02 ? { blocked: true } : {}),
        ...(r() < 0.01 ? { multifactor: ['guardian'] } : {}),
      })}\n`;
    }
  });
  const hashesPath = join(dir, 'hashes.ndjson');
  let withHash = 0;
  await write(hashesPath, function* () {
    for (const [i, id] of ids.entries()) {
      if (!id) continue;
      withHash++;
      yield `${JSON.stringify({
        _id: { $oid: id.oid },
        email: id.email,
        email_verified: true,
        passwordHash: hashes[i % hashes.length],
        connection: 'Username-Password-Authentication',
      })}\n`;
    }
  });
  return { users: usersPath, hashes: hashesPath, withHash };
}

interface PhaseResult {
  seconds: number;
  counts: Record<string, number>;
}

async function usersPhase(c: Container, path: string, runId: string): Promise<PhaseResult> {
  const t0 = performance.now();
  const counts: Record<string, number> = {};
  let batch: ExternalUser[] = [];
  let position = 0;
  // One batch is written while the next is read and mapped (the main thread is idle while SQLite writes);
  // batches still commit one after the other, in order.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    await writing;
    position += batch.length;
    const cp = { runId, phase: 'users', position, stats: { ...counts } };
    writing = importUsersBatch(c, 'auth0', batch, { dryRun: false, checkpoint: cp }, CTX).then((out) => {
      for (const o of out) counts[o.status] = (counts[o.status] ?? 0) + 1;
    });
    batch = [];
  };
  for await (const rec of readUsersFile(path)) {
    const m = rec.error === undefined ? mapAuth0User(rec.value, rec.index) : { error: rec.error };
    if ('user' in m) batch.push(m.user);
    else counts['invalid'] = (counts['invalid'] ?? 0) + 1;
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length) await flush();
  await writing;
  return { seconds: (performance.now() - t0) / 1000, counts };
}

async function hashesPhase(c: Container, path: string, runId: string): Promise<PhaseResult> {
  const t0 = performance.now();
  const counts: Record<string, number> = {};
  let batch: ExternalPasswordHash[] = [];
  let position = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    await writing;
    position += batch.length;
    const cp = { runId, phase: 'passwords', position, stats: { ...counts } };
    const opts = { dryRun: false, checkpoint: cp };
    writing = importPasswordHashesBatch(c, 'auth0', batch, opts, CTX).then((out) => {
      for (const o of out) counts[o.status] = (counts[o.status] ?? 0) + 1;
    });
    batch = [];
  };
  for await (const rec of readPasswordHashesFile(path)) {
    const m = rec.error === undefined ? mapAuth0PasswordHash(rec.value, rec.index) : { error: rec.error };
    if ('hash' in m) batch.push(m.hash);
    else counts['invalid'] = (counts['invalid'] ?? 0) + 1;
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length) await flush();
  await writing;
  return { seconds: (performance.now() - t0) / 1000, counts };
}

async function withContainer<T>(databaseUrl: string, fn: (c: Container) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-'));
  const config = loadConfig({ env: { DATABASE_URL: databaseUrl, JANUA_DATA_DIR: dir, LOG_LEVEL: 'silent' } });
  const c = createContainer(config, { masterKey: 'lazy', logger: pino({ level: 'silent' }) });
  try {
    await migrate(c.store);
    return await fn(c);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const nowMb = () => {
  const m = process.memoryUsage();
  return `RSS now ${Math.round(m.rss / 1048576)} MB (heap ${Math.round(m.heapUsed / 1048576)} MB), peak so far ${rssMb()} MB`;
};

async function bench(
  name: string,
  databaseUrl: string,
  files: { users: string; hashes: string },
): Promise<void> {
  await withContainer(databaseUrl, async (c) => {
    const run = await importRuns.insert(
      c.store.db,
      { id: randomUUID(), source: 'auth0', inputKey: 'bench', phase: 'users' },
      c.clock.now(),
    );
    const u = await usersPhase(c, files.users, run.id);
    const h = await hashesPhase(c, files.hashes, run.id);
    const total = u.seconds + h.seconds;
    console.log(`[${name}] after the migration: ${nowMb()}`);
    // Before the re-run and the baseline: the migration's own peak.
    console.log(`[${name}] peak RSS of the migration: ${rssMb()} MB`);
    console.log(
      `[${name}] users:  ${JSON.stringify(u.counts)} in ${u.seconds.toFixed(1)} s = ${rate(COUNT, u.seconds)} users/s`,
    );
    console.log(
      `[${name}] hashes: ${JSON.stringify(h.counts)} in ${h.seconds.toFixed(1)} s = ${rate(sum(h.counts), h.seconds)} lines/s`,
    );
    console.log(
      `[${name}] whole migration (users + hashes): ${total.toFixed(1)} s = ${rate(COUNT, total)} users/s  (target ≥ 5,000 on SQLite)`,
    );
    const u2 = await usersPhase(c, files.users, run.id);
    const h2 = await hashesPhase(c, files.hashes, run.id);
    console.log(
      `[${name}] re-run (no-op): users ${JSON.stringify(u2.counts)}, hashes ${JSON.stringify(h2.counts)} in ${(u2.seconds + h2.seconds).toFixed(1)} s = ${rate(COUNT, u2.seconds + h2.seconds)} users/s`,
    );
  });
  await withContainer(
    databaseUrl.startsWith('sqlite:') ? `${databaseUrl}.baseline` : databaseUrl,
    async (c) => {
      async function* plain(): AsyncGenerator<string> {
        let chunk = '';
        for (let i = 0; i < COUNT; i++) {
          chunk += `${JSON.stringify({ email: `base${i}@example.org`, first_name: 'Ada', last_name: 'Lovelace' })}\n`;
          if (chunk.length > 64 * 1024) {
            yield chunk;
            chunk = '';
          }
        }
        yield chunk;
      }
      const t0 = performance.now();
      const s = await importUsers(c, readImportRecords(plain()), { batchSize: 1000 }, CTX);
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `[${name}] baseline \`janua users import\` (plain records, batches of 1,000): ${s.created} in ${secs.toFixed(1)} s = ${rate(s.created, secs)} records/s`,
      );
    },
  );
}

/** The measured part runs in a child process, so the peak RSS is the migration's, not the file generator's. */
function child(name: string, databaseUrl: string, files: { users: string; hashes: string }): void {
  const args = [
    fileURLToPath(import.meta.url),
    String(COUNT),
    '--child',
    name,
    databaseUrl,
    files.users,
    files.hashes,
  ];
  const res = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`the ${name} run failed (exit ${res.status})`);
}

async function main(): Promise<void> {
  if (process.argv[3] === '--child') {
    const [name, url, users, hashes] = process.argv.slice(4) as [string, string, string, string];
    await bench(name, url, { users, hashes });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-migrate-'));
  try {
    const t0 = performance.now();
    const hashes = await Promise.all(Array.from({ length: 50 }, (_, i) => bcrypt.hash(`Passw0rd-${i}!`, 10)));
    const files = await generate(dir, hashes);
    console.log(
      `generated ${COUNT.toLocaleString('en-US')} users (${files.withHash.toLocaleString('en-US')} with hashes) in ${((performance.now() - t0) / 1000).toFixed(1)} s; batches of ${BATCH}`,
    );
    child('sqlite', `sqlite:${join(dir, 'janua.db')}`, files);
    if (PG_URL) {
      const name = `janua_bench_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(PG_URL);
      url.pathname = `/${name}`;
      try {
        child('postgres', url.toString(), files);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
