import type { Executor } from '../store.js';
import { oneTimeTokens } from './one-time-tokens.js';

/**
 * Privileged repository: the only code that reads password hashes. Read paths (user lists, profiles) use
 * ./users.ts, which never touches this table, so a hash cannot leak through them.
 */
export const passwordCredentials = {
  async getHash(ex: Executor, userId: string): Promise<string | undefined> {
    const row = await ex
      .selectFrom('password_credentials')
      .select('password_hash')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.password_hash;
  },

  /**
   * Sets (or replaces) the password. Every path that changes a password comes here, so this is where the
   * user's outstanding one-time tokens are spent: a reset link or magic link mailed under the old password
   * must not outlive it.
   */
  async set(ex: Executor, userId: string, hash: string, now: Date): Promise<void> {
    await oneTimeTokens.spendForUser(ex, userId, 'password_changed', now);
    await ex
      .insertInto('password_credentials')
      .values({ user_id: userId, password_hash: hash, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: hash, updated_at: now }))
      .execute();
  },

  /** Stores hashes for users that have none yet (imports), in one statement. */
  async insertMany(
    ex: Executor,
    rows: ReadonlyArray<{ userId: string; hash: string }>,
    now: Date,
  ): Promise<void> {
    if (rows.length === 0) return;
    await ex
      .insertInto('password_credentials')
      .values(
        rows.map((r) => ({ user_id: r.userId, password_hash: r.hash, created_at: now, updated_at: now })),
      )
      .execute();
  },

  /**
   * Stores a first password only if the user still has none (lazy migration: a password set meanwhile, e.g.
   * by a reset, is never overwritten). True when it was stored.
   */
  async insertIfAbsent(ex: Executor, userId: string, hash: string, now: Date): Promise<boolean> {
    const r = await ex
      .insertInto('password_credentials')
      .values({ user_id: userId, password_hash: hash, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .executeTakeFirst();
    const stored = Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (stored) await oneTimeTokens.spendForUser(ex, userId, 'password_changed', now);
    return stored;
  },

  /**
   * Replaces a hash by the same password hashed at another cost (rehash on sign-in). Only if the stored hash is
   * still `oldHash`, so a password changed meanwhile is kept; outstanding one-time tokens stay valid, since
   * the password itself did not change.
   */
  async rehash(ex: Executor, userId: string, oldHash: string, newHash: string, now: Date): Promise<boolean> {
    const r = await ex
      .updateTable('password_credentials')
      .set({ password_hash: newHash, updated_at: now })
      .where('user_id', '=', userId)
      .where('password_hash', '=', oldHash)
      .executeTakeFirst();
    return Number(r.numUpdatedRows ?? 0n) > 0;
  },
};

/** Import helpers (src/core/imports/): which users hold a password, and storing hashes only where none is. */
export const importedCredentials = {
  /** Which of `userIds` have a password (ids only: no hash leaves this repository). */
  async holders(ex: Executor, userIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const ids = [...new Set(userIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await ex
        .selectFrom('password_credentials')
        .select('user_id')
        .where('user_id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.user_id);
    }
    return out;
  },

  /** Stores imported hashes for users that have none; a user who got a password meanwhile keeps it. */
  async insertAbsent(
    ex: Executor,
    rows: ReadonlyArray<{ userId: string; hash: string }>,
    now: Date,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += 500)
      await ex
        .insertInto('password_credentials')
        .values(
          rows
            .slice(i, i + 500)
            .map((r) => ({ user_id: r.userId, password_hash: r.hash, created_at: now, updated_at: now })),
        )
        .onConflict((oc) => oc.column('user_id').doNothing())
        .execute();
  },
};
