/**
 * `npm run bench:webhooks`: webhook delivery through the real daemon (SQLite, WEBHOOK_ALLOW_PRIVATE_TARGETS=true)
 * to a local receiver in its own process (bench/webhook-sink.ts).
 *
 * One platform endpoint subscribes to `user.updated`. Two phases:
 * - Sustained: events made through the daemon's API at a fixed rate — `PATCH /api/v1/users/me` (one
 *   transaction: the update, its audit row and a `user.updated` event), so the daemon serves the requests and
 *   delivers on the same 2 cores — measuring commit-to-delivery latency (the event's `created_at` to its arrival
 *   at the receiver, one machine's clock) p50/p99, with where it goes (event → delivery row: the fan-out; row →
 *   delivered: the job).
 * - Backlog: BENCH_WEBHOOK_BACKLOG events committed at once by another process (core library), measuring
 *   deliveries/s from the first to the last arrival: the delivery engine's throughput.
 * Baseline, same run: plain undici POSTs per second from this process to the same receiver.
 *
 * Targets (issue 12): ≥ 1,000 deliveries/s with SQLite; commit-to-delivery p50 < 100 ms.
 * Env: BENCH_WEBHOOK_RATE (events/s, 400), BENCH_WEBHOOK_BACKLOG (10000), BENCH_WEBHOOK_SECONDS (10), BENCH_WEBHOOK_CONNECTIONS (32),
 * BENCH_WEBHOOK_ENV (JSON of extra daemon settings), BENCH_WEBHOOK_PROFILE (a directory: the daemon's CPU profile).
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { SecretBox } from '../src/core/crypto/secrets.js';
import { emitMany } from '../src/core/events/events.js';
import { webhookEndpoints } from '../src/core/store/repos/webhooks.js';
import { createStore } from '../src/core/store/store.js';
import { newSigningSecret, sealSecret } from '../src/core/webhooks/secrets.js';
import { startDaemon } from './daemon.js';
import { percentile, round } from './load.js';

const RATE = Number(process.env['BENCH_WEBHOOK_RATE'] ?? 400);
const SECONDS = Number(process.env['BENCH_WEBHOOK_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_WEBHOOK_CONNECTIONS'] ?? 32);
const BACKLOG = Number(process.env['BENCH_WEBHOOK_BACKLOG'] ?? 10_000);
const TARGET_RATE = 1000;
const TARGET_P50_MS = 100;
const SINK = fileURLToPath(new URL('./webhook-sink.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`[bench:webhooks] ${msg}\n`);

interface SinkStats {
  requests: number;
  distinct: number;
  first: number;
  last: number;
  latencies: number[];
}

const sink = fork(SINK, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ask = async <T>(type: string): Promise<T> => {
  const reply = once(sink, 'message') as Promise<[T]>;
  sink.send({ type });
  return (await reply)[0];
};
const [{ port }] = (await once(sink, 'message')) as [{ port: number }];
const sinkUrl = `http://127.0.0.1:${port}`;

/** Baseline: undici POSTs/s to the receiver, `CONNECTIONS` in flight, for 3 s. */
async function baseline(): Promise<number> {
  const pool = new Pool(sinkUrl, { connections: CONNECTIONS });
  const body = JSON.stringify({
    id: randomUUID(),
    type: 'user.updated',
    created_at: new Date().toISOString(),
    data: {},
  });
  const until = performance.now() + 3000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const r = await pool.request({
          path: '/baseline',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': randomUUID() },
          body,
        });
        await r.body.dump();
        n++;
      }
    }),
  );
  const rate = n / ((performance.now() - t0) / 1000);
  await pool.close();
  return round(rate);
}

const baselineRate = await baseline();
await ask('reset');
log(`baseline: ${baselineRate} plain undici POSTs/s to the receiver`);

