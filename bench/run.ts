/**
 * `npm run bench`: throughput and latency of the daemon's hot endpoints, each compared with a baseline
 * measured in the same run on the same machine (bare Fastify, bcrypt and RS256 capacity), so the ratios mean
 * something on a noisy machine. A measurement, not a test: it prints PASS/FAIL per target and exits 0.
 *
 * Env: BENCH_DURATION_S (per load scenario, default 10), BENCH_CONNECTIONS (default 32),
 * BENCH_CPU_S (per CPU baseline, default 4), BENCH_USERS (accounts signing in, default = connections).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  bcryptCapacity,
  CORES,
  type CpuRun,
  fastifyBaseline,
  type JoseCapacity,
  joseCapacity,
} from './baselines.js';
import { type Daemon, startDaemon } from './daemon.js';
import { round, runScenario, type ScenarioResult } from './load.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

const DURATION_S = envInt('BENCH_DURATION_S', 10);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const CPU_S = envInt('BENCH_CPU_S', 4);
const USERS = envInt('BENCH_USERS', CONNECTIONS);
const BCRYPT_ROUNDS = 12; // the daemon's default, which the bench does not override
const PASSWORD = 'Bench-Passw0rd!';
const API = '/api/v1/auth';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface Tokens {
  access_token: string;
  refresh_token: string;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

/** Creates the accounts (bcrypt-12 hashes: a few seconds), a few at a time so the daemon never sheds them. */
async function createUsers(daemon: Daemon, n: number): Promise<Tokens[]> {
  const tokens: Tokens[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CORES }, async () => {
      while (next < n) {
        const i = next++;
        for (let attempt = 0; ; attempt++) {
          const r = await post(`${daemon.url}${API}/signup`, {
            email: `bench-${i}@example.com`,
            password: PASSWORD,
            first_name: 'Bench',
          });
          if (r.status === 201) {
            tokens.push(r.json as Tokens);
            break;
          }
          if ((r.status !== 503 && r.status !== 429) || attempt > 20)
            throw new Error(`signup failed: ${r.status} ${JSON.stringify(r.json)}`);
          await new Promise((res) => setTimeout(res, 250));
        }
      }
    }),
  );
  return tokens;
}

interface Target {
  name: string;
  figure: number;
  unit: string;
  baselineName: string;
  baseline: number;
  ratio: number;
  required: number;
  extra?: { description: string; pass: boolean };
  pass: boolean;
}

function target(
  name: string,
  figure: number,
  unit: string,
  baselineName: string,
  baseline: number,
  required: number,
  extra?: { description: string; pass: boolean },
): Target {
  const ratio = baseline > 0 ? round(figure / baseline, 3) : 0;
  return {
    name,
    figure,
    unit,
    baselineName,
    baseline,
    ratio,
    required,
    ...(extra ? { extra } : {}),
    pass: ratio >= required && (extra?.pass ?? true),
  };
}

function fmtMs(ms: number | null): string {
  return ms === null ? '-' : `${ms} ms`;
}

