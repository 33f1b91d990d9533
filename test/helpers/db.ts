/**
 * Real databases for tests: a fresh SQLite file always, and a fresh Postgres database (created and dropped
 * per call) when JANUA_TEST_DATABASE_URL is set — so every suite runs on both dialects in CI.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  dialect: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

export const PG_URL = process.env['JANUA_TEST_DATABASE_URL'];

/**
 * Dialects the suites run on: SQLite always, Postgres when JANUA_TEST_DATABASE_URL is set.
 * JANUA_TEST_DIALECTS (e.g. `postgres`) narrows it, so CI's second pass does not repeat the SQLite runs.
 */
export function dialects(): Array<'sqlite' | 'postgres'> {
  const all: Array<'sqlite' | 'postgres'> = PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  const only = process.env['JANUA_TEST_DIALECTS']?.split(',').map((s) => s.trim());
  return only ? all.filter((d) => only.includes(d)) : all;
}

export function tempDir(prefix = 'janua-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function createTestDatabase(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = tempDir();
    return { dialect, url: `sqlite:${join(dir.path, 'janua.db')}`, drop: async () => dir.remove() };
  }
  if (!PG_URL) throw new Error('JANUA_TEST_DATABASE_URL is not set');
  const name = `janua_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
