import type { Selectable } from 'kysely';
import type { User } from '../../users/model.js';
import { toDate, toDateOrNull } from '../codec.js';
import { compiledPerLength, padded, type RowOf } from '../compiled.js';
import type { SessionsTable, UsersTable } from '../schema.js';
import type { Executor } from '../store.js';
import { decodeUser } from './users.js';

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
  ip: string | null;
  userAgent: string | null;
}

function decodeSession(r: Selectable<SessionsTable>): Session {
  return {
    id: r.id,
    userId: r.user_id,
    createdAt: toDate(r.created_at),
    lastUsedAt: toDate(r.last_used_at),
    expiresAt: toDate(r.expires_at),
    revokedAt: toDateOrNull(r.revoked_at),
    revokeReason: r.revoke_reason,
    ip: r.ip,
    userAgent: r.user_agent,
  };
}

/** The session's columns, prefixed so they do not collide with the user's in a join. */
export const SESSION_COLUMNS = [
  's.id as s_id',
  's.created_at as s_created_at',
  's.last_used_at as s_last_used_at',
  's.expires_at as s_expires_at',
  's.revoked_at as s_revoked_at',
  's.revoke_reason as s_revoke_reason',
  's.ip as s_ip',
  's.user_agent as s_user_agent',
] as const;

/** An IN list in and out of the one-value tuples compiledPerLength works with (padded, see `padded`). */
const tuples = (list: string[]) => padded(list).map((v) => [v]);
const values = (rows: unknown[][]) => rows.map((r) => r[0] as string);

/** Sessions with their users, by session id: one template per padded list length (see `padded`). */
const findManyWithUserSql = compiledPerLength(1, 0, (ex, ids) =>
  ex
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .selectAll('u')
    .select(SESSION_COLUMNS)
    .where('s.id', 'in', values(ids)),
);
/** A session joined with its user: the user's columns as they are, the session's as SESSION_COLUMNS. */
export type FindWithUserRow = RowOf<typeof findManyWithUserSql>;

export function decodeWithUser(row: FindWithUserRow): { session: Session; user: User } {
  const user = decodeUser(row as unknown as Selectable<UsersTable>);
  const session = decodeSession({
    id: row.s_id,
    user_id: row.id,
    created_at: row.s_created_at,
    last_used_at: row.s_last_used_at,
    expires_at: row.s_expires_at,
    revoked_at: row.s_revoked_at,
    revoke_reason: row.s_revoke_reason,
    ip: row.s_ip,
    user_agent: row.s_user_agent,
  });
  return { session, user };
}

