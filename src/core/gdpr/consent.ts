/**
 * Consent records (issue 15): a user's grants and withdrawals per purpose, with the legal basis, the version
 * of the text agreed to, where it was recorded (api, cli, admin) and from which IP and user agent.
 *
 * - The history is append-only (GDPR Art. 7(1): the controller must be able to demonstrate consent). This
 *   module only inserts; a withdrawal is a new `granted = false` row. Erasure keeps the rows under the user's
 *   pseudonym and clears ip and user agent (gdpr/providers/compliance.ts).
 * - Recording always appends (a re-grant of a new version is itself evidence). Withdrawing appends only when
 *   the state changes: withdrawing an already-withdrawn purpose answers the current state with
 *   `changed: false` and writes nothing, so a retried request leaves no duplicate rows.
 * - `recorded_at` is strictly increasing per user (one millisecond past the user's newest row when the clock
 *   has not moved on), so "the newest row of a purpose" is its current state even under a fixed clock or two
 *   requests in the same millisecond. The write takes the per-user lock first (Postgres advisory lock; SQLite
 *   holds the write lock already).
 * - Every grant and withdrawal writes an audit row (`consent.granted` / `consent.withdrawn`) in the same
 *   transaction.
 * - A user acts on their own consents; a platform admin (or an operator at the CLI) on anyone's. Another
 *   user's → 403, checked before the lookup so it reveals nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { type ConsentRow, consents } from '../store/repos/consents.js';
import { lockFor } from '../store/store.js';
import { breaksTextRule } from '../text.js';
import { isPrivileged, requireSelfOrAdmin } from '../users/admin-access.js';
import { findUserIn } from '../users/service.js';

type ConsentDeps = Pick<Deps, 'store' | 'clock'>;

/** The lawful bases of processing, GDPR Art. 6(1)(a)–(f). */
export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

export const PURPOSE_RE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
export const MAX_VERSION = 64;
export const MAX_SOURCE = 64;
/** Sources that say who recorded the row; only those actors may claim them. */
const RESERVED_SOURCES = new Set(['admin', 'cli', 'system']);

export interface ConsentInput {
  purpose: string;
  granted?: boolean | undefined;
  legal_basis?: string | undefined;
  version?: string | null | undefined;
  source?: string | undefined;
}

/** The current state of one purpose (its newest row). */
export interface ConsentState {
  purpose: string;
  granted: boolean;
  legal_basis: string;
  version: string | null;
  source: string;
  recorded_at: string;
}

/** One row of the history. */
export interface ConsentRecord extends ConsentState {
  id: string;
  ip: string | null;
  user_agent: string | null;
}

export interface ConsentList {
  user_id: string;
  consents: ConsentState[];
  history: ConsentRecord[];
}

export interface WithdrawResult extends ConsentState {
  /** False when the purpose was already withdrawn: nothing was written. */
  changed: boolean;
}

function state(r: ConsentRow): ConsentState {
  return {
    purpose: r.purpose,
    granted: r.granted,
    legal_basis: r.legalBasis,
    version: r.version,
    source: r.source,
    recorded_at: r.recordedAt.toISOString(),
  };
}

function record(r: ConsentRow): ConsentRecord {
  return { id: r.id, ...state(r), ip: r.ip, user_agent: r.userAgent };
}

export function validPurpose(purpose: unknown): string {
  if (typeof purpose !== 'string' || !PURPOSE_RE.test(purpose))
    throw validation('purpose must be 1 to 64 of a-z, 0-9 and _ . : - (starting with a letter or digit)', {
      purpose: 'invalid',
    });
  return purpose;
}

/** The default source for the actor: `cli` at the CLI, `admin` for an admin acting for someone else, else `api`. */
function defaultSource(ctx: RequestContext, userId: string): string {
  if (ctx.actorType === 'cli' || ctx.actorType === 'system') return 'cli';
  if (ctx.actorType === 'admin' && ctx.actorId !== userId) return 'admin';
  return 'api';
}

interface Valid {
  purpose: string;
  granted: boolean;
  legalBasis: LegalBasis;
  version: string | null;
  source: string | undefined;
}