const dir = mkdtempSync(join(tmpdir(), 'janua-bench-webhooks-'));
const masterKey = randomBytes(32).toString('base64');
const databaseUrl = `sqlite:${join(dir, 'janua.db')}`;
const daemon = await startDaemon(
  {
    JANUA_DATA_DIR: dir,
    DATABASE_URL: databaseUrl,
    JANUA_MASTER_KEY: masterKey,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    ...(process.env['BENCH_WEBHOOK_ENV'] ? JSON.parse(process.env['BENCH_WEBHOOK_ENV']) : {}),
  },
  process.env['BENCH_WEBHOOK_PROFILE']
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_WEBHOOK_PROFILE']}`]
    : [],
);
const store = createStore(databaseUrl, { poolSize: 1 });
const pool = new Pool(daemon.url, { connections: CONNECTIONS });
try {
  await webhookEndpoints.insert(
    store.db,
    {
      id: randomUUID(),
      organizationId: null,
      url: `${sinkUrl}/hooks`,
      description: 'bench',
      events: ['user.updated'],
      headers: {},
      secretBox: sealSecret(new SecretBox(Buffer.from(masterKey, 'base64')), newSigningSecret()),
      createdBy: null,
    },
    new Date(),
  );
  const signup = await pool.request({
    path: '/api/v1/auth/signup',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${randomUUID()}@example.com`, password: 'SecurePass123!x' }),
  });
  const token = ((await signup.body.json()) as { access_token: string }).access_token;
  let failedRequests = 0;
  const patch = async (i: number): Promise<boolean> => {
    const r = await pool.request({
      path: '/api/v1/users/me',
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ first_name: `Bench${i % 1000}` }),
    });
    await r.body.dump();
    if (r.statusCode !== 200) failedRequests++;
    return r.statusCode === 200;
  };

  /** Sends `rate` PATCHes per second for `seconds`, in 10 ms ticks; resolves with how many succeeded. */
  async function produce(rate: number, seconds: number): Promise<number> {
    let sent = 0;
    let ok = 0;
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    const total = Math.round(rate * seconds);
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++)
        pending.push(
          patch(sent).then((good) => {
            if (good) ok++;
          }),
        );
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(pending);
    return ok;
  }

  async function delivered(expected: number, ms: number): Promise<SinkStats> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await ask<SinkStats>('stats');
      if (s.distinct >= expected || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  log('warm-up: 500 events');
  const warm = await produce(250, 2);
  await delivered(warm, 30_000);
  await ask('reset');

  log(`load: ${RATE} events/s for ${SECONDS} s`);
  const t0 = Date.now();
  const produced = await produce(RATE, SECONDS);
  const produceS = (Date.now() - t0) / 1000;
  const s = await delivered(produced, 120_000);
  const spanS = (s.last - s.first) / 1000;
  const sorted = [...s.latencies].sort((a, b) => a - b);
  // Where the time goes: event commit → delivery row (the fan-out), delivery row → delivered (the job).
  const rows = await store.db
    .selectFrom('webhook_deliveries')
    .select(['event_created_at', 'created_at', 'delivered_at'])
    .where('status', '=', 'succeeded')
    .execute();
  const ms = (v: unknown) =>
    v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(String(v));
  const fanout = rows.map((r) => ms(r.created_at) - ms(r.event_created_at)).sort((a, b) => a - b);
  const job = rows.map((r) => ms(r.delivered_at) - ms(r.created_at)).sort((a, b) => a - b);
  const figures = {
    events_per_second_produced: round(produced / produceS),
    events: produced,
    failed_requests: failedRequests,
    delivered_distinct: s.distinct,
    delivery_requests: s.requests,
    deliveries_per_second: round(s.distinct / spanS),
    commit_to_delivery_p50_ms: percentile(sorted, 50),
    commit_to_delivery_p99_ms: percentile(sorted, 99),
    commit_to_delivery_max_ms: sorted.at(-1) ?? null,
    fanout_p50_ms: percentile(fanout, 50),
    fanout_p99_ms: percentile(fanout, 99),
    row_to_delivered_p50_ms: percentile(job, 50),
    row_to_delivered_p99_ms: percentile(job, 99),
    baseline_undici_posts_per_second: baselineRate,
    daemon_memory: daemon.memory(),
  };
  process.stdout.write(`${JSON.stringify({ bench: 'webhooks', dialect: 'sqlite', ...figures }, null, 2)}\n`);
  const kept = s.distinct === produced;
  const okP50 = (figures.commit_to_delivery_p50_ms ?? Infinity) < TARGET_P50_MS;
  log(
    `sustained: ${figures.deliveries_per_second} deliveries/s keeping up with ${figures.events_per_second_produced} events/s (${kept ? 'every event delivered' : 'EVENTS MISSING'}); commit-to-delivery p50 ${figures.commit_to_delivery_p50_ms} ms, p99 ${figures.commit_to_delivery_p99_ms} ms (target p50 < ${TARGET_P50_MS}: ${okP50 ? 'met' : 'NOT met'})`,
  );

  // Throughput on a backlog: BACKLOG events committed at once by another process (core library, emitMany in
  // transactions of 500, as an import would), picked up by the daemon's outbox poll; deliveries/s from the
  // first to the last arrival.
  await ask('reset');
  log(`backlog: ${BACKLOG} events committed at once`);
  for (let i = 0; i < BACKLOG; i += 500)
    await store.transaction((tx) =>
      emitMany(
        tx,
        Array.from({ length: Math.min(500, BACKLOG - i) }, () => {
          const id = randomUUID();
          return { type: 'user.updated' as const, aggregate: { type: 'user', id }, payload: { user_id: id } };
        }),
        new Date(),
      ),
    );
  const b = await delivered(BACKLOG, 120_000);
  const backlogRate = round(b.distinct / ((b.last - b.first) / 1000));
  process.stdout.write(
    `${JSON.stringify({ bench: 'webhooks-backlog', dialect: 'sqlite', events: BACKLOG, delivered_distinct: b.distinct, delivery_requests: b.requests, deliveries_per_second: backlogRate })}\n`,
  );
  log(
    `backlog deliveries/s ${backlogRate} (target ≥ ${TARGET_RATE}: ${backlogRate >= TARGET_RATE && b.distinct === BACKLOG ? 'met' : 'NOT met'})`,
  );
  const warnings = daemon.logs.filter((l) => /"level":(40|50|60)/.test(l));
  if (warnings.length)
    log(`daemon warnings/errors: ${warnings.length}, first: ${warnings[0]?.slice(0, 300)}`);
} finally {
  await pool.close();
  await store.destroy();
  await daemon.stop();
  sink.send({ type: 'stop' });
  rmSync(dir, { recursive: true, force: true });
}
