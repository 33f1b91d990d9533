import { type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import type { User, UserStatus } from '../../users/model.js';
import { json, toBool, toDate, toDateOrNull, toJson } from '../codec.js';
import type { Dialect } from '../migrations/types.js';
import { prefixMatch } from '../prefix.js';
import type { Database, UsersTable } from '../schema.js';
import type { Executor } from '../store.js';

export function decodeUser(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    email: r.email,
    emailVerified: toBool(r.email_verified),
    username: r.username,
    firstName: r.first_name,
    lastName: r.last_name,
    displayName: r.display_name,
    profileImageUrl: r.profile_image_url,
    phoneNumber: r.phone_number,
    phoneVerified: toBool(r.phone_verified),
    timezone: r.timezone,
    locale: r.locale,
    status: r.status as UserStatus,
    isAdmin: toBool(r.is_admin),
    mfaEnabled: toBool(r.mfa_enabled),
    userMetadata: toJson<Record<string, unknown>>(r.user_metadata) ?? {},
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    lastSignInAt: toDateOrNull(r.last_sign_in_at),
  };
}

export interface NewUser {
  id: string;
  email: string;
  emailVerified?: boolean;
  firstName?: string | null;
  lastName?: string | null;
  username?: string | null;
  isAdmin?: boolean;
  userMetadata?: Record<string, unknown>;
  now: Date;
}

function newUserRow(u: NewUser) {
  return {
    id: u.id,
    email: u.email,
    email_verified: u.emailVerified ?? false,
    first_name: u.firstName ?? null,
    last_name: u.lastName ?? null,
    username: u.username ?? null,
    display_name: null,
    profile_image_url: null,
    phone_number: null,
    phone_verified: false,
    timezone: null,
    locale: null,
    status: 'active',
    is_admin: u.isAdmin ?? false,
    mfa_enabled: false,
    user_metadata: json(u.userMetadata ?? {}),
    created_at: u.now,
    updated_at: u.now,
    last_sign_in_at: null,
  };
}

export type UserPatch = Partial<
  Pick<
    User,
    | 'firstName'
    | 'lastName'
    | 'username'
    | 'displayName'
    | 'profileImageUrl'
    | 'phoneNumber'
    | 'timezone'
    | 'locale'
    | 'userMetadata'
    | 'status'
    | 'isAdmin'
    | 'emailVerified'
    | 'email'
  >
>;

const COLUMN: Record<keyof UserPatch, keyof UsersTable> = {
  firstName: 'first_name',
  lastName: 'last_name',
  username: 'username',
  displayName: 'display_name',
  profileImageUrl: 'profile_image_url',
  phoneNumber: 'phone_number',
  timezone: 'timezone',
  locale: 'locale',
  userMetadata: 'user_metadata',
  status: 'status',
  isAdmin: 'is_admin',
  emailVerified: 'email_verified',
  email: 'email',
};

export const users = {
  async insert(ex: Executor, u: NewUser): Promise<User> {
    const row = await ex.insertInto('users').values(newUserRow(u)).returningAll().executeTakeFirstOrThrow();
    return decodeUser(row);
  },

  /**
   * Inserts many users in one statement; rows whose email is already taken are skipped (ON CONFLICT DO
   * NOTHING). Returns the rows actually inserted.
   */
  async insertMany(ex: Executor, rows: readonly NewUser[]): Promise<Array<{ id: string; email: string }>> {
    if (rows.length === 0) return [];
    return ex
      .insertInto('users')
      .values(rows.map(newUserRow))
      .onConflict((oc) => oc.column('email').doNothing())
      .returning(['id', 'email'])
      .execute();
  },

  /** Which of `emails` already belong to a user. */
  async existingEmails(ex: Executor, emails: readonly string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const rows = await ex.selectFrom('users').select('email').where('email', 'in', emails).execute();
    return new Set(rows.map((r) => r.email));
  },

  /** Active platform admins other than `exceptId`. */
  async countActiveAdmins(ex: Executor, exceptId: string): Promise<number> {
    const row = await ex
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', true)
      .where('status', '=', 'active')
      .where('id', '!=', exceptId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Organizations in which the user is the only owner: deleting the user would leave them ownerless. */
  async soleOwnerships(ex: Executor, userId: string): Promise<string[]> {
    const rows = await ex
      .selectFrom('organization_members as m')
      .select('m.organization_id')
      .where('m.user_id', '=', userId)
      .where('m.role', '=', 'owner')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('organization_members as o')
              .select('o.user_id')
              .whereRef('o.organization_id', '=', 'm.organization_id')
              .where('o.role', '=', 'owner')
              .where('o.user_id', '!=', userId),
          ),
        ),
      )
      .execute();
    return rows.map((r) => r.organization_id);
  },

  /** Deletes the row; credentials, sessions and memberships go with it (ON DELETE CASCADE). */
  async remove(ex: Executor, id: string): Promise<boolean> {
    const res = await ex.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },

  async findById(ex: Executor, id: string): Promise<User | undefined> {
    const row = await ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeUser(row);
  },

  async findByEmail(ex: Executor, email: string): Promise<User | undefined> {
    const row = await ex.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && decodeUser(row);
  },

  async update(ex: Executor, id: string, patch: UserPatch, now: Date): Promise<User | undefined> {
    const values: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      values[COLUMN[k as keyof UserPatch]] = k === 'userMetadata' ? json(v) : v;
    }
    const row = await ex
      .updateTable('users')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && decodeUser(row);
  },

  async touchSignIn(ex: Executor, id: string, now: Date): Promise<void> {
    await ex.updateTable('users').set({ last_sign_in_at: now }).where('id', '=', id).execute();
  },
};

