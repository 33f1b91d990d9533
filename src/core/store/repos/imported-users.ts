/**
 * The user rows imports from other systems write and read (issue 13, src/core/imports/users.ts): a multi-row
 * insert carrying every column a source gives (created_at and last sign-in preserved, nickname, app_metadata),
 * the batched lookups an import batch needs (owners of emails and usernames, the current rows of users to
 * update, import records by local id) and the keyset page of imported users still without a password.
 * Every statement is built for a batch: lists go in slices under SQLite's 32,766 bound parameters.
 */
import { type Selectable, sql } from 'kysely';
import { json, toBool, toJson } from '../codec.js';
import type { UsersTable } from '../schema.js';
import type { Executor } from '../store.js';
import { type ImportRecord, slices } from './imports.js';
import { decodeUser } from './users.js';

/** A user as an import creates it: every column, nothing defaulted but timezone, locale and the flags. */
export interface ImportedUserRow {
  id: string;
  email: string;
  emailVerified: boolean;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  nickname: string | null;
  profileImageUrl: string | null;
  phoneNumber: string | null;
  phoneVerified: boolean;
  status: 'active' | 'suspended';
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  createdAt: Date;
  lastSignInAt: Date | null;
}

/** What an import may change on an existing user (the fields a source owns). */
export type ImportedUserPatch = Partial<Omit<ImportedUserRow, 'id' | 'createdAt'>>;

/** The current state of a user an import is about to update: the fields a source owns, and the status. */
export interface ImportedUserState extends Omit<ImportedUserRow, 'status'> {
  status: string;
}

const COLUMN: Record<keyof ImportedUserPatch, keyof UsersTable> = {
  email: 'email',
  emailVerified: 'email_verified',
  username: 'username',
  firstName: 'first_name',
  lastName: 'last_name',
  displayName: 'display_name',
  nickname: 'nickname',
  profileImageUrl: 'profile_image_url',
  phoneNumber: 'phone_number',
  phoneVerified: 'phone_verified',
  status: 'status',
  userMetadata: 'user_metadata',
  appMetadata: 'app_metadata',
  lastSignInAt: 'last_sign_in_at',
};

/** Rows per multi-row INSERT into users: 23 columns × 250 = 5,750 parameters. */
const USER_SLICE = 250;
/** Values per IN list. */
const IN_SLICE = 500;

function decodeState(r: Selectable<UsersTable>): ImportedUserState {
  const u = decodeUser(r);
  return {
    id: u.id,
    email: u.email,
    emailVerified: u.emailVerified,
    username: u.username,
    firstName: u.firstName,
    lastName: u.lastName,
    displayName: u.displayName,
    nickname: r.nickname,
    profileImageUrl: u.profileImageUrl,
    phoneNumber: u.phoneNumber,
    phoneVerified: u.phoneVerified,
    status: u.status,
    userMetadata: u.userMetadata,
    appMetadata: toJson<Record<string, unknown>>(r.app_metadata) ?? {},
    createdAt: u.createdAt,
    lastSignInAt: u.lastSignInAt,
  };
}

