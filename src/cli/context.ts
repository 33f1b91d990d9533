import { loadConfig } from '../core/config/load.js';
import type { JanuaConfig } from '../core/config/schema.js';
import { type Container, type ContainerOptions, createContainer } from '../core/container.js';
import { JanuaError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { MIGRATIONS } from '../core/store/migrations/index.js';
import { initializeIfNew, pendingMigrations } from '../core/store/migrator.js';
import type { Io } from './output.js';

/** Options every command accepts (declared once on the program). */
export interface GlobalOptions {
  config?: string;
  databaseUrl?: string;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
}

export function configFrom(
  io: Io,
  globals: GlobalOptions,
  extra: Partial<Record<keyof JanuaConfig, unknown>> = {},
): JanuaConfig {
  return loadConfig({
    env: io.env,
    cwd: io.cwd,
    configFile: globals.config,
    flags: {
      databaseUrl: globals.databaseUrl,
      dataDir: globals.dataDir,
      logLevel: globals.logLevel,
      logFormat: globals.logFormat,
      ...extra,
    },
  });
}

/**
 * Opens the core for an operator command: logs go to stderr (stdout is for results), and unless the
 * command manages the schema itself the database must be migrated. A brand-new database (nothing in it) is
 * initialized as `janua serve` would, so `janua users create --admin` works right after install; one that is
 * behind is refused, because migrating a database in use is the operator's decision (`janua db migrate`).
 */
export async function openContainer(
  io: Io,
  globals: GlobalOptions,
  options: ContainerOptions & { requireMigrated?: boolean } = {},
): Promise<Container> {
  const config = configFrom(io, globals);
  const logger =
    options.logger ??
    createLogger({
      level: globals.logLevel ?? (io.env['LOG_LEVEL'] || 'warn'),
      format: config.logFormat,
      fd: 2,
    });
  const c = createContainer(config, { masterKey: 'lazy', ...options, logger });
  if (options.requireMigrated ?? true) {
    let pending: number;
    try {
      pending = await pendingMigrations(c.store);
    } catch (err) {
      await c.close();
      throw new JanuaError('SERVICE_UNAVAILABLE', `cannot reach the database: ${(err as Error).message}`);
    }
    if (pending) {
      const ran = await initializeIfNew(c.store).catch(async (err: unknown) => {
        await c.close();
        throw err;
      });
      if (ran) {
        pending = 0;
        io.err(
          `initialized the new ${c.store.dialect} database: applied ${ran.length} schema migration(s) (${ran.map((m) => `${m.version}_${m.name}`).join(', ')})\n`,
        );
      }
    }
    if (pending) {
      await c.close();
      throw new JanuaError(
        'SERVICE_UNAVAILABLE',
        pending === MIGRATIONS.length
          ? "the database holds tables but no janua schema: check DATABASE_URL names janua's database (`janua db migrate` would add janua's tables to this one)"
          : `the database has ${pending} pending schema migration(s): run \`janua db migrate\` first`,
      );
    }
  }
  return c;
}

/** Runs `fn` with a container and always closes it. */
export async function withContainer<T>(
  io: Io,
  globals: GlobalOptions,
  options: Parameters<typeof openContainer>[2],
  fn: (c: Container) => Promise<T>,
): Promise<T> {
  const c = await openContainer(io, globals, options);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}
