import type { CompiledQuery, InferResult, Selectable } from 'kysely';
import type { User } from '../../users/model.js';
import { toDate, toDateOrNull } from '../codec.js';
import { compiledOnce } from '../compiled.js';
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
const SESSION_COLUMNS = [
  's.id as s_id',
  's.created_at as s_created_at',
  's.last_used_at as s_last_used_at',
  's.expires_at as s_expires_at',
  's.revoked_at as s_revoked_at',
  's.revoke_reason as s_revoke_reason',
  's.ip as s_ip',
  's.user_agent as s_user_agent',
] as const;

function findWithUserQuery(ex: Executor, id: string) {
  return ex
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .selectAll('u')
    .select(SESSION_COLUMNS)
    .where('s.id', '=', id);
}
type FindWithUserRow = InferResult<ReturnType<typeof findWithUserQuery>>[number];
const findWithUserSql = new WeakMap<object, CompiledQuery<FindWithUserRow>>();

function decodeWithUser(row: FindWithUserRow): { session: Session; user: User } {
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

/** A refresh token's state with its session and user: the read half of a rotation, in one query. */
function peekWithSessionQuery(ex: Executor, tokenHash: string) {
  return ex
    .selectFrom('refresh_tokens as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .selectAll('u')
    .select(SESSION_COLUMNS)
    .select(['r.used_at as r_used_at', 'r.expires_at as r_expires_at'])
    .where('r.token_hash', '=', tokenHash);
}
type PeekWithSessionRow = InferResult<ReturnType<typeof peekWithSessionQuery>>[number];
const peekWithSessionSql = new WeakMap<object, CompiledQuery<PeekWithSessionRow>>();

// The statements of every refresh rotation, compiled once (see compiledOnce).
const touchIfLiveSql = compiledOnce(3, (ex, id: string, now: Date, expiresAt: Date) =>
  ex
    .updateTable('sessions')
    .set({ last_used_at: now, expires_at: expiresAt })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('user_id', 'in', (eb) => eb.selectFrom('users').select('id').where('status', '=', 'active')),
);
const insertTokenSql = compiledOnce(
  5,
  (ex, id: string, sessionId: string, tokenHash: string, createdAt: Date, expiresAt: Date) =>
    ex.insertInto('refresh_tokens').values({
      id,
      session_id: sessionId,
      token_hash: tokenHash,
      created_at: createdAt,
      expires_at: expiresAt,
      used_at: null,
    }),
);
const spendSql = compiledOnce(2, (ex, tokenHash: string, now: Date) =>
  ex
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('session_id'),
);
const unspendSql = compiledOnce(2, (ex, tokenHash: string, usedAt: Date) =>
  ex
    .updateTable('refresh_tokens')
    .set({ used_at: null })
    .where('token_hash', '=', tokenHash)
    .where('used_at', '=', usedAt),
);

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

  /** The session with its user, in one round trip: what every authenticated request needs. */
  async findWithUser(ex: Executor, id: string): Promise<{ session: Session; user: User } | undefined> {
    // Built and compiled once per dialect (it runs on every authenticated request); only the id changes.
    const adapter = ex.getExecutor().adapter;
    let template = findWithUserSql.get(adapter);
    if (!template) {
      template = findWithUserQuery(ex, '').compile();
      findWithUserSql.set(adapter, template);
    }
    const { rows } = await ex.executeQuery<FindWithUserRow>({ ...template, parameters: [id] });
    const row = rows[0];
    return row && decodeWithUser(row);
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

  /**
   * Extends a session only if it is live and its user active, checked in the same statement (so a
   * revocation or suspension committed in between wins); true when it did.
   */
  async touchIfLive(ex: Executor, id: string, now: Date, expiresAt: Date): Promise<boolean> {
    const res = await ex.executeQuery(touchIfLiveSql(ex, id, now, expiresAt));
    return Number(res.numAffectedRows) === 1;
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

  async revokeAllForUser(ex: Executor, userId: string, reason: string, now: Date): Promise<string[]> {
    const rows = await ex
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  },
};

export type ConsumeResult =
  | { kind: 'ok'; sessionId: string }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'invalid' };

export const refreshTokens = {
  async insert(
    ex: Executor,
    t: { id: string; sessionId: string; tokenHash: string; createdAt: Date; expiresAt: Date },
  ): Promise<void> {
    await ex.executeQuery(insertTokenSql(ex, t.id, t.sessionId, t.tokenHash, t.createdAt, t.expiresAt));
  },

  /** A refresh token's session and state, without changing it (a read outside any transaction). */
  async peek(
    ex: Executor,
    tokenHash: string,
  ): Promise<{ sessionId: string; used: boolean; expiresAt: Date } | undefined> {
    const row = await ex
      .selectFrom('refresh_tokens')
      .select(['session_id', 'used_at', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && { sessionId: row.session_id, used: row.used_at !== null, expiresAt: toDate(row.expires_at) }
    );
  },

  /**
   * `peek` and `sessions.findWithUser` in one query (a read outside any transaction): the token's state,
   * its session and the session's user, or undefined for an unknown token.
   */
  async peekWithSession(
    ex: Executor,
    tokenHash: string,
  ): Promise<{ used: boolean; expiresAt: Date; session: Session; user: User } | undefined> {
    const adapter = ex.getExecutor().adapter;
    let template = peekWithSessionSql.get(adapter);
    if (!template) {
      template = peekWithSessionQuery(ex, '').compile();
      peekWithSessionSql.set(adapter, template);
    }
    const { rows } = await ex.executeQuery<PeekWithSessionRow>({ ...template, parameters: [tokenHash] });
    const row = rows[0];
    if (!row) return undefined;
    return { used: row.r_used_at !== null, expiresAt: toDate(row.r_expires_at), ...decodeWithUser(row) };
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
    const { rows } = await ex.executeQuery(spendSql(ex, tokenHash, now));
    return rows[0]?.session_id;
  },

  /** Undoes `spend(ex, tokenHash, usedAt)` inside the same transaction (nothing outside it ever saw it). */
  async unspend(ex: Executor, tokenHash: string, usedAt: Date): Promise<void> {
    await ex.executeQuery(unspendSql(ex, tokenHash, usedAt));
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
    if (row && row.used_at !== null) return { kind: 'reused', sessionId: row.session_id };
    return { kind: 'invalid' };
  },
};
