import type { Deps } from './deps.js';
import { pendingMigrations } from './store/migrator.js';
import { unreachableReason } from './store/unavailable.js';

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  database: boolean;
  /** null when no Redis is configured (rate-limit counters are in memory). */
  redis: boolean | null;
  kms: boolean;
}

/** Probe timeout: a database that does not answer within it counts as down. */
const PROBE_MS = 2000;

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

/** A ping of the database: ok, or what went wrong (a fixed phrase, never the driver's message) and the error. */
export async function probeDatabase(
  deps: Pick<Deps, 'store'>,
  timeoutMs = PROBE_MS,
): Promise<{ ok: true } | { ok: false; reason: string; error?: unknown }> {
  type Probe = { ok: true } | { ok: false; reason: string; error?: unknown };
  const answer = deps.store.ping().then(
    (): Probe => ({ ok: true }),
    (error: unknown): Probe => ({ ok: false, reason: unreachableReason(error) ?? 'query failed', error }),
  );
  return within(timeoutMs, answer, { ok: false, reason: `no answer within ${timeoutMs / 1000} s` });
}

/**
 * Ready means: the database answers and no migration is pending. `reason` says what is wrong otherwise;
 * `error` is the database's error, for the caller's outage log.
 */
export async function readiness(deps: Pick<Deps, 'store'>): Promise<{
  ready: boolean;
  database: boolean;
  migrations_pending: number | null;
  reason: string | null;
  error?: unknown;
}> {
  const probe = await probeDatabase(deps);
  if (!probe.ok)
    return {
      ready: false,
      database: false,
      migrations_pending: null,
      reason: `database unreachable (${probe.reason})`,
      error: probe.error,
    };
  const pending = await within(PROBE_MS, pendingMigrations(deps.store), null);
  if (pending === null)
    return { ready: false, database: true, migrations_pending: null, reason: 'migration status unknown' };
  return {
    ready: pending === 0,
    database: true,
    migrations_pending: pending,
    reason: pending === 0 ? null : `${pending} schema migration(s) pending: run \`janua db migrate\``,
  };
}

export async function databaseUp(deps: Pick<Deps, 'store'>, timeoutMs = PROBE_MS): Promise<boolean> {
  return (await probeDatabase(deps, timeoutMs)).ok;
}

export async function healthReport(
  deps: Pick<Deps, 'store' | 'keys'>,
  redisPing: (() => Promise<boolean>) | null,
): Promise<HealthReport> {
  const [database, redis] = await Promise.all([
    databaseUp(deps),
    redisPing ? within(PROBE_MS, redisPing(), false) : Promise.resolve(null),
  ]);
  const kms = deps.keys.healthy();
  const status = !database || !kms ? 'unhealthy' : redis === false ? 'degraded' : 'healthy';
  return { status, database, redis, kms };
}
