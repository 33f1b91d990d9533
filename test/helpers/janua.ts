/** The real `janua` binary, spawned like an operator or a client would use it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/daemon.js';
import { tempDir } from './db.js';

export const BIN = fileURLToPath(new URL('../../../bin/janua.js', import.meta.url));

/** A master key shared by a daemon and the CLI commands run against the same database. */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('JANUA_') && k !== 'DATABASE_URL' && k !== 'PORT') env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export async function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: baseEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(opts.stdin ?? '');
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdout, stderr };
}

export interface Daemon {
  url: string;
  env: Record<string, string>;
  child: ChildProcess;
  /** stdout's lines and stderr's chunks, in arrival order. */
  logs: string[];
  /** stdout's lines only (the daemon's log). */
  stdout: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Log levels that keep the "listening" line (info) out of the log. */
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

/** Whether the daemon's "listening" line will be a JSON line this helper can read its address from. */
function listeningLineReadable(env: Record<string, string>, args: string[]): boolean {
  const pretty = env['LOG_FORMAT'] === 'pretty' || args.includes('pretty');
  return !pretty && !QUIET_LEVELS.has(env['LOG_LEVEL'] ?? '');
}

/**
 * Starts `janua serve --port 0` and waits for its "listening" log line; at a level quieter than info, on a
 * free port, until `/health/live` answers. Rate limits are off unless the test's env turns them on, so
 * suites are not throttled by their own traffic.
 */
export async function startDaemon(opts: {
  databaseUrl: string;
  env?: Record<string, string | undefined>;
  args?: string[];
}): Promise<Daemon> {
  const dir = tempDir('janua-daemon-');
  const env = baseEnv({
    JANUA_DATA_DIR: dir.path,
    DATABASE_URL: opts.databaseUrl,
    LOG_LEVEL: 'info',
    RATE_LIMIT_ENABLED: 'false',
    BCRYPT_ROUNDS: '4',
    ...opts.env,
  });
  const quietPort = listeningLineReadable(env, opts.args ?? []) ? undefined : await freePort();
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', String(quietPort ?? 0), ...(opts.args ?? [])],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  const stdout: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`janua serve did not start in 20 s:\n${logs.join('\n')}`)),
      20_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        stdout.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; address?: string };
          if (rec.msg?.startsWith('janua listening on') && rec.address) {
            clearTimeout(timer);
            resolve(rec.address);
          }
        } catch {
          /* not JSON */
        }
        nl = buf.indexOf('\n');
      }
    });
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    if (quietPort !== undefined) {
      const address = `http://127.0.0.1:${quietPort}`;
      const deadline = Date.now() + 20_000;
      // Until it answers, exits or runs out of time (the timer above then rejects).
      const again = () => {
        if (child.exitCode === null && child.signalCode === null && Date.now() < deadline)
          setTimeout(poll, 50);
      };
      const poll = () =>
        fetch(`${address}/health/live`).then((r) => {
          if (!r.ok) return again();
          clearTimeout(timer);
          resolve(address);
        }, again);
      poll();
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`janua serve exited with ${code}:\n${logs.join('\n')}`));
    });
  }).catch((err: unknown) => {
    // The daemon never started (or not in time): nothing else will stop it or clean its data directory.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    dir.remove();
    throw err;
  });
  return {
    url,
    env,
    child,
    logs,
    stdout,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        dir.remove(); // it exited on its own (or was stopped before); idempotent
        return child.exitCode;
      }
      child.kill(signal);
      // 'close', not 'exit': by then its output has been read to the end.
      const [code] = (await once(child, 'close')) as [number | null];
      dir.remove();
      return code;
    },
  };
}
