/**
 * `npm run bench:jobs`: the durable job queue on SQLite and on Postgres, in-process over the real store.
 *
 * - Throughput: N no-op jobs enqueued up front, then drained by one node's workers; jobs/s from the first claim
 *   to the last recorded success. Baseline, same run, same driver: single-row UPDATE statements per second
 *   (autocommit), what a queue that wrote each claim and each completion on its own would be bound by.
 * - Latency: workers idle; jobs enqueued one at a time at a steady rate; enqueue-to-start p50/p99.
 *
 * Target (issue 10): ≥ 2,000 jobs/s on SQLite on this machine. Env: BENCH_JOBS (20000), BENCH_JOBS_CONCURRENCY
 * (64), BENCH_LATENCY_RATE (200/s), BENCH_LATENCY_S (5), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres;
 * a throw-away database is created next to it; Postgres is skipped with a note when unreachable).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { systemClock } from '../src/core/clock.js';
import { enqueue, enqueueMany } from '../src/core/jobs/queue.js';
import { JobWorkers } from '../src/core/jobs/workers.js';
import { migrate } from '../src/core/store/migrator.js';
import { createStore, type Store } from '../src/core/store/store.js';
import { percentile, round } from './load.js';

const N = Number(process.env['BENCH_JOBS'] ?? 20_000);
const CONCURRENCY = Number(process.env['BENCH_JOBS_CONCURRENCY'] ?? 64);
const RATE = Number(process.env['BENCH_LATENCY_RATE'] ?? 200);
const LATENCY_S = Number(process.env['BENCH_LATENCY_S'] ?? 5);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_SQLITE = 2000;
const logger = pino({ level: 'warn' });
const log = (msg: string) => process.stderr.write(`[bench:jobs] ${msg}\n`);

interface Figures {
  dialect: string;
  jobsPerSecond: number;
  updatesPerSecond: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencySamples: number;
}

/** Baseline: one-row autocommit UPDATEs per second for `seconds`, on the same store. */
async function updateBaseline(store: Store, seconds: number): Promise<number> {
  await store.db
    .insertInto('settings')
    .values({ key: 'bench', value: '0', updated_at: new Date() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const until = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < until) {
    await store.db
      .updateTable('settings')
      .set({ value: String(n), updated_at: new Date() })
      .where('key', '=', 'bench')
      .execute();
    n++;
  }
  return round(n / ((performance.now() - t0) / 1000));
}

async function throughput(store: Store): Promise<number> {
  const deps = { store, clock: systemClock, logger };
  for (let i = 0; i < N; i += 1000) {
    const items = Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({
      kind: 'bench.noop',
      payload: { i: i + k },
    }));
    await store.transaction((tx) => enqueueMany(tx, deps, items));
  }
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => {
    finished = r;
  });
  let recorded = 0;
  const workers = new JobWorkers(
    deps,
    [
      {
        kind: 'bench.noop',
        concurrency: CONCURRENCY,
        handle: async () => {
          done++;
        },
      },
    ],
    {
      pollMs: 1000,
      onAttempt: (_k, outcome) => {
        if (outcome === 'succeeded' && ++recorded === N) finished();
      },
    },
  );
  const t0 = performance.now();
  workers.start();
  await all;
  const s = (performance.now() - t0) / 1000;
  await workers.stop();
  if (done !== N) throw new Error(`ran ${done} of ${N}`);
  const left = await store.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', 'bench.noop')
    .where('state', '!=', 'succeeded')
    .executeTakeFirstOrThrow();
  if (Number(left.n) !== 0) throw new Error(`${left.n} jobs not recorded as succeeded`);
  return round(N / s);
}

async function latency(store: Store): Promise<number[]> {
  const deps = { store, clock: systemClock, logger };
  const samples: number[] = [];
  const workers = new JobWorkers(
    deps,
    [
      {
        kind: 'bench.latency',
        concurrency: 16,
        handle: async (job) => {
          samples.push(performance.now() - (job.payload as { t: number }).t);
        },
      },
    ],
    { pollMs: 1000 },
  );
  workers.start();
  const total = RATE * LATENCY_S;
  const gap = 1000 / RATE;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * gap;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await enqueue(store.db, deps, 'bench.latency', { t: performance.now() });
  }
  const deadline = Date.now() + 10_000;
  while (samples.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await workers.stop();
  return samples.sort((a, b) => a - b);
}

async function measure(dialect: string, store: Store): Promise<Figures> {
  await migrate(store);
  log(`${dialect}: baseline, one-row UPDATEs for 3 s`);
  const updatesPerSecond = await updateBaseline(store, 3);
  log(`  ${updatesPerSecond} updates/s`);
  log(`${dialect}: ${N} no-op jobs, ${CONCURRENCY} at once`);
  const jobsPerSecond = await throughput(store);
  log(`  ${jobsPerSecond} jobs/s`);
  log(`${dialect}: enqueue-to-start latency, ${RATE} jobs/s for ${LATENCY_S} s`);
  const lat = await latency(store);
  log(`  p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (${lat.length} samples)`);
  return {
    dialect,
    jobsPerSecond,
    updatesPerSecond,
    latencyP50Ms: percentile(lat, 50),
    latencyP99Ms: percentile(lat, 99),
    latencySamples: lat.length,
  };
}

async function main(): Promise<void> {
  const results: Figures[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-jobs-'));
  const sqlite = createStore(`sqlite:${join(dir, 'janua.db')}`);
  try {
    results.push(await measure('sqlite', sqlite));
  } finally {
    await sqlite.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const name = `janua_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  let pgNote = '';
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const store = createStore(url.toString());
    try {
      results.push(await measure('postgres', store));
    } finally {
      await store.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } catch (err) {
    pgNote = `Postgres skipped: ${(err as Error).message}`;
    log(pgNote);
  } finally {
    await admin.end().catch(() => {});
  }
  const lines = [
    '',
    `Janua job queue bench — ${N} no-op jobs, ${CONCURRENCY} at once; latency at ${RATE} jobs/s`,
    '',
  ];
  for (const r of results) {
    lines.push(
      `  ${r.dialect.padEnd(9)} ${String(r.jobsPerSecond).padStart(8)} jobs/s  (${round(r.jobsPerSecond / r.updatesPerSecond, 2)}× one-row UPDATEs/s: ${r.updatesPerSecond})` +
        `  enqueue→start p50 ${r.latencyP50Ms} ms, p99 ${r.latencyP99Ms} ms`,
    );
  }
  const sqliteRun = results.find((r) => r.dialect === 'sqlite');
  if (sqliteRun)
    lines.push(
      '',
      `  ${sqliteRun.jobsPerSecond >= TARGET_SQLITE ? 'PASS' : 'FAIL'}  SQLite ≥ ${TARGET_SQLITE} jobs/s: ${sqliteRun.jobsPerSecond}`,
    );
  if (pgNote) lines.push(`  ${pgNote}`);
  lines.push('');
  process.stdout.write(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:jobs] failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
