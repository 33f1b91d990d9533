import { toDateOrNull } from '../codec.js';
import type { Executor } from '../store.js';

export interface AttemptState {
  failedCount: number;
  lockedUntil: Date | null;
}

/**
 * Sign-in failure counters, keyed by a hash of the normalized email — for unknown emails too, so a lockout
 * looks the same whether or not the account exists.
 */
export const signInAttempts = {
  /**
   * Counts this attempt *before* the password is compared, in one atomic upsert, so parallel guesses cannot
   * all slip past the limit. The count restarts after a lockout ends or after a quiet `window`.
   */
  async begin(ex: Executor, key: string, now: Date, windowMs: number): Promise<AttemptState> {
    const stale = new Date(now.getTime() - windowMs);
    const row = await ex
      .insertInto('sign_in_attempts')
      .values({ key, failed_count: 1, locked_until: null, updated_at: now })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => {
          const restart = eb.or([
            eb.and([
              eb('sign_in_attempts.locked_until', 'is not', null),
              eb('sign_in_attempts.locked_until', '<=', now),
            ]),
            eb.and([
              eb('sign_in_attempts.locked_until', 'is', null),
              eb('sign_in_attempts.updated_at', '<=', stale),
            ]),
          ]);
          return {
            failed_count: eb
              .case()
              .when(restart)
              .then(1)
              .else(eb('sign_in_attempts.failed_count', '+', 1))
              .end(),
            locked_until: eb
              .case()
              .when(restart)
              .then(null)
              .else(eb.ref('sign_in_attempts.locked_until'))
              .end(),
            updated_at: now,
          };
        }),
      )
      .returning(['failed_count', 'locked_until'])
      .executeTakeFirstOrThrow();
    return { failedCount: Number(row.failed_count), lockedUntil: toDateOrNull(row.locked_until) };
  },

  /** Locks the key until `until` unless it is already locked; true when this call set the lock. */
  async lock(ex: Executor, key: string, until: Date, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('sign_in_attempts')
      .set({ locked_until: until, updated_at: now })
      .where('key', '=', key)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  /** An operator's lock: locked until `until` whatever the count (replaces a shorter or longer lock). */
  async lockUntil(ex: Executor, key: string, until: Date, now: Date): Promise<void> {
    await ex
      .insertInto('sign_in_attempts')
      .values({ key, failed_count: 0, locked_until: until, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ locked_until: until, updated_at: now }))
      .execute();
  },

  async reset(ex: Executor, key: string): Promise<boolean> {
    const res = await ex.deleteFrom('sign_in_attempts').where('key', '=', key).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },

  async get(ex: Executor, key: string): Promise<AttemptState | undefined> {
    const row = await ex
      .selectFrom('sign_in_attempts')
      .select(['failed_count', 'locked_until'])
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { failedCount: Number(row.failed_count), lockedUntil: toDateOrNull(row.locked_until) };
  },
};
