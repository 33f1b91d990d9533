/**
 * Maintenance mode: a platform setting in the database, so it survives restarts and every node sharing the
 * database obeys it. Nodes read it through `MaintenanceCache`, which re-reads the database at most every
 * `MAINTENANCE_REFRESH_MS`: a toggle made anywhere (API on any node, or `janua admin maintenance`) reaches
 * every node within that bound (`JANUA_MAINTENANCE_REFRESH_SECONDS`).
 */
import { performance } from 'node:perf_hooks';
import type { Deps } from '../deps.js';
import { JanuaError } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { perOwner } from '../per-owner.js';
import { settings } from '../store/repos/settings.js';
import type { Store } from '../store/store.js';

export const MAINTENANCE_KEY = 'maintenance';
/**
 * Longest time a node may act on a stale maintenance state by default (README "Maintenance mode"); the
 * daemon takes it from `JANUA_MAINTENANCE_REFRESH_SECONDS`.
 */
export const MAINTENANCE_REFRESH_MS = 2000;
export const DEFAULT_MAINTENANCE_MESSAGE = 'The service is down for maintenance; please retry later';

export interface MaintenanceState {
  enabled: boolean;
  /** Shown to clients as the 503 `detail` while enabled. */
  message: string | null;
  updated_at: string | null;
  /** User id of the admin who last toggled it, or `cli` / `system`. */
  updated_by: string | null;
}

interface StoredMaintenance {
  enabled: boolean;
  message: string | null;
  updated_by: string | null;
}

const OFF: MaintenanceState = { enabled: false, message: null, updated_at: null, updated_by: null };

export async function getMaintenance(deps: Pick<Deps, 'store'>): Promise<MaintenanceState> {
  const row = await settings.get<StoredMaintenance>(deps.store.db, MAINTENANCE_KEY);
  if (!row) return OFF;
  return {
    enabled: row.value.enabled === true,
    message: row.value.message ?? null,
    updated_at: row.updatedAt.toISOString(),
    updated_by: row.value.updated_by ?? null,
  };
}

export interface MaintenanceInput {
  enabled: boolean;
  message?: string | null | undefined;
}

/** Turns maintenance mode on or off (audited in the same transaction); this node sees it at once. */
export async function setMaintenance(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: MaintenanceInput,
  ctx: RequestContext,
): Promise<MaintenanceState> {
  const message = input.message?.trim() || null;
  if (message && message.length > 500)
    throw new JanuaError('VALIDATION_ERROR', 'message must be at most 500 characters', {
      fields: { message: 'too long' },
    });
  const now = deps.clock.now();
  const stored: StoredMaintenance = {
    enabled: input.enabled,
    message: input.enabled ? (message ?? DEFAULT_MAINTENANCE_MESSAGE) : null,
    updated_by: ctx.actorId ?? ctx.actorType ?? null,
  };
  await deps.store.transaction(async (tx) => {
    await settings.put(tx, MAINTENANCE_KEY, stored, now);
    await audit(
      tx,
      ctx,
      {
        action: input.enabled ? 'admin.maintenance.enable' : 'admin.maintenance.disable',
        targetType: 'setting',
        targetId: MAINTENANCE_KEY,
        metadata: { message: stored.message },
      },
      now,
    );
  });
  const state: MaintenanceState = { ...stored, updated_at: now.toISOString() };
  maintenanceCache(deps.store).prime(state);
  return state;
}

/**
 * The maintenance state as a node sees it: served from memory, re-read from the database when older than
 * `ttlMs` (one read in flight at a time). If the read fails the last known state stays in force.
 */
export class MaintenanceCache {
  private state: MaintenanceState = OFF;
  private readAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<MaintenanceState> | undefined;

  constructor(
    private readonly read: () => Promise<MaintenanceState>,
    private readonly ttlMs = MAINTENANCE_REFRESH_MS,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  async current(): Promise<MaintenanceState> {
    if (this.monotonic() - this.readAt < this.ttlMs) return this.state;
    this.inflight ??= this.refresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  prime(state: MaintenanceState): void {
    this.state = state;
    this.readAt = this.monotonic();
  }

  private async refresh(): Promise<MaintenanceState> {
    const started = this.monotonic();
    let fresh: MaintenanceState | undefined;
    try {
      fresh = await this.read();
    } catch {
      // Keep the last known state; the next request after the bound tries again.
    }
    // A `prime` that landed while this read was in flight is newer than what the read saw.
    if (this.readAt < started) {
      if (fresh) this.state = fresh;
      this.readAt = started;
    }
    return this.state;
  }
}

/**
 * The one cache per store (per node), shared by the daemon's gate and `setMaintenance`. Its re-read bound
 * is fixed by whoever asks first: the daemon's gate, with the configured bound, at start.
 */
export const maintenanceCache = perOwner(
  (store: Store, ttlMs: number = MAINTENANCE_REFRESH_MS) =>
    new MaintenanceCache(() => getMaintenance({ store }), ttlMs),
);
