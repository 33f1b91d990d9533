/**
 * Refresh-token rotation, the common case: an unspent, unexpired token of a live session of an active user
 * is spent, its session extended and its successor stored, all in one transaction. Anything else (a spent
 * token, an unknown or expired one, a revoked session, a suspended user) changes nothing here and answers
 * undefined; the caller then decides in a transaction of its own (service.ts, rotateChecked), so reuse
 * detection stays in one place.
 *
 * The statements work on a whole batch of rotations at once. On SQLite, which has one writer, rotations that
 * arrive while a write transaction runs go out together in the next one (group commit, see Coalescer): one
 * BEGIN, five statements and one COMMIT for up to 64 rotations, instead of a thread-pool round trip per
 * statement per rotation, which was what a refresh cost. On Postgres each rotation keeps a transaction of its
 * own (batches of one): its pool runs many at once, and one rotation never waits on another's row locks.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { perOwner } from '../per-owner.js';
import { Coalescer } from '../store/coalesce.js';
import { refreshTokens, type Session, sessions } from '../store/repos/sessions.js';
import type { Executor, Store } from '../store/store.js';
import type { User } from '../users/model.js';

export interface Rotation {
  /** Hash of the token presented. */
  tokenHash: string;
  /** Hash of its successor, stored when the rotation succeeds. */
  nextHash: string;
}

/** A successful rotation: the session (already extended) and its user. */
export type Rotated = { session: Session; user: User } | undefined;

/**
 * Rotates a batch in the caller's transaction. Each rotation stays all-or-nothing on its own: a token whose
 * session turns out not to be live is put back (`unspendMany`) before the transaction commits, so nothing
 * outside it ever sees it spent. Every condition is checked by the statements themselves: the spend only
 * if unspent and unexpired, the extension only if the session is live and its user active.
 */
export async function rotateBatch(
  tx: Executor,
  batch: Rotation[],
  now: Date,
  expiresAt: Date,
): Promise<Rotated[]> {
  const spent = await refreshTokens.spendMany(
    tx,
    batch.map((r) => r.tokenHash),
    now,
  );
  // A token presented twice in one batch is spent once, and only its first presentation may use it: the
  // others answer undefined and are judged as replays by the caller.
  const claimed = new Set<string>();
  const sessionOf = batch.map((r) => {
    const sessionId = spent.get(r.tokenHash);
    if (sessionId === undefined || claimed.has(r.tokenHash)) return undefined;
    claimed.add(r.tokenHash);
    return sessionId;
  });
  const spentSessions = [...new Set(sessionOf.filter((s) => s !== undefined))];
  const live = await sessions.touchManyIfLive(tx, spentSessions, now, expiresAt);
  const found = await sessions.findManyWithUser(tx, [...live]);
  const results = sessionOf.map((id) => (id !== undefined && live.has(id) ? found.get(id) : undefined));
  await refreshTokens.unspendMany(
    tx,
    batch.filter((_, i) => sessionOf[i] !== undefined && !results[i]).map((r) => r.tokenHash),
    now,
  );
  await refreshTokens.insertMany(
    tx,
    batch.flatMap((r, i) => {
      const done = results[i];
      return done
        ? [{ id: randomUUID(), sessionId: done.session.id, tokenHash: r.nextHash, createdAt: now, expiresAt }]
        : [];
    }),
  );
  return results;
}

interface Queued extends Rotation {
  clock: Clock;
  lifetimeMs: number;
}

/** Rotations per group transaction at most (bounds how long one COMMIT keeps the next group waiting). */
const MAX_GROUP = 64;

const writerGroup = perOwner(
  (store: Store) =>
    new Coalescer<Queued, Rotated>(
      (items) => {
        // One time for the whole group: it is the time of the transaction that spends them.
        const now = items[0]!.clock.now();
        const expiresAt = new Date(now.getTime() + items[0]!.lifetimeMs);
        return store.transaction((tx) => rotateBatch(tx, items, now, expiresAt));
      },
      MAX_GROUP,
      1,
    ),
);

/** Rotates one token; undefined when the common case does not apply (see the module comment). */
export async function rotate(
  deps: { store: Store; clock: Clock },
  rotation: Rotation,
  lifetimeMs: number,
): Promise<Rotated> {
  if (deps.store.dialect === 'sqlite')
    return writerGroup(deps.store).submit({ ...rotation, clock: deps.clock, lifetimeMs });
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + lifetimeMs);
  const [rotated] = await deps.store.transaction((tx) => rotateBatch(tx, [rotation], now, expiresAt));
  return rotated;
}
