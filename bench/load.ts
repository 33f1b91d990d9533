/**
 * One load scenario: autocannon on loopback with a fixed number of connections and a fixed duration. Every
 * response's latency is recorded by status class, so the figures for the successful answers are not mixed
 * with those of the fast 429/503 answers.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LatencyStats {
  count: number;
  perSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface ScenarioResult {
  name: string;
  durationS: number;
  connections: number;
  requests: number;
  /** Successful (2xx) answers per second: the figure compared with the baseline. */
  rps: number;
  ok: LatencyStats;
  /** Load shed or throttled: 429 and 503 answers. */
  shed: LatencyStats;
  /** Any other non-2xx answer (a bench or server problem). */
  otherErrors: LatencyStats;
  statusCodes: Record<string, number>;
  socketErrors: number;
  timeouts: number;
  /** Server process CPU (all its threads) per request, in µs: steadier than req/s on a shared machine. */
  serverCpuUsPerRequest: number | null;
  /** Server process CPU over the run, in cores. */
  serverCpuCores: number | null;
}

/** Per-connection request plan: what autocannon's setupClient hands each connection. */
export interface ConnectionPlan {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Builds the body for the next request on this connection (called after the previous response). */
  body?: () => string;
  onResponse?: (status: number, body: string) => void;
}

export interface ScenarioOptions {
  name: string;
  url: string;
  connections: number;
  durationS: number;
  /** Called once per connection; return that connection's plan (its own state lives in the closure). */
  plan: (connection: number) => ConnectionPlan;
  /** The server's pid, to report its CPU use (Linux /proc). */
  serverPid?: number | undefined;
}

/** CPU time (user + system) of a process so far, in ms, or null where /proc is not there. */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ = 100)
  } catch {
    return null;
  }
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[i]!);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function stats(latencies: number[], durationS: number): LatencyStats {
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    count: sorted.length,
    perSecond: round(sorted.length / durationS),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? round(sorted[sorted.length - 1]!) : null,
  };
}

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const ok: number[] = [];
  const shed: number[] = [];
  const other: number[] = [];
  const statusCodes: Record<string, number> = {};
  let connection = 0;
  let socketErrors = 0;
  let timeouts = 0;
  const cpu0 = processCpuMs(opts.serverPid);
  const started = performance.now();
  let done!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: opts.url,
      connections: opts.connections,
      pipelining: 1,
      duration: opts.durationS,
      timeout: 30,
      setupClient: (client) => {
        const p = opts.plan(connection++);
        client.setRequests([
          {
            method: p.method,
            path: p.path,
            headers: { ...(p.body ? { 'content-type': 'application/json' } : {}), ...p.headers },
            ...(p.body ? { setupRequest: (req) => ({ ...req, body: p.body!() }) } : {}),
            ...(p.onResponse
              ? { onResponse: (status: number, body: string) => p.onResponse!(status, body) }
              : {}),
          },
        ]);
      },
    },
    (err, result) => (err ? fail(err as Error) : done(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) ok.push(responseTime);
    else if (statusCode === 429 || statusCode === 503) shed.push(responseTime);
    else other.push(responseTime);
  });
  instance.on('reqError', () => {
    socketErrors++;
  });
  const result = await finished;
  const cpu1 = processCpuMs(opts.serverPid);
  // autocannon's own measured duration (s); the wall clock as a fallback.
  const durationS = result.duration > 0 ? result.duration : (performance.now() - started) / 1000;
  timeouts = result.timeouts;
  socketErrors += result.errors - result.timeouts;
  const okStats = stats(ok, durationS);
  const requests = ok.length + shed.length + other.length;
  const cpuMs = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  return {
    name: opts.name,
    durationS: round(durationS),
    connections: opts.connections,
    requests,
    rps: okStats.perSecond,
    ok: okStats,
    shed: stats(shed, durationS),
    otherErrors: stats(other, durationS),
    statusCodes,
    socketErrors: Math.max(0, socketErrors),
    timeouts,
    serverCpuUsPerRequest: cpuMs !== null && requests > 0 ? round((cpuMs * 1000) / requests, 1) : null,
    serverCpuCores: cpuMs !== null ? round(cpuMs / 1000 / durationS) : null,
  };
}