function validate(input: ConsentInput, ctx: RequestContext): Valid {
  const purpose = validPurpose(input.purpose);
  if (input.granted !== undefined && typeof input.granted !== 'boolean')
    throw validation('granted must be true or false', { granted: 'not a boolean' });
  const legalBasis = input.legal_basis ?? 'consent';
  if (!(LEGAL_BASES as readonly string[]).includes(legalBasis))
    throw validation(`legal_basis must be one of ${LEGAL_BASES.join(', ')} (GDPR Art. 6(1))`, {
      legal_basis: 'unknown',
    });
  const version = input.version ?? null;
  if (
    version !== null &&
    (version.length === 0 || version.length > MAX_VERSION || breaksTextRule(version, 'single-line'))
  )
    throw validation(`version must be 1 to ${MAX_VERSION} characters on one line`, { version: 'invalid' });
  const source = input.source;
  if (source !== undefined) {
    if (source.length === 0 || source.length > MAX_SOURCE || !PURPOSE_RE.test(source))
      throw validation(`source must be 1 to ${MAX_SOURCE} of a-z, 0-9 and _ . : -`, { source: 'invalid' });
    // A user cannot make their own click look like an operator's or an administrator's entry.
    if (RESERVED_SOURCES.has(source) && !isPrivileged(ctx))
      throw validation(`source "${source}" is reserved for administrators and operators`, {
        source: 'reserved',
      });
  }
  return { purpose, granted: input.granted ?? true, legalBasis: legalBasis as LegalBasis, version, source };
}

/** Strictly after the user's newest row: the history's order is the order things happened in. */
function nextInstant(now: Date, newest: ConsentRow | undefined): Date {
  if (newest && newest.recordedAt.getTime() >= now.getTime())
    return new Date(newest.recordedAt.getTime() + 1);
  return now;
}

async function append(
  deps: ConsentDeps,
  idOrEmail: string,
  ctx: RequestContext,
  build: (
    userId: string,
    newest: ConsentRow | undefined,
    latestOfPurpose: ConsentRow | undefined,
  ) => Omit<ConsentRow, 'id' | 'userId' | 'ip' | 'userAgent' | 'recordedAt'> | null,
  purpose: string,
): Promise<{ row: ConsentRow; changed: boolean }> {
  requireSelfOrAdmin(ctx, idOrEmail);
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await lockFor(deps.store, tx, `consent:${user.id}`);
    const [newest, latest] = await Promise.all([
      consents.newest(tx, user.id),
      consents.newest(tx, user.id, purpose),
    ]);
    const fields = build(user.id, newest, latest);
    if (!fields) return { row: latest!, changed: false };
    const now = deps.clock.now();
    const row: ConsentRow = {
      id: randomUUID(),
      userId: user.id,
      ...fields,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent?.slice(0, 512) ?? null,
      recordedAt: nextInstant(now, newest),
    };
    await consents.append(tx, row);
    await audit(
      tx,
      ctx,
      {
        action: row.granted ? 'consent.granted' : 'consent.withdrawn',
        targetType: 'user',
        targetId: user.id,
        metadata: {
          purpose: row.purpose,
          legal_basis: row.legalBasis,
          version: row.version,
          source: row.source,
        },
      },
      // The row's own instant, so the audit trail orders grants and withdrawals as the history does.
      row.recordedAt,
    );
    return { row, changed: true };
  });
}

/** Appends one consent row (a grant unless `granted: false`) for the user `idOrEmail`. */
export async function recordConsent(
  deps: ConsentDeps,
  idOrEmail: string,
  input: ConsentInput,
  ctx: RequestContext,
): Promise<ConsentRecord> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const v = validate(input, ctx);
  const { row } = await append(
    deps,
    idOrEmail,
    ctx,
    (userId) => ({
      purpose: v.purpose,
      granted: v.granted,
      legalBasis: v.legalBasis,
      version: v.version,
      source: v.source ?? defaultSource(ctx, userId),
    }),
    v.purpose,
  );
  return record(row);
}

/**
 * Withdraws consent for `purpose` (GDPR Art. 7(3): as easy as giving it). 404 when the user never recorded
 * the purpose; already withdrawn → the current state with `changed: false`, nothing written.
 */
export async function withdrawConsent(
  deps: ConsentDeps,
  idOrEmail: string,
  purpose: string,
  ctx: RequestContext,
): Promise<WithdrawResult> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const p = validPurpose(purpose);
  const { row, changed } = await append(
    deps,
    idOrEmail,
    ctx,
    (userId, _newest, latest) => {
      if (!latest) throw notFound(`No consent recorded for purpose ${p}`);
      if (!latest.granted) return null;
      return {
        purpose: p,
        granted: false,
        legalBasis: latest.legalBasis,
        version: latest.version,
        source: defaultSource(ctx, userId),
      };
    },
    p,
  );
  return { ...state(row), changed };
}

/** The current state per purpose (sorted by purpose) and the whole history, oldest first. */
export async function listConsents(
  deps: Pick<Deps, 'store'>,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<ConsentList> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const user = await findUserIn(deps.store.db, idOrEmail);
  const rows = await consents.history(deps.store.db, user.id);
  const current = new Map<string, ConsentRow>();
  for (const r of rows) current.set(r.purpose, r);
  return {
    user_id: user.id,
    consents: [...current.values()].sort((a, b) => (a.purpose < b.purpose ? -1 : 1)).map(state),
    history: rows.map(record),
  };
}
