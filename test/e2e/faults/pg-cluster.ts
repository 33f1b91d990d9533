/**
 * A private PostgreSQL cluster a fault test may stop and start: initdb into a temporary directory, a free
 * port on 127.0.0.1 only, trust authentication, run as the `postgres` OS user (tests run as root; initdb and
 * the server refuse root). Never the machine's shared server on 5432, which other suites use at the same time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../../bench/daemon.js';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory; a loud error naming the package when there is none. */
function serverBin(): string {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(PG_ROOT, v, 'bin', b))))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error(
      `These fault tests start and stop a PostgreSQL server of their own, and found no server binaries (initdb, pg_ctl, postgres) under ${PG_ROOT}/*/bin: install them with \`apt-get install postgresql\` (.ci/run does).`,
    );
  return join(PG_ROOT, versions[0], 'bin');
}

export interface PrivatePostgres {
  readonly port: number;
  /** A fresh database in this cluster; its URL. */
  createDatabase(): Promise<string>;
  /** `pg_ctl stop -m MODE`: fast ends every session (57P01); immediate kills the server (crash recovery next). */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** The server log, for failure messages. */
  log(): string;
  destroy(): Promise<void>;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const bin = serverBin();
  const asRoot = process.getuid?.() === 0;
  let uid = -1;
  let gid = -1;
  if (asRoot) {
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    } catch {
      throw new Error(
        'These fault tests run their PostgreSQL server as the `postgres` OS user, which does not exist: `apt-get install postgresql` creates it.',
      );
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'janua-pg-'));
  if (asRoot) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  /** Runs a server program as the postgres user (async: spawned daemons keep writing to our pipes meanwhile). */
  const pgRun = (program: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args])
      : run(join(bin, program), args);

  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  // fsync off: these tests kill processes, never the machine, and the page cache outlives any process.
  // synchronous_commit stays on, so a commit the server acknowledged is in the WAL before the answer.
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=100',
  ].join(' ');
  const start = async () => {
    await pgRun('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  };
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const cluster: PrivatePostgres = {
    port,
    async createDatabase() {
      const name = `janua_f_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    },
    async stop(mode) {
      await pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    start,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (err) {
    const log = cluster.log();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`private PostgreSQL did not start: ${String(err)}\n${log}`);
  }
  return cluster;
}
