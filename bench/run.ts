/**
 * `npm run bench`: throughput and latency of the daemon's hot endpoints, each compared with a baseline
 * measured in the same run on the same machine (bare Fastify, bcrypt and RS256 capacity), so the ratios mean
 * something on a noisy machine. A measurement, not a test: it prints PASS/FAIL per target and exits 0.
 *
 * Three daemons run side by side, loaded one at a time:
 * - quiet: LOG_LEVEL=warn (no request log), the figures the original targets were set for;
 * - default: the configuration an operator gets without setting anything (request log at info on stdout,
 *   a pipe read as a log collector reads it; metrics on);
 * - the metrics A/B on /auth/me: two more daemons at the default configuration, one with
 *   METRICS_ENABLED=false, both fresh and loaded only by the A/B (after one warm-up run each, not counted),
 *   in rounds that alternate which goes first; compared on the median server CPU per answer.
 * All of them whitelist loopback from the rate limits (else the load would measure 429s).
 *
 * Env: BENCH_DURATION_S (per load scenario, default 10), BENCH_CONNECTIONS (default 32),
 * BENCH_CPU_S (per CPU baseline, default 4), BENCH_USERS (accounts signing in, default = connections),
 * BENCH_AB_ROUNDS (metrics on/off rounds on /auth/me, default 4), BENCH_AB_DURATION_S (per A/B run, default
 * half of BENCH_DURATION_S).
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
import {
  fmtMs,
  log,
  mean,
  median,
  printScenario,
  scenarioLine,
  type Target,
  target,
  targetLine,
} from './report.js';

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
const AB_ROUNDS = envInt('BENCH_AB_ROUNDS', 4);
const AB_DURATION_S = envInt('BENCH_AB_DURATION_S', Math.max(1, Math.round(DURATION_S / 2)));
const BCRYPT_ROUNDS = 12; // the daemon's default, which the bench does not override
const PASSWORD = 'Bench-Passw0rd!';
const API = '/api/v1/auth';

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

/** Responses a daemon gave (to count its log lines per request). */
const answered = new Map<Daemon, number>();

async function load(
  daemon: Daemon,
  name: string,
  plan: Parameters<typeof runScenario>[0]['plan'],
  durationS = DURATION_S,
): Promise<ScenarioResult> {
  const s = await runScenario({
    name,
    url: daemon.url,
    connections: CONNECTIONS,
    durationS,
    serverPid: daemon.child.pid,
    plan,
  });
  answered.set(daemon, (answered.get(daemon) ?? 0) + s.requests);
  printScenario(s);
  return s;
}

/** Each connection chains its own session's tokens (each refresh spends the previous token). */
function refreshLoad(daemon: Daemon, name: string, pool: string[], breaks: { n: number }) {
  if (pool.length < CONNECTIONS)
    throw new Error(`only ${pool.length} sessions for ${CONNECTIONS} connections`);
  return load(daemon, name, () => {
    let token = pool.shift()!;
    return {
      method: 'POST',
      path: `${API}/token/refresh`,
      body: () => JSON.stringify({ refresh_token: token }),
      onResponse: (status, text) => {
        if (status === 200) token = (JSON.parse(text) as Tokens).refresh_token;
        else {
          breaks.n++;
          token = pool.shift() ?? token;
        }
      },
    };
  });
}

function meLoad(daemon: Daemon, name: string, access: string[], durationS = DURATION_S) {
  return load(
    daemon,
    name,
    (c) => ({
      method: 'GET',
      path: `${API}/me`,
      headers: { authorization: `Bearer ${access[c % access.length]}` },
    }),
    durationS,
  );
}

