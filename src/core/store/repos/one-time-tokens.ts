import type { Selectable } from 'kysely';
import { toDate, toDateOrNull } from '../codec.js';
import type { OneTimeTokensTable } from '../schema.js';
import type { Executor } from '../store.js';

/** What a one-time token is for; a token of one purpose is never accepted for another. */
export type TokenPurpose = 'email_verify' | 'password_reset' | 'magic_link' | 'email_change';

/** Why a token was spent: used, replaced by a newer one of its purpose, or the password changed. */
export type ConsumeReason = 'used' | 'superseded' | 'password_changed';

export interface OneTimeToken {
  id: string;
  userId: string;
  purpose: TokenPurpose;
  email: string;
  redirectUrl: string | null;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
  consumeReason: string | null;
}

function decode(r: Selectable<OneTimeTokensTable>): OneTimeToken {
  return {
    id: r.id,
    userId: r.user_id,
    purpose: r.purpose as TokenPurpose,
    email: r.email,
    redirectUrl: r.redirect_url,
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    consumedAt: toDateOrNull(r.consumed_at),
    consumeReason: r.consume_reason,
  };
}

export interface NewOneTimeToken {
  id: string;
  userId: string;
  purpose: TokenPurpose;
  tokenHash: string;
  email: string;
  redirectUrl: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export const oneTimeTokens = {
  async insert(ex: Executor, t: NewOneTimeToken): Promise<void> {
    await ex
      .insertInto('one_time_tokens')
      .values({
        id: t.id,
        user_id: t.userId,
        purpose: t.purpose,
        token_hash: t.tokenHash,
        email: t.email,
        redirect_url: t.redirectUrl,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        consumed_at: null,
        consume_reason: null,
      })
      .execute();
  },

  /**
   * Spends a live token of this purpose in one conditional UPDATE: of two parallel uses exactly one sees
   * `consumed_at IS NULL` and gets the row back (READ COMMITTED re-checks the condition after the other's
   * commit on Postgres; SQLite serialises writers). Unknown, spent, expired and other-purpose tokens → undefined.
   */
  async consume(
    ex: Executor,
    purpose: TokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<OneTimeToken | undefined> {
    const row = await ex
      .updateTable('one_time_tokens')
      .set({ consumed_at: now, consume_reason: 'used' })
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return row && decode(row);
  },

  /** A live token of this purpose without spending it (to check before expensive work); see `consume`. */
  async findLive(
    ex: Executor,
    purpose: TokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<OneTimeToken | undefined> {
    const row = await ex
      .selectFrom('one_time_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Spends the user's live tokens (of one purpose, or all): returns how many. */
  async spendForUser(
    ex: Executor,
    userId: string,
    reason: ConsumeReason,
    now: Date,
    purpose?: TokenPurpose,
  ): Promise<number> {
    let q = ex
      .updateTable('one_time_tokens')
      .set({ consumed_at: now, consume_reason: reason })
      .where('user_id', '=', userId)
      .where('consumed_at', 'is', null);
    if (purpose) q = q.where('purpose', '=', purpose);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  },

  /**
   * Holds the user's row until the transaction ends, so "count the recent tokens, then issue one" is not raced
   * by a parallel request for the same user: a no-op UPDATE takes the row lock on Postgres (READ COMMITTED
   * would otherwise let two transactions count the same rows); SQLite's BEGIN IMMEDIATE already serialises.
   */
  async lockUser(ex: Executor, userId: string): Promise<void> {
    await ex
      .updateTable('users')
      .set((eb) => ({ id: eb.ref('id') }))
      .where('id', '=', userId)
      .execute();
  },

  /** Tokens of this purpose issued to the user since `since` (the per-address send limit counts these). */
  async countIssuedSince(ex: Executor, userId: string, purpose: TokenPurpose, since: Date): Promise<number> {
    const row = await ex
      .selectFrom('one_time_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('created_at', '>', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },
};
