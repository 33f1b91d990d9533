/** The built `janua serve`, spawned as an operator would run it, on SQLite in a throw-away data directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/janua.js', import.meta.url));
const COLLECTOR = fileURLToPath(new URL('./log-collector.js', import.meta.url));

export interface Daemon {
  url: string;
  child: ChildProcess;
  /** stderr, and the stdout lines not at info (warnings, errors): what the bench reports. */
  logs: string[];
  /** Lines the daemon wrote on stdout at info level (the access log), known once it has stopped. */
  infoLines(): number | undefined;
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
 * daemon's default (info) unless `env` sets LOG_LEVEL. Its stdout is a pipe to a collector process
 * (log-collector.ts): info lines are only counted, the others come back to `logs`.
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
  // The daemon's stdout goes to a collector process, as it would in production (journald, a container
  // runtime): reading it on this process's thread, where the load generator runs, took CPU from the load.
  const collector = spawn(process.execPath, [COLLECTOR], { stdio: ['pipe', 'pipe', 'inherit'] });
  const child = spawn(
    process.execPath,
    [...nodeArgs, BIN, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    { env: childEnv, stdio: ['ignore', collector.stdin, 'pipe'] },
  );
  // The daemon holds the pipe's write end now; the collector sees its end when the daemon exits.
  collector.stdin.destroy();
  const logs: string[] = [];
  let info: number | undefined;
  let collected = '';
  collector.stdout.on('data', (d: Buffer) => {
    collected += d.toString();
    let nl = collected.indexOf('\n');
    while (nl >= 0) {
      const line = collected.slice(0, nl);
      collected = collected.slice(nl + 1);
      const count = /^\{"infoLines":(\d+)\}$/.exec(line);
      if (count) info = Number(count[1]);
      else logs.push(line);
      nl = collected.indexOf('\n');
    }
  });
  const collectorDone = once(collector, 'close');
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
      await collectorDone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
