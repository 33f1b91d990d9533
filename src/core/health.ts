import type { Deps } from './deps.js';
import { pendingMigrations } from './store/migrator.js';

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  database: boolean;
  /** null when no Redis is configured (rate-limit counters are in memory). */
  redis: boolean | null;
  kms: boolean;
}

async function within<T>(ms: number, p: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([p.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function databaseUp(deps: Pick<Deps, 'store'>, timeoutMs = 2000): Promise<boolean> {
  return within(
    timeoutMs,
    deps.store.ping().then(() => true),
    false,
  );
}

/** Ready means: the database answers and no migration is pending. */
export async function readiness(
  deps: Pick<Deps, 'store'>,
): Promise<{ ready: boolean; database: boolean; migrations_pending: number | null }> {
  const database = await databaseUp(deps);
  const pending = database ? await within(2000, pendingMigrations(deps.store), null) : null;
  return { ready: database && pending === 0, database, migrations_pending: pending };
}

export async function healthReport(
  deps: Pick<Deps, 'store' | 'keys'>,
  redisPing: (() => Promise<boolean>) | null,
): Promise<HealthReport> {
  const [database, redis] = await Promise.all([
    databaseUp(deps),
    redisPing ? within(2000, redisPing(), false) : Promise.resolve(null),
  ]);
  const kms = deps.keys.healthy();
  const status = !database || !kms ? 'unhealthy' : redis === false ? 'degraded' : 'healthy';
  return { status, database, redis, kms };
}