function printScenario(s: ScenarioResult): void {
  const codes = Object.entries(s.statusCodes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ');
  log(
    `${s.name}: ${s.rps} ok/s (p50 ${fmtMs(s.ok.p50Ms)}, p99 ${fmtMs(s.ok.p99Ms)}), ` +
      `429/503: ${s.shed.count} (${s.shed.perSecond}/s, p50 ${fmtMs(s.shed.p50Ms)}, p99 ${fmtMs(s.shed.p99Ms)}), ` +
      `other errors: ${s.otherErrors.count}, socket errors: ${s.socketErrors}, timeouts: ${s.timeouts} [${codes}]; ` +
      `server CPU ${s.serverCpuCores ?? '-'} cores, ${s.serverCpuUsPerRequest ?? '-'} µs/request`,
  );
}

async function main(): Promise<void> {
  const startedAt = new Date();
  log(`node ${process.version}, ${CORES} cores, ${CONNECTIONS} connections, ${DURATION_S} s per scenario`);

  log('starting janua serve (SQLite, LOG_LEVEL=warn, loopback whitelisted from rate limits)');
  const daemon = await startDaemon({ MAX_SESSIONS_PER_USER: '1000' });
  const scenarios: Record<string, ScenarioResult> = {};
  let chainBreaks = 0;
  // Each baseline is measured right before the scenarios compared with it: the machine may be shared.
  let bcryptRun: CpuRun | undefined;
  let jose: JoseCapacity | undefined;
  let joseAfter: JoseCapacity | undefined;
  let fastify: ScenarioResult | undefined;
  let fastifyAfter: ScenarioResult | undefined;
  try {
    log(`creating ${USERS} accounts (bcrypt cost ${BCRYPT_ROUNDS})`);
    const seeded = await createUsers(daemon, USERS);
    const harvested: Tokens[] = [];

    log(`baseline: bcrypt cost ${BCRYPT_ROUNDS}, ${CORES} compares in flight for ${CPU_S} s`);
    bcryptRun = await bcryptCapacity(BCRYPT_ROUNDS, CORES, CPU_S);
    log(`  ${bcryptRun.perSecond} compares/s (CPU ${bcryptRun.cpuCores} cores)`);

    // 1. Sign-in flood: every connection signs in one account over and over.
    scenarios['signin'] = await runScenario({
      name: 'POST /auth/signin',
      url: daemon.url,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      serverPid: daemon.child.pid,
      plan: (c) => {
        const body = JSON.stringify({ email: `bench-${c % USERS}@example.com`, password: PASSWORD });
        return {
          method: 'POST',
          path: `${API}/signin`,
          body: () => body,
          onResponse: (status, text) => {
            if (status === 200) harvested.push(JSON.parse(text) as Tokens);
          },
        };
      },
    });
    printScenario(scenarios['signin']);

    log(`baseline: jose RS256 signing (2048-bit), ${CPU_S} s each: sequential, concurrent promises, workers`);
    jose = await joseCapacity(CORES, CPU_S);
    log(
      `  sequential ${jose.sequential.perSecond}/s (CPU ${jose.sequential.cpuCores}), ` +
        `concurrent promises ${jose.concurrentPromises.perSecond}/s (CPU ${jose.concurrentPromises.cpuCores}), ` +
        `${CORES} workers ${jose.workers.perSecond}/s (CPU ${jose.workers.cpuCores}); ` +
        `promise scaling ×${jose.promiseScaling}; capacity = ${jose.best.perSecond}/s (${jose.best.method})`,
    );

    // 2. Refresh: each connection chains its own session's tokens (each refresh spends the previous token).
    const pool = [...seeded.map((t) => t.refresh_token), ...harvested.map((t) => t.refresh_token)];
    if (pool.length < CONNECTIONS)
      throw new Error(`only ${pool.length} sessions for ${CONNECTIONS} connections`);
    scenarios['refresh'] = await runScenario({
      name: 'POST /auth/token/refresh',
      url: daemon.url,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      serverPid: daemon.child.pid,
      plan: () => {
        let token = pool.shift()!;
        return {
          method: 'POST',
          path: `${API}/token/refresh`,
          body: () => JSON.stringify({ refresh_token: token }),
          onResponse: (status, text) => {
            if (status === 200) token = (JSON.parse(text) as Tokens).refresh_token;
            else {
              chainBreaks++;
              token = pool.shift() ?? token;
            }
          },
        };
      },
    });
    printScenario(scenarios['refresh']);
    if (chainBreaks) log(`  refresh chains broken: ${chainBreaks}`);
    log('baseline again: jose RS256 signing (the machine may have changed speed meanwhile)');
    joseAfter = await joseCapacity(CORES, CPU_S);
    log(`  capacity = ${joseAfter.best.perSecond}/s (${joseAfter.best.method})`);

    log('baseline: bare Fastify hello world (child process)');
    fastify = await fastifyBaseline(CONNECTIONS, DURATION_S);
    printScenario(fastify);

    // 3. The signed-in user, with a bearer token (the session-liveness check runs on every request).
    const access = [...seeded, ...harvested].map((t) => t.access_token);
    scenarios['me'] = await runScenario({
      name: 'GET /auth/me',
      url: daemon.url,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      serverPid: daemon.child.pid,
      plan: (c) => ({
        method: 'GET',
        path: `${API}/me`,
        headers: { authorization: `Bearer ${access[c % access.length]}` },
      }),
    });
    printScenario(scenarios['me']);

    // 4. JWKS.
    scenarios['jwks'] = await runScenario({
      name: 'GET /.well-known/jwks.json',
      url: daemon.url,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      serverPid: daemon.child.pid,
      plan: () => ({ method: 'GET', path: '/.well-known/jwks.json' }),
    });
    printScenario(scenarios['jwks']);

    log('baseline again: bare Fastify hello world');
    fastifyAfter = await fastifyBaseline(CONNECTIONS, DURATION_S);
    printScenario(fastifyAfter);
  } finally {
    await daemon.stop();
  }
  if (!bcryptRun || !jose || !joseAfter || !fastify || !fastifyAfter)
    throw new Error('a baseline is missing');
  // Each throughput baseline is measured right before and right after the scenarios compared with it; the
  // ratio uses their mean, so a machine that speeds up or slows down during the run moves both sides.
  const rsaCapacity = round((jose.best.perSecond + joseAfter.best.perSecond) / 2);
  const fastifyRps = round((fastify.rps + fastifyAfter.rps) / 2);
  const warnings = daemon.logs
    .join('')
    .split('\n')
    .filter((l) => l && !l.includes('GENERATED A NEW MASTER KEY'));
  if (warnings.length)
    log(`daemon logged ${warnings.length} line(s) at warn or above; first: ${warnings[0]}`);

  const signin = scenarios['signin']!;
  const signinP99 = signin.ok.p99Ms;
  const targets: Target[] = [
    target(
      'sign-ins/s',
      signin.rps,
      'ok/s',
      `bcrypt-${BCRYPT_ROUNDS} compares/s (all cores)`,
      bcryptRun.perSecond,
      0.85,
      {
        description: 'p99 of successful sign-ins < 2000 ms',
        pass: signinP99 !== null && signinP99 < 2000,
      },
    ),
    target(
      'refresh/s',
      scenarios['refresh']!.rps,
      'ok/s',
      'RS256 signatures/s (all cores)',
      rsaCapacity,
      0.4,
    ),
    target('GET /auth/me/s', scenarios['me']!.rps, 'ok/s', 'bare Fastify req/s', fastifyRps, 0.2),
    target(
      'GET /.well-known/jwks.json/s',
      scenarios['jwks']!.rps,
      'ok/s',
      'bare Fastify req/s',
      fastifyRps,
      0.7,
    ),
  ];

  const lines = [
    '',
    `Janua bench — node ${process.version}, ${CORES} cores, ${CONNECTIONS} connections × ${DURATION_S} s, ${startedAt.toISOString()}`,
    '',
    'Baselines',
    `  bare Fastify hello world      ${fastifyRps} req/s (mean of ${fastify.rps} before and ${fastifyAfter.rps} after; p50 ${fmtMs(fastify.ok.p50Ms)}, p99 ${fmtMs(fastify.ok.p99Ms)})`,
    `  bcrypt-${BCRYPT_ROUNDS} compare, ${CORES} cores   ${bcryptRun.perSecond} compares/s`,
    `  jose RS256 sign, all cores    ${rsaCapacity} signatures/s (mean of ${jose.best.perSecond} before and ${joseAfter.best.perSecond} after; ${jose.best.method}; sequential ${jose.sequential.perSecond}/s, promises ×${jose.promiseScaling})`,
    '',
    'Janua',
  ];
  for (const s of Object.values(scenarios)) {
    lines.push(
      `  ${s.name.padEnd(28)} ${String(s.rps).padStart(9)} ok/s  p50 ${fmtMs(s.ok.p50Ms).padStart(10)}  p99 ${fmtMs(s.ok.p99Ms).padStart(10)}` +
        `  429/503 ${s.shed.count} (${s.shed.perSecond}/s, p99 ${fmtMs(s.shed.p99Ms)})  other non-2xx ${s.otherErrors.count}`,
    );
  }
  // Server CPU per answer moves less than req/s when the machine is shared: printed beside the targets.
  const cpu = (s: ScenarioResult) => s.serverCpuUsPerRequest;
  lines.push(
    '',
    'Server CPU per answer (µs; steadier than req/s on a shared machine)',
    `  bare Fastify ${cpu(fastify)} / ${cpu(fastifyAfter)}; ` +
      Object.entries(scenarios)
        .map(([k, s]) => `${k} ${cpu(s)}`)
        .join('; '),
  );
  lines.push('', 'Targets');
  for (const t of targets) {
    lines.push(
      `  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(28)} ${t.figure} ${t.unit} / ${t.baseline} ${t.baselineName} = ${t.ratio} (target ≥ ${t.required})` +
        (t.extra ? `; ${t.extra.description}: ${t.extra.pass ? 'yes' : 'no'} (p99 ${fmtMs(signinP99)})` : ''),
    );
  }
  lines.push('');
  process.stdout.write(lines.join('\n'));

  const out = {
    date: startedAt.toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: CORES,
    settings: {
      connections: CONNECTIONS,
      durationS: DURATION_S,
      cpuBaselineS: CPU_S,
      users: USERS,
      bcryptRounds: BCRYPT_ROUNDS,
    },
    baselines: {
      fastify,
      fastifyAfter,
      fastifyRps,
      bcrypt: bcryptRun,
      jose,
      joseAfter,
      rsaCapacity,
    },
    scenarios,
    refreshChainBreaks: chainBreaks,
    targets,
    allPass: targets.every((t) => t.pass),
  };
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`Figures written to bench/results/latest.json\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
