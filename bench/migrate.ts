/**
 * `janua migrate auth0` benchmark: `node dist/bench/migrate.js [COUNT]` (default 100,000).
 *
 * Writes an Auth0 users export of COUNT users (gzipped NDJSON, as Auth0's export job produces) and a password-
 * hash export with a bcrypt cost-10 hash for every user (20 distinct hashes cycled: making 100,000 would take
 * hours and the import never verifies them), then runs the built binary on a fresh SQLite database and
 * measures users per second (users and passwords phases together, wall clock of the whole command) and peak
 * RSS (sampled from /proc every 50 ms). Baseline, same run and machine: `janua users import` of the same COUNT
 * users with hashes (the plain bulk import, no mapping, identities, upserts or checkpoints).
 * Target (issue 13): ≥ 5,000 users/s on SQLite; RSS under 256 MiB.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { auth0User, hashLine, writeNdjson } from '../test/helpers/auth0-export.js';
import { BIN, baseEnv, newMasterKey } from '../test/helpers/janua.js';

const COUNT = Number(process.argv[2] ?? 100_000);

interface Run {
  seconds: number;
  peakRssMiB: number;
  code: number;
  stdout: string;
  stderr: string;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function run(args: string[], env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(BIN), ...args], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(child.pid!));
  }, 50);
  const [code] = (await once(child, 'close')) as [number];
  clearInterval(timer);
  return { seconds: (performance.now() - started) / 1000, peakRssMiB: peak / 1024, code, stdout, stderr };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'janua-bench-migrate-'));
  try {
    const hashes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => bcrypt.hash(`Password-${i}!x`, 10)),
    );
    const usersFile = join(dir, 'users.ndjson.gz');
    const hashesFile = join(dir, 'hashes.ndjson');
    const importFile = join(dir, 'import.ndjson');
    await writeNdjson(
      usersFile,
      (function* () {
        for (let i = 1; i <= COUNT; i++) yield auth0User(i);
      })(),
      true,
    );
    await writeNdjson(
      hashesFile,
      (function* () {
        for (let i = 1; i <= COUNT; i++) yield hashLine(i, hashes[i % 20]!);
      })(),
    );
    await writeNdjson(
      importFile,
      (function* () {
        for (let i = 1; i <= COUNT; i++)
          yield {
            email: `plain.${i}@example.test`,
            first_name: `G${i}`,
            last_name: `F${i}`,
            password_hash: hashes[i % 20],
          };
      })(),
    );
    const envFor = (name: string) => {
      const data = join(dir, name);
      return {
        JANUA_DATA_DIR: data,
        DATABASE_URL: `sqlite:${join(data, 'janua.db')}`,
        JANUA_MASTER_KEY: newMasterKey(),
      };
    };
    const baseEnvImport = envFor('import');
    await run(['db', 'migrate'], baseEnvImport);
    const base = await run(['users', 'import', importFile, '--batch-size', '1000'], baseEnvImport);
    if (base.code !== 0) throw new Error(`users import failed (${base.code}): ${base.stderr.slice(0, 500)}`);
    const migEnv = envFor('migrate');
    await run(['db', 'migrate'], migEnv);
    const mig = await run(
      [
        'migrate',
        'auth0',
        '--users',
        usersFile,
        '--password-hashes',
        hashesFile,
        '--batch-size',
        '1000',
        '--json',
      ],
      migEnv,
    );
    if (mig.code !== 0) throw new Error(`migrate failed (${mig.code}): ${mig.stderr.slice(0, 500)}`);
    const summary = JSON.parse(mig.stdout) as { counts: Record<string, Record<string, number>> };
    const created = summary.counts['users']?.['created'] ?? 0;
    const set = summary.counts['passwords']?.['set'] ?? 0;
    const migRate = COUNT / mig.seconds;
    const baseRate = COUNT / base.seconds;
    const result = {
      bench: 'migrate-auth0',
      users: COUNT,
      created,
      passwords_set: set,
      migrate_seconds: Number(mig.seconds.toFixed(2)),
      migrate_users_per_s: Math.round(migRate),
      migrate_peak_rss_mib: Math.round(mig.peakRssMiB),
      baseline_users_import_per_s: Math.round(baseRate),
      baseline_peak_rss_mib: Math.round(base.peakRssMiB),
      ratio_to_baseline: Number((migRate / baseRate).toFixed(3)),
    };
    console.log(JSON.stringify(result));
    const pass = migRate >= 5000 && mig.peakRssMiB < 256 && created === COUNT && set === COUNT;
    console.log(
      `${pass ? 'PASS' : 'FAIL'} migrate auth0 (SQLite, ${COUNT.toLocaleString('en-US')} users with hashes): ${result.migrate_users_per_s.toLocaleString('en-US')} users/s (target ≥ 5,000; ${result.ratio_to_baseline}× janua users import at ${result.baseline_users_import_per_s.toLocaleString('en-US')}/s), peak RSS ${result.migrate_peak_rss_mib} MiB (target < 256)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
