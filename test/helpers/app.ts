/** An in-process app over a real database, for `app.inject()` tests with a settable clock. */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config/load.js';
import type { JanuaConfig } from '../../src/core/config/schema.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { ensureKeys } from '../../src/core/keys/keys.js';
import { migrate } from '../../src/core/store/migrator.js';
import { buildApp } from '../../src/daemon/app.js';
import { createTestDatabase, type TestDatabase, tempDir } from './db.js';
import { newMasterKey } from './janua.js';

export interface TestApp {
  app: FastifyInstance;
  c: Container;
  clock: FixedClock;
  db: TestDatabase;
  close(): Promise<void>;
}

export async function testContainer(
  dialect: 'sqlite' | 'postgres',
  env: Record<string, string> = {},
): Promise<{ c: Container; clock: FixedClock; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase(dialect);
  const dir = tempDir();
  const config: JanuaConfig = loadConfig({
    env: {
      DATABASE_URL: db.url,
      JANUA_DATA_DIR: dir.path,
      JANUA_MASTER_KEY: newMasterKey(),
      BCRYPT_ROUNDS: '4',
      RATE_LIMIT_ENABLED: 'false',
      ...env,
    },
  });
  const clock = new FixedClock(new Date());
  const c = createContainer(config, { clock, logger: pino({ level: 'silent' }) });
  await migrate(c.store);
  await ensureKeys(c);
  await c.keys.load();
  return {
    c,
    clock,
    db,
    async close() {
      await c.close();
      await db.drop();
      dir.remove();
    },
  };
}

export async function testApp(
  dialect: 'sqlite' | 'postgres',
  env: Record<string, string> = {},
): Promise<TestApp> {
  const t = await testContainer(dialect, env);
  const app = await buildApp(t.c);
  await app.ready();
  return {
    ...t,
    app,
    async close() {
      await app.close();
      await t.close();
    },
  };
}

export const GOOD_PASSWORD = 'SecurePass123!x';
