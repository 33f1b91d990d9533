/** The built `janua serve`, spawned as an operator would run it, on SQLite in a throw-away data directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/janua.js', import.meta.url));

export interface Daemon {
  url: string;
  child: ChildProcess;
  logs: string[];
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

export async function startDaemon(
  extraEnv: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('JANUA_') || k === 'DATABASE_URL' || k === 'PORT') continue;
    // Defaults under test: no inherited tuning of the things being measured.
    if (k === 'BCRYPT_ROUNDS' || k.startsWith('PASSWORD_HASH_') || k.startsWith('RATE_LIMIT')) continue;
    env[k] = v;
  }
  const port = await freePort();
  Object.assign(env, {
    JANUA_DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'janua.db')}`,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_WHITELIST: '127.0.0.1,::1',
    ...extraEnv,
  });
  const child = spawn(
    process.execPath,
    [...nodeArgs, BIN, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
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
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