export const sessions = {
  async insert(ex: Executor, s: Omit<Session, 'revokedAt' | 'revokeReason'>): Promise<void> {
    await ex
      .insertInto('sessions')
      .values({
        id: s.id,
        user_id: s.userId,
        created_at: s.createdAt,
        last_used_at: s.lastUsedAt,
        expires_at: s.expiresAt,
        revoked_at: null,
        revoke_reason: null,
        ip: s.ip,
        user_agent: s.userAgent,
      })
      .execute();
  },

  async findById(ex: Executor, id: string): Promise<Session | undefined> {
    const row = await ex.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeSession(row);
  },

  /** The session with its user, in one round trip. */
  async findWithUser(ex: Executor, id: string): Promise<{ session: Session; user: User } | undefined> {
    return (await sessions.findManyWithUser(ex, [id])).get(id);
  },

  /**
   * Sessions with their users by session id, in one query however many (the batched session check of
   * authenticated requests); ids not found are absent from the map.
   */
  async findManyWithUser(
    ex: Executor,
    ids: string[],
  ): Promise<Map<string, { session: Session; user: User }>> {
    const found = new Map<string, { session: Session; user: User }>();
    if (ids.length === 0) return found;
    const { rows } = await ex.executeQuery(findManyWithUserSql(ex, tuples(ids)));
    for (const row of rows) found.set(row.s_id, decodeWithUser(row));
    return found;
  },

  async listLive(ex: Executor, userId: string, now: Date): Promise<Session[]> {
    const rows = await ex
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(decodeSession);
  },

  async touch(ex: Executor, id: string, now: Date, expiresAt: Date): Promise<void> {
    await ex
      .updateTable('sessions')
      .set({ last_used_at: now, expires_at: expiresAt })
      .where('id', '=', id)
      .execute();
  },

  /** Revokes the given live sessions; returns the ids actually revoked by this call. */
  async revoke(ex: Executor, ids: string[], reason: string, now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await ex
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  },

  /** Revokes every live session of the user, but `keep` when given; the ids revoked by this call. */
  async revokeAllForUser(
    ex: Executor,
    userId: string,
    reason: string,
    now: Date,
    keep?: string,
  ): Promise<string[]> {
    let q = ex
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (keep !== undefined) q = q.where('id', '!=', keep);
    const rows = await q.returning('id').execute();
    return rows.map((r) => r.id);
  },

  /** Revokes every live session of every user but `keep` (an admin's emergency sign-out of everyone). */
  async revokeEverywhere(
    ex: Executor,
    reason: string,
    now: Date,
    keep: string | undefined,
  ): Promise<Array<{ id: string; userId: string }>> {
    let q = ex
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now);
    if (keep !== undefined) q = q.where('id', '!=', keep);
    const rows = await q.returning(['id', 'user_id']).execute();
    return rows.map((r) => ({ id: r.id, userId: r.user_id }));
  },
};

export type ConsumeResult =
  | { kind: 'ok'; sessionId: string }
  /** Already spent, at `usedAt`: a replay, or (within the reuse interval) a concurrent refresh. */
  | { kind: 'reused'; sessionId: string; usedAt: Date }
  | { kind: 'invalid' };

export interface NewRefreshToken {
  id: string;
  sessionId: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
}

export const refreshTokens = {
  async insert(ex: Executor, t: NewRefreshToken): Promise<void> {
    await ex
      .insertInto('refresh_tokens')
      .values({
        id: t.id,
        session_id: t.sessionId,
        token_hash: t.tokenHash,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        used_at: null,
      })
      .execute();
  },

  /** The session a refresh token belongs to, if it is one of `userId`'s. */
  async sessionOf(ex: Executor, tokenHash: string, userId: string): Promise<string | undefined> {
    const row = await ex
      .selectFrom('refresh_tokens as r')
      .innerJoin('sessions as s', 's.id', 'r.session_id')
      .select('s.id')
      .where('r.token_hash', '=', tokenHash)
      .where('s.user_id', '=', userId)
      .executeTakeFirst();
    return row?.id;
  },

  /**
   * Spends an unspent, unexpired refresh token (one conditional UPDATE): its session id, or undefined when
   * nothing was spent (unknown, already spent or expired; `consume` tells which).
   */
  async spend(ex: Executor, tokenHash: string, now: Date): Promise<string | undefined> {
    const row = await ex
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('session_id')
      .executeTakeFirst();
    return row?.session_id;
  },

  /**
   * Spends a refresh token atomically: exactly one caller can flip `used_at` from null. A token that exists
   * but was already spent is a replay (RFC 6819 §5.2.2.3; OAuth 2.0 Security BCP §4.14.2): the caller
   * revokes its whole family (the session).
   */
  async consume(ex: Executor, tokenHash: string, now: Date): Promise<ConsumeResult> {
    const spent = await refreshTokens.spend(ex, tokenHash, now);
    if (spent !== undefined) return { kind: 'ok', sessionId: spent };
    const row = await ex
      .selectFrom('refresh_tokens')
      .select(['session_id', 'used_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (row && row.used_at !== null)
      return { kind: 'reused', sessionId: row.session_id, usedAt: toDate(row.used_at) };
    return { kind: 'invalid' };
  },
};