function jwksLoad(daemon: Daemon, name: string) {
  return load(daemon, name, () => ({ method: 'GET', path: '/.well-known/jwks.json' }));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  log(`node ${process.version}, ${CORES} cores, ${CONNECTIONS} connections, ${DURATION_S} s per scenario`);

  log(
    'starting janua serve three times (SQLite): quiet (LOG_LEVEL=warn), default, default with METRICS_ENABLED=false',
  );
  const quiet = await startDaemon({ LOG_LEVEL: 'warn', MAX_SESSIONS_PER_USER: '1000' });
  const daemons: Daemon[] = [quiet];
  const scenarios: Record<string, ScenarioResult> = {};
  const ab: { on: ScenarioResult[]; off: ScenarioResult[] } = { on: [], off: [] };
  const memory: Record<string, { idle: ReturnType<Daemon['memory']>; after: ReturnType<Daemon['memory']> }> =
    {};
  const breaks = { n: 0 };
  // Each baseline is measured right before the scenarios compared with it: the machine may be shared.
  let bcryptRun: CpuRun | undefined;
  let jose: JoseCapacity | undefined;
  let joseAfter: JoseCapacity | undefined;
  let fastify: ScenarioResult | undefined;
  let fastifyAfter: ScenarioResult | undefined;
  let defaultLinesPerAnswer: number | null = null;
  try {
    const deflt = await startDaemon({});
    daemons.push(deflt);
    // The A/B pair: two fresh daemons that do nothing but the A/B (the default one above has served the
    // other scenarios by then, with a heap and caches in another state).
    const withMetrics = await startDaemon({});
    daemons.push(withMetrics);
    const noMetrics = await startDaemon({ METRICS_ENABLED: 'false' });
    daemons.push(noMetrics);
    memory['quiet'] = { idle: quiet.memory(), after: null };
    memory['default'] = { idle: deflt.memory(), after: null };

    log(`creating ${USERS} accounts on each daemon (bcrypt cost ${BCRYPT_ROUNDS})`);
    const seeded = await createUsers(quiet, USERS);
    const seededDefault = await createUsers(deflt, CONNECTIONS);
    const seededWithMetrics = await createUsers(withMetrics, CONNECTIONS);
    const seededNoMetrics = await createUsers(noMetrics, CONNECTIONS);
    answered.set(deflt, CONNECTIONS);
    const harvested: Tokens[] = [];

    log(`baseline: bcrypt cost ${BCRYPT_ROUNDS}, ${CORES} compares in flight for ${CPU_S} s`);
    bcryptRun = await bcryptCapacity(BCRYPT_ROUNDS, CORES, CPU_S);
    log(`  ${bcryptRun.perSecond} compares/s (CPU ${bcryptRun.cpuCores} cores)`);

    // 1. Sign-in flood: every connection signs in one account over and over.
    scenarios['signin'] = await load(quiet, 'POST /auth/signin', (c) => {
      const body = JSON.stringify({ email: `bench-${c % USERS}@example.com`, password: PASSWORD });
      return {
        method: 'POST',
        path: `${API}/signin`,
        body: () => body,
        onResponse: (status, text) => {
          if (status === 200) harvested.push(JSON.parse(text) as Tokens);
        },
      };
    });

    log(`baseline: jose RS256 signing (2048-bit), ${CPU_S} s each: sequential, concurrent promises, workers`);
    jose = await joseCapacity(CORES, CPU_S);
    log(
      `  sequential ${jose.sequential.perSecond}/s (CPU ${jose.sequential.cpuCores}), ` +
        `concurrent promises ${jose.concurrentPromises.perSecond}/s (CPU ${jose.concurrentPromises.cpuCores}), ` +
        `${CORES} workers ${jose.workers.perSecond}/s (CPU ${jose.workers.cpuCores}); ` +
        `promise scaling ×${jose.promiseScaling}; capacity = ${jose.best.perSecond}/s (${jose.best.method})`,
    );

    // 2. Refresh, quiet and at the default configuration, side by side between the two RS256 baselines.
    const pool = [...seeded.map((t) => t.refresh_token), ...harvested.map((t) => t.refresh_token)];
    scenarios['refresh'] = await refreshLoad(quiet, 'POST /auth/token/refresh', pool, breaks);
    scenarios['refreshDefault'] = await refreshLoad(
      deflt,
      'POST /auth/token/refresh (default config)',
      seededDefault.map((t) => t.refresh_token),
      breaks,
    );
    if (breaks.n) log(`  refresh chains broken: ${breaks.n}`);
    log('baseline again: jose RS256 signing (the machine may have changed speed meanwhile)');
    joseAfter = await joseCapacity(CORES, CPU_S);
    log(`  capacity = ${joseAfter.best.perSecond}/s (${joseAfter.best.method})`);

    log('baseline: bare Fastify hello world (child process)');
    fastify = await fastifyBaseline(CONNECTIONS, DURATION_S);
    printScenario(fastify);

    // 3. The signed-in user, with a bearer token (the session-liveness check runs on every request).
    const access = [...seeded, ...harvested].map((t) => t.access_token);
    scenarios['me'] = await meLoad(quiet, 'GET /auth/me', access);

    // 4. JWKS, quiet and at the default configuration.
    scenarios['jwks'] = await jwksLoad(quiet, 'GET /.well-known/jwks.json');
    scenarios['jwksDefault'] = await jwksLoad(deflt, 'GET /.well-known/jwks.json (default config)');

    // 5. The cost of metrics on /auth/me at the default configuration: rounds alternate which side goes first.
    const meOn = seededWithMetrics.map((t) => t.access_token);
    const meOff = seededNoMetrics.map((t) => t.access_token);
    // A warm-up run each, not counted: the first load on a fresh daemon pays for its JIT compilation
    // (measured: 20-60 µs more CPU per answer than the rounds after it), on whichever side it falls.
    await meLoad(withMetrics, 'GET /auth/me (warm-up, metrics on)', meOn, AB_DURATION_S);
    await meLoad(noMetrics, 'GET /auth/me (warm-up, metrics off)', meOff, AB_DURATION_S);
    for (let i = 0; i < AB_ROUNDS; i++) {
      const on = () => meLoad(withMetrics, 'GET /auth/me (default config, metrics on)', meOn, AB_DURATION_S);
      const off = () => meLoad(noMetrics, 'GET /auth/me (default config, metrics off)', meOff, AB_DURATION_S);
      if (i % 2 === 0) {
        ab.on.push(await on());
        ab.off.push(await off());
      } else {
        ab.off.push(await off());
        ab.on.push(await on());
      }
    }

    log('baseline again: bare Fastify hello world');
    fastifyAfter = await fastifyBaseline(CONNECTIONS, DURATION_S);
    printScenario(fastifyAfter);

    memory['quiet']!.after = quiet.memory();
    memory['default']!.after = deflt.memory();
  } finally {
    for (const d of daemons) await d.stop();
  }
  // Its collector has counted every line once the daemon has stopped (the stop lines are two more).
  const deflt = daemons[1];
  const infoLines = deflt?.infoLines();
  if (deflt && infoLines !== undefined)
    defaultLinesPerAnswer = round(infoLines / (answered.get(deflt) ?? 1), 3);
  if (!bcryptRun || !jose || !joseAfter || !fastify || !fastifyAfter)
    throw new Error('a baseline is missing');
  // Each throughput baseline is measured right before and right after the scenarios compared with it; the
  // ratio uses their mean, so a machine that speeds up or slows down during the run moves both sides.
  const rsaCapacity = round((jose.best.perSecond + joseAfter.best.perSecond) / 2);
  const fastifyRps = round((fastify.rps + fastifyAfter.rps) / 2);
  for (const [name, d] of [
    ['quiet', daemons[0]],
    ['default', daemons[1]],
  ] as const) {
    const warnings = (d?.logs ?? [])
      .join('\n')
      .split('\n')
      .filter((l) => l && !l.includes('GENERATED A NEW MASTER KEY'));
    if (warnings.length)
      log(`${name} daemon logged ${warnings.length} line(s) above info; first: ${warnings[0]}`);
  }

  const signin = scenarios['signin']!;
  const signinP99 = signin.ok.p99Ms;
  const abOn = mean(ab.on.map((s) => s.rps));
  const abOff = mean(ab.off.map((s) => s.rps));
  // Medians: a round disturbed by the rest of a shared machine moves a mean of four by a quarter of its
  // excess, a median hardly at all.
  const cpuOn = median(ab.on.map((s) => s.serverCpuUsPerRequest ?? 0));
  const cpuOff = median(ab.off.map((s) => s.serverCpuUsPerRequest ?? 0));
  const targets: Target[] = [
    target(
      'sign-ins/s',
      signin.rps,
      'ok/s',
      `bcrypt-${BCRYPT_ROUNDS} compares/s (all cores)`,
      bcryptRun.perSecond,
      0.85,
      {
        extra: {
          description: `p99 of successful sign-ins < 2000 ms (p99 ${fmtMs(signinP99)})`,
          pass: signinP99 !== null && signinP99 < 2000,
        },
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
    target(
      'refresh/s (default config)',
      scenarios['refreshDefault']!.rps,
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
    target(
      'GET /.well-known/jwks.json/s (default config)',
      scenarios['jwksDefault']!.rps,
      'ok/s',
      'bare Fastify req/s',
      fastifyRps,
      0.7,
    ),
    // The server CPU that metrics add to each /auth/me answer, over the CPU of an answer without them. Judged
    // on CPU rather than req/s: with the load generator on the same two cores, req/s of one configuration
    // moves by ±15% between rounds on a shared machine, CPU per answer by a few per cent.
    target(
      'metrics cost on GET /auth/me (server CPU)',
      round(cpuOn - cpuOff, 1),
      'µs/answer more',
      'µs/answer without metrics',
      cpuOff,
      0.05,
      {
        atMost: true,
        extra: {
          description: `req/s with metrics ${abOn} vs ${abOff} without (${round((abOn / abOff - 1) * 100, 1)}%), informational`,
          pass: true,
        },
      },
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
  for (const s of [...Object.values(scenarios), ...ab.on, ...ab.off]) lines.push(scenarioLine(s));
  // Server CPU per answer moves less than req/s when the machine is shared: printed beside the targets.
  const cpu = (s: ScenarioResult) => s.serverCpuUsPerRequest;
  lines.push(
    '',
    'Server CPU per answer (µs; steadier than req/s on a shared machine)',
    `  bare Fastify ${cpu(fastify)} / ${cpu(fastifyAfter)}; ` +
      Object.entries(scenarios)
        .map(([k, s]) => `${k} ${cpu(s)}`)
        .join('; '),
    `  /auth/me metrics on: ${ab.on.map((s) => `${s.rps} ok/s ${cpu(s)} µs`).join(', ')}; ` +
      `off: ${ab.off.map((s) => `${s.rps} ok/s ${cpu(s)} µs`).join(', ')}`,
    '',
    'Daemon memory (VmRSS; peak VmHWM)',
  );
  for (const [name, m] of Object.entries(memory)) {
    const fmt = (x: ReturnType<Daemon['memory']>) => (x ? `${x.rssMiB} MiB (peak ${x.peakMiB})` : '-');
    lines.push(`  ${name.padEnd(8)} idle ${fmt(m.idle)}, after the bench ${fmt(m.after)}`);
  }
  lines.push('', `Default daemon: ${defaultLinesPerAnswer ?? '-'} info log lines per answer`);
  lines.push('', 'Targets');
  for (const t of targets) lines.push(targetLine(t));
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
      abRounds: AB_ROUNDS,
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
    metricsAb: ab,
    memory,
    defaultLinesPerAnswer,
    refreshChainBreaks: breaks.n,
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