export type UserSort =
  | 'created_at'
  | '-created_at'
  | 'email'
  | '-email'
  | 'last_sign_in_at'
  | '-last_sign_in_at';

export interface UserListFilter {
  search?: string | undefined;
  status?: UserStatus | undefined;
  emailVerified?: boolean | undefined;
  isAdmin?: boolean | undefined;
  organizationId?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
}

/** The filtered user query, before its select list and order: `page` runs it; benchmarks EXPLAIN it. */
function filtered(ex: Executor, dialect: Dialect, f: UserListFilter) {
  let q = ex.selectFrom('users');
  if (f.search) {
    const term = f.search.trim();
    q = q.where((eb) =>
      eb.or([
        prefixMatch(eb, dialect, eb.ref('email'), term),
        prefixMatch(eb, dialect, sql`lower(first_name)`, term),
        prefixMatch(eb, dialect, sql`lower(last_name)`, term),
      ]),
    );
  }
  if (f.status) q = q.where('status', '=', f.status);
  if (f.emailVerified !== undefined) q = q.where('email_verified', '=', f.emailVerified);
  if (f.isAdmin !== undefined) q = q.where('is_admin', '=', f.isAdmin);
  if (f.createdAfter) q = q.where('created_at', '>=', f.createdAfter);
  if (f.createdBefore) q = q.where('created_at', '<', f.createdBefore);
  if (f.organizationId) {
    const org = f.organizationId;
    q = q.where('id', 'in', (eb) =>
      eb.selectFrom('organization_members').select('user_id').where('organization_id', '=', org),
    );
  }
  return q;
}

export const userList = {
  /** The page query and the count query for `f`, compiled (for EXPLAIN in benchmarks). */
  compile(ex: Executor, dialect: Dialect, f: UserListFilter, sort: UserSort, limit: number, offset: number) {
    const q = filtered(ex, dialect, f);
    return {
      page: ordered(q.selectAll(), sort).limit(limit).offset(offset).compile(),
      count: q.select((eb) => eb.fn.countAll<number>().as('n')).compile(),
    };
  },

  /** One page of users matching `f`, and the total count; every filter is served by an index. */
  async page(
    ex: Executor,
    dialect: Dialect,
    f: UserListFilter,
    sort: UserSort,
    limit: number,
    offset: number,
  ): Promise<{ rows: User[]; total: number }> {
    const q = filtered(ex, dialect, f);
    const [rows, count] = await Promise.all([
      ordered(q.selectAll(), sort).limit(limit).offset(offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows: rows.map(decodeUser), total: Number(count.n) };
  },
};

function ordered<Q extends SelectQueryBuilder<Database, 'users', Selectable<UsersTable>>>(
  q: Q,
  sort: UserSort,
): Q {
  const desc = sort.startsWith('-');
  const column = (desc ? sort.slice(1) : sort) as 'created_at' | 'email' | 'last_sign_in_at';
  return q.orderBy(column, desc ? 'desc' : 'asc').orderBy('id', desc ? 'desc' : 'asc') as Q;
}
