/** The built `janua serve`, spawned as an operator would run it, on SQLite in a throw-away data directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/janua.js', import.meta.url));

/** JSON log lines above info (warn 40, error 50, fatal 60) and below (debug 20, trace 10). */
const ABOVE_INFO = ['"level":4', '"level":5', '"level":6', '"level":2', '"level":1'];

export interface Daemon {
  url: string;
  child: ChildProcess;
  /** stderr, and the stdout lines not at info (warnings, errors): what the bench reports. */
  logs: string[];
  /** Lines the daemon wrote on stdout at info level (at the default configuration, the access log). */
  infoLines(): number;
  /** Resident memory of the daemon process now (VmRSS) and its peak so far (VmHWM), in MiB. */
  memory(): { rssMiB: number; peakMiB: number } | null;
  stop(): Promise<void>;
}

/**
 * A port free right now on loopback (the daemon's listening line is info-level, not shown at warn); the test
 * helpers' quiet daemons use it too.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** VmRSS and VmHWM of a process from /proc (Linux), in MiB; null elsewhere. */
export function processMemory(pid: number | undefined): { rssMiB: number; peakMiB: number } | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const rss = kib('VmRSS');
    const peak = kib('VmHWM');
    if (!Number.isFinite(rss) || !Number.isFinite(peak)) return null;
    return { rssMiB: Math.round(rss / 102.4) / 10, peakMiB: Math.round(peak / 102.4) / 10 };
  } catch {
    return null;
  }
}

/**
 * Starts the daemon with `env` over the bench's defaults (SQLite in a temporary directory, loopback
 * whitelisted from rate limits, nothing inherited that tunes what is measured). The log level is the
 * daemon's default (info) unless `env` sets LOG_LEVEL. Its stdout is read as a log collector would read
 * it (a pipe, drained as it fills): info lines are only counted, anything above info is kept.
 */
export async function startDaemon(env: Record<string, string>, nodeArgs: string[] = []): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-'));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('JANUA_') || k === 'DATABASE_URL' || k === 'PORT') continue;
    // Defaults under test: no inherited tuning of the things being measured.
    if (k === 'BCRYPT_ROUNDS' || k.startsWith('PASSWORD_HASH_') || k.startsWith('RATE_LIMIT')) continue;
    if (k.startsWith('LOG_') || k.startsWith('METRICS_')) continue;
    childEnv[k] = v;
  }
  const port = await freePort();
  Object.assign(childEnv, {
    JANUA_DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'janua.db')}`,
    RATE_LIMIT_WHITELIST: '127.0.0.1,::1',
    ...env,
  });
  const child = spawn(
    process.execPath,
    [...nodeArgs, BIN, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  let info = 0;
  let partial: Buffer = Buffer.alloc(0);
  // Read as cheaply as a collector that stores lines would: newlines are counted on the bytes (memchr),
  // and only a chunk holding a line above info is turned into text. The bench's load generator runs on
  // this thread; splitting every line into strings here took CPU from it and slowed the load.
  child.stdout!.on('data', (chunk: Buffer) => {
    const d = partial.length ? Buffer.concat([partial, chunk]) : chunk;
    const end = d.lastIndexOf(10) + 1;
    partial = d.subarray(end);
    const whole = d.subarray(0, end);
    for (let i = whole.indexOf(10); i >= 0; i = whole.indexOf(10, i + 1)) info++;
    if (ABOVE_INFO.some((marker) => whole.includes(marker))) {
      for (const line of whole.toString().split('\n')) {
        if (line && !line.startsWith('{"level":30,')) {
          info--;
          logs.push(line);
        }
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`janua serve exited with ${child.exitCode}:\n${logs.join('')}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`janua serve did not become ready in 30 s:\n${logs.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    logs,
    infoLines: () => info,
    memory: () => processMemory(child.pid),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
