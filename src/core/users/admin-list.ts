/**
 * User administration: listing and reading users.
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { organizations } from '../store/repos/organizations.js';
import { type UserListFilter, type UserSort, userList } from '../store/repos/users.js';
import { requireAdmin, requireSelfOrAdmin, type StoreDeps, wholeNumber } from './admin-access.js';
import { type PublicUser, presentUser, type User, type UserStatus } from './model.js';
import { findUserIn, UUID_RE } from './service.js';

export const USER_SORTS: readonly UserSort[] = [
  'created_at',
  '-created_at',
  'email',
  '-email',
  'last_sign_in_at',
  '-last_sign_in_at',
];
export const USER_STATUSES: readonly UserStatus[] = ['active', 'suspended', 'deleted'];
export const MAX_PER_PAGE = 100;

export interface ListUsersQuery {
  page?: number | undefined;
  perPage?: number | undefined;
  /** Prefix of the email, first name or last name; case-insensitive. */
  search?: string | undefined;
  status?: string | undefined;
  emailVerified?: boolean | undefined;
  /** Organization id (or, from the CLI, its slug): only its members. */
  organization?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  sort?: string | undefined;
}

export interface UserPage {
  users: User[];
  total: number;
  page: number;
  perPage: number;
  pages: number;
}

/** The list body of the API and of `janua users list --json`: `{users, total, page, per_page, pages}`. */
export function presentUserPage(p: UserPage): {
  users: PublicUser[];
  total: number;
  page: number;
  per_page: number;
  pages: number;
} {
  return {
    users: p.users.map(presentUser),
    total: p.total,
    page: p.page,
    per_page: p.perPage,
    pages: p.pages,
  };
}

/** Platform admins only. Every filter is served by an index (see store/repos/users.ts `userList`). */
export async function listUsers(deps: StoreDeps, q: ListUsersQuery, ctx: RequestContext): Promise<UserPage> {
  requireAdmin(ctx);
  const page = wholeNumber(q.page, 'page', 1, 1_000_000, 1);
  const perPage = wholeNumber(q.perPage, 'per_page', 1, MAX_PER_PAGE, 20);
  const sort = (q.sort ?? '-created_at') as UserSort;
  if (!USER_SORTS.includes(sort))
    throw validation(`sort must be one of ${USER_SORTS.join(', ')}`, { sort: 'invalid' });
  if (q.status !== undefined && !USER_STATUSES.includes(q.status as UserStatus))
    throw validation(`status must be one of ${USER_STATUSES.join(', ')}`, { status: 'invalid' });
  for (const [name, d] of [
    ['created_after', q.createdAfter],
    ['created_before', q.createdBefore],
  ] as const) {
    if (d && Number.isNaN(d.getTime()))
      throw validation(`${name} must be an ISO 8601 date`, { [name]: 'invalid' });
  }
  const search = q.search?.trim();
  if (search && search.length > 100)
    throw validation('search is at most 100 characters', { search: 'too long' });
  let organizationId: string | undefined;
  if (q.organization !== undefined) {
    const org = UUID_RE.test(q.organization)
      ? await organizations.findById(deps.store.db, q.organization.toLowerCase())
      : await organizations.findBySlug(deps.store.db, q.organization);
    if (!org) throw notFound(`Organization ${q.organization} not found`);
    organizationId = org.id;
  }
  const filter: UserListFilter = {
    search: search || undefined,
    status: q.status as UserStatus | undefined,
    emailVerified: q.emailVerified,
    organizationId,
    createdAfter: q.createdAfter,
    createdBefore: q.createdBefore,
  };
  const { rows, total } = await userList.page(
    deps.store.db,
    deps.store.dialect,
    filter,
    sort,
    perPage,
    (page - 1) * perPage,
  );
  return { users: rows, total, page, perPage, pages: Math.ceil(total / perPage) };
}

/** One user by id (or, from the CLI, email): an admin any user, a user themself. */
export async function getUser(
  deps: Pick<Deps, 'store'>,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<User> {
  requireSelfOrAdmin(ctx, idOrEmail);
  return findUserIn(deps.store.db, idOrEmail);
}
