/**
 * Refresh-token rotation, the common case: an unspent, unexpired token of a live session of an active user
 * is spent, its session extended and its successor stored, in one statement that also answers with the
 * session and its user (store/repos/rotations.ts). Anything else (a spent token, an unknown or expired one,
 * a revoked session, a suspended user) changes nothing here and answers undefined; the caller then decides
 * in a transaction of its own (service.ts, rotateChecked), so reuse detection stays in one place.
 *
 * On SQLite, which has one writer, rotations that arrive while a group is being written go out together in
 * the next one (group commit, see Coalescer): one statement, one thread-pool job, for up to 64 rotations.
 * On Postgres each rotation is a statement of its own: its pool runs many at once, and one rotation never
 * waits on another's row locks.
 */
import type { Clock } from '../clock.js';
import { perOwner } from '../per-owner.js';
import { Coalescer } from '../store/coalesce.js';
import { type RotationDone, type RotationWrite, rotations } from '../store/repos/rotations.js';
import type { Store } from '../store/store.js';

/** A successful rotation: the session (already extended) and its user. */
export type Rotated = RotationDone | undefined;

interface Queued extends RotationWrite {
  clock: Clock;
  lifetimeMs: number;
}

/** Rotations per group at most (bounds the statement's size and how long it keeps the next group waiting). */
const MAX_GROUP = 64;

const writerGroup = perOwner(
  (store: Store) =>
    new Coalescer<Queued, Rotated>(
      (items) => {
        // One time for the whole group: it is the time of the statement that spends them.
        const now = items[0]!.clock.now();
        const expiresAt = new Date(now.getTime() + items[0]!.lifetimeMs);
        return rotations.apply(store.db, 'sqlite', items, now, expiresAt);
      },
      MAX_GROUP,
      1,
    ),
);

/** Rotates one token; undefined when the common case does not apply (see the module comment). */
export async function rotate(
  deps: { store: Store; clock: Clock },
  rotation: RotationWrite,
  lifetimeMs: number,
): Promise<Rotated> {
  const { store } = deps;
  if (store.dialect === 'sqlite')
    return writerGroup(store).submit({ ...rotation, clock: deps.clock, lifetimeMs });
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + lifetimeMs);
  const [rotated] = await rotations.apply(store.db, store.dialect, [rotation], now, expiresAt);
  return rotated;
}