export const importedUsers = {
  /** Inserts the users (plain INSERT: a taken email or username fails the statement, and the caller isolates it). */
  async insertMany(ex: Executor, rows: readonly ImportedUserRow[], now: Date): Promise<void> {
    for (const part of slices(rows, USER_SLICE))
      await ex
        .insertInto('users')
        .values(
          part.map((u) => ({
            id: u.id,
            email: u.email,
            email_verified: u.emailVerified,
            username: u.username,
            first_name: u.firstName,
            last_name: u.lastName,
            display_name: u.displayName,
            nickname: u.nickname,
            profile_image_url: u.profileImageUrl,
            phone_number: u.phoneNumber,
            phone_verified: u.phoneVerified,
            timezone: null,
            locale: null,
            status: u.status,
            is_admin: false,
            mfa_enabled: false,
            user_metadata: json(u.userMetadata),
            // schema.ts types it Generated<Json>, which Kysely cannot resolve to the text we bind.
            app_metadata: json(u.appMetadata) as never,
            created_at: u.createdAt,
            updated_at: now,
            last_sign_in_at: u.lastSignInAt,
          })),
        )
        .execute();
  },

  /** Users holding any of `emails` or `usernames`: one statement per slice. */
  async ownersOf(
    ex: Executor,
    emails: readonly string[],
    usernames: readonly string[],
  ): Promise<Array<{ id: string; email: string; username: string | null }>> {
    const out: Array<{ id: string; email: string; username: string | null }> = [];
    for (const part of slices([...new Set(emails)], IN_SLICE))
      out.push(
        ...(await ex
          .selectFrom('users')
          .select(['id', 'email', 'username'])
          .where('email', 'in', part)
          .execute()),
      );
    for (const part of slices([...new Set(usernames)], IN_SLICE))
      out.push(
        ...(await ex
          .selectFrom('users')
          .select(['id', 'email', 'username'])
          .where('username', 'in', part)
          .execute()),
      );
    return out;
  },

  /** The current state of users an import is about to update, by id. */
  async states(ex: Executor, ids: readonly string[]): Promise<Map<string, ImportedUserState>> {
    const out = new Map<string, ImportedUserState>();
    for (const part of slices([...new Set(ids)], IN_SLICE)) {
      const rows = await ex.selectFrom('users').selectAll().where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, decodeState(r));
    }
    return out;
  },

  /** Applies an import's changes to one user (and moves updated_at). */
  async update(ex: Executor, id: string, patch: ImportedUserPatch, now: Date): Promise<void> {
    const values: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      values[COLUMN[k as keyof ImportedUserPatch]] =
        k === 'userMetadata' || k === 'appMetadata' ? json(v) : v;
    }
    await ex.updateTable('users').set(values).where('id', '=', id).execute();
  },

  /**
   * Import records of `source` whose local row is one of `localIds` (kind user), by local id. The source is
   * filtered here, not in SQL: with `source = ?` in the query SQLite's planner (no statistics on a fresh
   * table) prefers the primary key's (source, kind) prefix and scans every record of the source.
   */
  async recordsByLocal(
    ex: Executor,
    source: string,
    localIds: readonly string[],
  ): Promise<Map<string, ImportRecord>> {
    const out = new Map<string, ImportRecord>();
    for (const part of slices([...new Set(localIds)], IN_SLICE)) {
      const rows = await ex
        .selectFrom('import_records')
        .selectAll()
        .where('local_id', 'in', part)
        .where('kind', '=', 'user')
        .execute();
      for (const r of rows)
        if (r.source === source)
          out.set(r.local_id, {
            source: r.source,
            kind: 'user',
            externalId: r.external_id,
            localId: r.local_id,
            sourceHash: r.source_hash,
            needsPassword: toBool(r.needs_password),
          });
    }
    return out;
  },

  /** Marks users of a source as having a password now, by external id (primary-key lookups). */
  async clearNeedsPassword(
    ex: Executor,
    source: string,
    externalIds: readonly string[],
    now: Date,
  ): Promise<void> {
    for (const part of slices([...new Set(externalIds)], IN_SLICE))
      await ex
        .updateTable('import_records')
        .set({ needs_password: false, updated_at: now })
        .where('source', '=', source)
        .where('kind', '=', 'user')
        .where('external_id', 'in', part)
        .execute();
  },

  /**
   * Users of `source` still without a password (flagged `needs_password` and holding no credential — a reset
   * done since counts), not deactivated, in local-id order after `afterLocalId` (keyset paging).
   */
  async needingPassword(
    ex: Executor,
    source: string,
    afterLocalId: string | null,
    limit: number,
  ): Promise<Array<{ userId: string; externalId: string; email: string; status: string }>> {
    let q = ex
      .selectFrom('import_records as r')
      .innerJoin('users as u', 'u.id', 'r.local_id')
      .select(['r.local_id', 'r.external_id', 'u.email', 'u.status'])
      // `source || ''`: keeps SQLite's planner on import_records_local_idx (local_id order, the keyset) instead
      // of the primary key's (source, kind) prefix followed by a sort of every record of the source.
      .where(sql<string>`r.source || ''`, '=', source)
      .where('r.kind', '=', 'user')
      .where('r.needs_password', '=', true)
      .where('u.status', '!=', 'deleted')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('password_credentials as c')
              .select(sql`1`.as('one'))
              .whereRef('c.user_id', '=', 'r.local_id'),
          ),
        ),
      );
    if (afterLocalId) q = q.where('r.local_id', '>', afterLocalId);
    const rows = await q.orderBy('r.local_id').limit(limit).execute();
    return rows.map((r) => ({
      userId: r.local_id,
      externalId: r.external_id,
      email: r.email,
      status: r.status,
    }));
  },

  /**
   * Refreshes Postgres's planner statistics of the tables an import fills. During a bulk load autovacuum lags
   * behind: planning with the statistics of an almost empty table, Postgres scanned every credential and every
   * import record for each batch's lookups (a sequential scan per IN list), and the batches slowed as the tables
   * grew. ANALYZE samples a bounded number of rows, so it costs little. SQLite: nothing (its plans do not depend
   * on statistics that are missing here; see recordsByLocal).
   */
  async analyze(ex: Executor, dialect: 'sqlite' | 'postgres'): Promise<void> {
    if (dialect !== 'postgres') return;
    await sql`ANALYZE users, import_records, password_credentials, user_identities`.execute(ex);
  },
};
