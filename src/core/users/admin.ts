/**
 * User administration: one function per operation, called by both the `/api/v1/users` routes and the
 * `janua users` commands. Who may act is read from the RequestContext: platform admins (`actorType: 'admin'`)
 * and operators (`cli`, `system`) may administer anyone; a signed-in user only themself, and only where an
 * operation says so. Every change writes its audit row and domain events in the transaction that makes it.
 */

import { randomUUID } from 'node:crypto';
import { checkPasswordPolicy, isBcryptHash } from '../auth/passwords.js';
import { revokeSessions } from '../auth/revoke.js';
import { checkEmail, signInAttemptKey } from '../auth/service.js';
import type { Deps } from '../deps.js';
import { conflict, forbidden, JanuaError, notFound, validation } from '../errors.js';
import {
  audit,
  type DomainEvent,
  type DomainEventType,
  emit,
  emitMany,
  type RequestContext,
} from '../events/events.js';
import { requirePlatformAdmin } from '../rbac/access.js';
import { signInAttempts } from '../store/repos/attempts.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { organizations } from '../store/repos/organizations.js';
import { type Session, sessions } from '../store/repos/sessions.js';
import { type NewUser, type UserListFilter, type UserSort, userList, users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import { breaksTextRule, nulPath, textRuleError } from '../text.js';
import type { ImportRecord } from './import-format.js';
import { type PublicUser, presentUser, type User, type UserStatus } from './model.js';
import { findUserIn, type ProfilePatch, UUID_RE, updateProfile } from './service.js';

type StoreDeps = Pick<Deps, 'store' | 'clock'>;

/** Platform admins and operators (CLI, system jobs). */
export function isPrivileged(ctx: RequestContext): boolean {
  return ctx.actorType === 'admin' || ctx.actorType === 'cli' || ctx.actorType === 'system';
}

function requireAdmin(ctx: RequestContext): void {
  requirePlatformAdmin({ isAdmin: isPrivileged(ctx) });
}

/** Admins may act on anyone; a user on their own account only. Checked before the lookup, so a 403 reveals nothing. */
function requireSelfOrAdmin(ctx: RequestContext, idOrEmail: string): void {
  if (isPrivileged(ctx)) return;
  if (!ctx.actorId || ctx.actorId !== idOrEmail.toLowerCase())
    throw forbidden('You may only do this for your own account (or as a platform administrator)');
}

// ---------------------------------------------------------------------------------------------- list, get

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

function wholeNumber(v: number | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max)
    throw validation(`${name} must be a whole number from ${min} to ${max}`, { [name]: 'out of range' });
  return v;
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

// -------------------------------------------------------------------------------------------- update

export type AdminUserPatch = ProfilePatch & {
  email?: string | undefined;
  isAdmin?: boolean | undefined;
  emailVerified?: boolean | undefined;
  status?: 'active' | 'suspended' | undefined;
};

/** API names of the fields only an admin may change. */
const ADMIN_FIELDS = {
  email: 'email',
  isAdmin: 'is_admin',
  emailVerified: 'email_verified',
  status: 'status',
} as const;

/**
 * Edits a user. The user themself may change their profile; only an admin the email (unique → 409), the
 * admin flag, email verification and status (suspend/reactivate, with their effects).
 */
export async function updateUser(
  deps: StoreDeps,
  idOrEmail: string,
  patch: AdminUserPatch,
  ctx: RequestContext,
): Promise<User> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const { email: rawEmail, isAdmin, emailVerified, status, ...profile } = patch;
  const restricted = (Object.keys(ADMIN_FIELDS) as Array<keyof typeof ADMIN_FIELDS>).filter(
    (k) => patch[k] !== undefined,
  );
  if (restricted.length && !isPrivileged(ctx))
    throw forbidden(
      `Only a platform administrator may change ${restricted.map((k) => ADMIN_FIELDS[k]).join(', ')}`,
    );
  const email = rawEmail === undefined ? undefined : checkEmail(rawEmail);
  if (!restricted.length) {
    const target = await findUserIn(deps.store.db, idOrEmail);
    return updateProfile(deps, target.id, profile, ctx);
  }
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      const user = await findUserIn(tx, idOrEmail);
      if (email !== undefined && email !== user.email && (await users.findByEmail(tx, email)))
        throw conflict(`A user with email ${email} already exists`);
      if (user.isAdmin && (isAdmin === false || status === 'suspended')) await assertNotLastAdmin(tx, user);
      if (
        status !== undefined &&
        status !== user.status &&
        user.status === 'deleted' &&
        status === 'suspended'
      )
        throw conflict('The account is deleted; reactivate it first');
      const updated = (await users.update(tx, user.id, { ...profile, email, isAdmin, emailVerified }, now))!;
      const fields = Object.entries(patch)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      await audit(
        tx,
        ctx,
        { action: 'user.update', targetType: 'user', targetId: user.id, metadata: { fields } },
        now,
      );
      await emit(tx, 'user.updated', { type: 'user', id: user.id }, { user_id: user.id, fields }, now);
      if (emailVerified && !user.emailVerified)
        await emit(tx, 'user.verified', { type: 'user', id: user.id }, { user_id: user.id }, now);
      if (status !== undefined && status !== user.status)
        return (await changeStatus(tx, updated, status, ctx, now)).user;
      return updated;
    })
    .catch(rethrowEmailConflict);
}

function rethrowEmailConflict(err: unknown): never {
  if (/unique|duplicate key/i.test(String((err as Error)?.message)))
    throw conflict('That email address or username is already taken');
  throw err;
}

// ------------------------------------------------------------------------------ status, delete, sessions

/** Refuses to leave the platform without an active admin. */
async function assertNotLastAdmin(tx: Executor, user: User): Promise<void> {
  if (user.isAdmin && user.status === 'active' && (await users.countActiveAdmins(tx, user.id)) === 0)
    throw conflict(`${user.email} is the last active platform administrator; make another admin first`);
}

/** Revokes sessions and appends their `session.revoked` events. */
const TRANSITIONS: Record<UserStatus, { action: string; event: DomainEventType; revoke: boolean }> = {
  suspended: { action: 'user.suspend', event: 'user.suspended', revoke: true },
  active: { action: 'user.reactivate', event: 'user.reactivated', revoke: false },
  deleted: { action: 'user.deactivate', event: 'user.deleted', revoke: true },
};

export interface StatusChange {
  user: User;
  sessionsRevoked: number;
}

/** Sets the status inside `tx`; suspending or deactivating revokes every session, so tokens stop at once. */
async function changeStatus(
  tx: Executor,
  user: User,
  to: UserStatus,
  ctx: RequestContext,
  now: Date,
): Promise<StatusChange> {
  const t = TRANSITIONS[to];
  const updated = user.status === to ? user : (await users.update(tx, user.id, { status: to }, now))!;
  const revoked = t.revoke
    ? await revokeSessions(tx, user.id, to === 'deleted' ? 'user_deleted' : 'user_suspended', now)
    : [];
  await audit(
    tx,
    ctx,
    {
      action: t.action,
      targetType: 'user',
      targetId: user.id,
      metadata: { from: user.status, sessions_revoked: revoked.length },
    },
    now,
  );
  if (user.status !== to)
    await emit(
      tx,
      t.event,
      { type: 'user', id: user.id },
      { user_id: user.id, email: user.email, hard: false },
      now,
    );
  return { user: updated, sessionsRevoked: revoked.length };
}

async function transition(
  deps: StoreDeps,
  idOrEmail: string,
  to: UserStatus,
  ctx: RequestContext,
  check: (user: User, tx: Executor) => Promise<void>,
): Promise<StatusChange> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await check(user, tx);
    return changeStatus(tx, user, to, ctx, now);
  });
}

/** Suspends an account (admins): sign-in is refused and every session is revoked at once. */
export function suspendUser(deps: StoreDeps, idOrEmail: string, ctx: RequestContext): Promise<StatusChange> {
  requireAdmin(ctx);
  return transition(deps, idOrEmail, 'suspended', ctx, async (user, tx) => {
    if (user.status === 'deleted') throw conflict('The account is deleted; reactivate it first');
    await assertNotLastAdmin(tx, user);
  });
}

/** Makes a suspended or deactivated account active again (admins). */
export function reactivateUser(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<StatusChange> {
  requireAdmin(ctx);
  return transition(deps, idOrEmail, 'active', ctx, async () => {});
}

export interface DeleteResult extends StatusChange {
  hard: boolean;
}

/**
 * Deactivates an account (status `deleted`, every session revoked; an admin can reactivate it) — a user may
 * do this to themself. `hard` removes the row and everything that hangs off it (admins only), and is refused
 * while the user is the only owner of an organization.
 */
export async function deleteUser(
  deps: StoreDeps,
  idOrEmail: string,
  opts: { hard?: boolean | undefined },
  ctx: RequestContext,
): Promise<DeleteResult> {
  if (opts.hard) requireAdmin(ctx);
  else requireSelfOrAdmin(ctx, idOrEmail);
  if (!opts.hard) {
    const r = await transition(deps, idOrEmail, 'deleted', ctx, (user, tx) => assertNotLastAdmin(tx, user));
    return { ...r, hard: false };
  }
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const owned = await users.soleOwnerships(tx, user.id);
    if (owned.length)
      throw conflict(
        `${user.email} is the only owner of ${owned.length} organization(s) (${owned.join(', ')}); transfer ownership or delete them first`,
      );
    await assertNotLastAdmin(tx, user);
    const revoked = await revokeSessions(tx, user.id, 'user_deleted', now);
    await users.remove(tx, user.id);
    await audit(
      tx,
      ctx,
      {
        action: 'user.delete',
        targetType: 'user',
        targetId: user.id,
        metadata: { hard: true, email: user.email, sessions_revoked: revoked.length },
      },
      now,
    );
    await emit(
      tx,
      'user.deleted',
      { type: 'user', id: user.id },
      { user_id: user.id, email: user.email, hard: true },
      now,
    );
    return { user: { ...user, status: 'deleted' as const }, sessionsRevoked: revoked.length, hard: true };
  });
}

/** The session object of `GET /users/{id}/sessions`. */
export interface PublicSession {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export function presentSession(s: Session, currentSessionId?: string | null): PublicSession {
  return {
    id: s.id,
    created_at: s.createdAt.toISOString(),
    last_used_at: s.lastUsedAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
    ip: s.ip,
    user_agent: s.userAgent,
    current: s.id === currentSessionId,
  };
}

/** Live sessions (not revoked, not expired), newest first: the user themself or an admin. */
export async function listUserSessions(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; sessions: Session[] }> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const user = await findUserIn(deps.store.db, idOrEmail);
  return { user, sessions: await sessions.listLive(deps.store.db, user.id, deps.clock.now()) };
}

/** Ends one live session of the user (404 when it is not one of theirs or already ended). */
export async function revokeUserSession(
  deps: StoreDeps,
  idOrEmail: string,
  sessionId: string,
  ctx: RequestContext,
): Promise<void> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const session = UUID_RE.test(sessionId)
      ? await sessions.findById(tx, sessionId.toLowerCase())
      : undefined;
    if (!session || session.userId !== user.id || session.revokedAt || session.expiresAt <= now)
      throw notFound('Session not found');
    await revokeSessions(tx, user.id, 'revoked', now, [session.id]);
    await audit(
      tx,
      ctx,
      {
        action: 'session.revoke',
        targetType: 'session',
        targetId: session.id,
        metadata: { user_id: user.id },
      },
      now,
    );
  });
}

/** Ends every session of the user (the user themself or an admin); their tokens stop working at once. */
export async function revokeUserSessions(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; revoked: number }> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const revoked = await revokeSessions(tx, user.id, 'revoked_all', now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.sessions.revoke_all',
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: revoked.length },
      },
      now,
    );
    return { user, revoked: revoked.length };
  });
}

// ------------------------------------------------------------------------------ lockout, password

export const MAX_LOCK_MINUTES = 525_600;

/** Locks sign-in for `minutes` (default: the lockout duration) through the same counter failed sign-ins use. */
export async function lockUser(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  idOrEmail: string,
  opts: { minutes?: number | undefined },
  ctx: RequestContext,
): Promise<{ user: User; lockedUntil: Date }> {
  requireAdmin(ctx);
  const minutes = wholeNumber(opts.minutes, 'minutes', 1, MAX_LOCK_MINUTES, deps.config.lockoutMinutes);
  const now = deps.clock.now();
  const lockedUntil = new Date(now.getTime() + minutes * 60_000);
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await signInAttempts.lockUntil(tx, signInAttemptKey(user.email), lockedUntil, now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.lock',
        targetType: 'user',
        targetId: user.id,
        metadata: { locked_until: lockedUntil, minutes },
      },
      now,
    );
    await emit(
      tx,
      'user.locked',
      { type: 'user', id: user.id },
      { user_id: user.id, locked_until: lockedUntil.toISOString() },
      now,
    );
    return { user, lockedUntil };
  });
}

/** Resets the failure count of an email's sign-in key; whether it was locked at `now`. */
async function liftLockout(tx: Executor, email: string, now: Date): Promise<boolean> {
  const key = signInAttemptKey(email);
  const state = await signInAttempts.get(tx, key);
  await signInAttempts.reset(tx, key);
  return !!state?.lockedUntil && state.lockedUntil > now;
}

/** Lifts a sign-in lockout and resets the failure count (admins). */
export async function unlockUser(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; wasLocked: boolean }> {
  requireAdmin(ctx);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const wasLocked = await liftLockout(tx, user.email, now);
    await audit(
      tx,
      ctx,
      { action: 'user.unlock', targetType: 'user', targetId: user.id, metadata: { was_locked: wasLocked } },
      now,
    );
    await emit(
      tx,
      'user.unlocked',
      { type: 'user', id: user.id },
      { user_id: user.id, was_locked: wasLocked },
      now,
    );
    return { user, wasLocked };
  });
}

/**
 * Lifts the sign-in lockout of an email that has no account. Unknown emails are locked exactly like real
 * ones (so lockouts reveal nothing), which leaves an operator a way to lift one: the counter is keyed by
 * the email's hash, the same key sign-in uses. Audited against that key; there is no user to emit for.
 */
export async function unlockEmail(
  deps: StoreDeps,
  email: string,
  ctx: RequestContext,
): Promise<{ user: null; email: string; wasLocked: boolean }> {
  requireAdmin(ctx);
  const normalized = checkEmail(email);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const wasLocked = await liftLockout(tx, normalized, now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.unlock',
        targetType: 'sign_in_key',
        targetId: signInAttemptKey(normalized),
        metadata: { was_locked: wasLocked },
      },
      now,
    );
    return { user: null, email: normalized, wasLocked };
  });
}

/**
 * `janua users unlock ID|EMAIL`: the user's lockout; for an email with no account, that email's
 * (`unlockEmail`), since unknown emails are locked like real ones.
 */
export async function unlockUserOrEmail(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User | null; email: string; wasLocked: boolean }> {
  try {
    const { user, wasLocked } = await unlockUser(deps, idOrEmail, ctx);
    return { user, email: user.email, wasLocked };
  } catch (err) {
    if (!(err instanceof JanuaError && err.code === 'NOT_FOUND_ERROR') || !idOrEmail.includes('@')) throw err;
    return unlockEmail(deps, idOrEmail, ctx);
  }
}

/** Sets a new password (operators and admins); every session is revoked and the lockout lifted. */
export async function setUserPassword(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'hasher'>,
  idOrEmail: string,
  password: string,
  ctx: RequestContext,
): Promise<{ user: User; sessionsRevoked: number }> {
  requireAdmin(ctx);
  checkPasswordPolicy(deps.config, password);
  await findUserIn(deps.store.db, idOrEmail);
  const hash = await deps.hasher.hash(password);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await passwordCredentials.set(tx, user.id, hash, now);
    await signInAttempts.reset(tx, signInAttemptKey(user.email));
    const revoked = await revokeSessions(tx, user.id, 'password_changed', now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.password.set',
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: revoked.length },
      },
      now,
    );
    await emit(
      tx,
      'security.password.changed',
      { type: 'user', id: user.id },
      { user_id: user.id, by: ctx.actorType ?? 'unknown' },
      now,
    );
    return { user, sessionsRevoked: revoked.length };
  });
}

// ------------------------------------------------------------------------------------------------ import

export interface ImportItem {
  /** 1-based position of the record in the input. */
  index: number;
  email: string | null;
  status: 'created' | 'skipped' | 'failed';
  id?: string;
  reason?: string;
}

export interface ImportSummary {
  created: number;
  skipped: number;
  failed: number;
  dry_run: boolean;
}

export interface ImportOptions {
  dryRun?: boolean | undefined;
  /** Records per transaction (default 500). */
  batchSize?: number | undefined;
  /** Called for every record, in input order. */
  onItem?: ((item: ImportItem) => void) | undefined;
}

interface ValidRecord {
  index: number;
  user: NewUser;
  passwordHash: string | undefined;
}

const IMPORT_FIELDS = new Set([
  'email',
  'first_name',
  'last_name',
  'password_hash',
  'email_verified',
  'is_admin',
  'user_metadata',
]);

function optString(r: Record<string, unknown>, k: string, max: number): string | null {
  const v = r[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max)
    throw validation(`${k} must be a string of at most ${max} characters`);
  if (breaksTextRule(v, 'single-line')) throw textRuleError(k, 'single-line');
  return v;
}

function optBool(r: Record<string, unknown>, k: string): boolean {
  const v = r[k];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw validation(`${k} must be true or false`);
  return v;
}

/** Checks one import record; throws a validation error naming what is wrong. */
function validateRecord(value: unknown, index: number, now: Date): ValidRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw validation('a record must be a JSON object');
  const r = value as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !IMPORT_FIELDS.has(k));
  if (unknown.length)
    throw validation(
      `unknown field(s) ${unknown.join(', ')}${unknown.includes('password') ? ' (plain passwords are not imported; give password_hash)' : ''}`,
    );
  if (typeof r['email'] !== 'string') throw validation('email is required');
  const email = checkEmail(r['email']);
  const hash = r['password_hash'];
  if (hash !== undefined && hash !== null && (typeof hash !== 'string' || !isBcryptHash(hash)))
    throw validation('password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$)');
  const meta = r['user_metadata'];
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta)))
    throw validation('user_metadata must be an object');
  const nul = nulPath(meta);
  if (nul !== undefined) throw textRuleError(`user_metadata.${nul}`, 'nul');
  const text = (k: string) => optString(r, k, 100);
  return {
    index,
    passwordHash: (hash as string | null | undefined) ?? undefined,
    user: {
      id: randomUUID(),
      email,
      firstName: text('first_name'),
      lastName: text('last_name'),
      emailVerified: optBool(r, 'email_verified'),
      isAdmin: optBool(r, 'is_admin'),
      userMetadata: (meta as Record<string, unknown> | null | undefined) ?? {},
      now,
    },
  };
}

/**
 * Imports users from a stream of records (see ./import-format.ts for JSON arrays and NDJSON). Batches of
 * `batchSize` go in one transaction each: a multi-row INSERT … ON CONFLICT DO NOTHING, their imported bcrypt
 * hashes, one `user.created` outbox event per created user and one audit row per batch. Existing emails are
 * skipped, so a re-run creates nothing twice; a bad record is reported and skipped.
 */
export async function importUsers(
  deps: StoreDeps,
  records: AsyncIterable<ImportRecord>,
  opts: ImportOptions,
  ctx: RequestContext,
): Promise<ImportSummary> {
  requireAdmin(ctx);
  const batchSize = wholeNumber(opts.batchSize, 'batch_size', 1, 1000, 500);
  const summary: ImportSummary = { created: 0, skipped: 0, failed: 0, dry_run: !!opts.dryRun };
  const report = (item: ImportItem) => {
    summary[item.status]++;
    opts.onItem?.(item);
  };
  const seen = new Set<string>();
  let batch: ValidRecord[] = [];
  // Items are reported in input order: failures found while validating wait for the batch they sit in.
  let pending: ImportItem[] = [];

  const flush = async () => {
    const outcome = batch.length ? await writeBatch(deps, batch, !!opts.dryRun, ctx) : new Map();
    const items: ImportItem[] = [
      ...pending,
      ...batch.map((r) => ({ index: r.index, email: r.user.email, ...outcome.get(r.index)! }) as ImportItem),
    ];
    items.sort((a, b) => a.index - b.index);
    for (const item of items) report(item);
    batch = [];
    pending = [];
  };

  for await (const rec of records) {
    const now = deps.clock.now();
    if (rec.error !== undefined) {
      pending.push({ index: rec.index, email: null, status: 'failed', reason: rec.error });
    } else {
      try {
        const v = validateRecord(rec.value, rec.index, now);
        if (seen.has(v.user.email)) {
          pending.push({
            index: rec.index,
            email: v.user.email,
            status: 'skipped',
            reason: 'duplicate of an earlier record',
          });
        } else {
          seen.add(v.user.email);
          batch.push(v);
        }
      } catch (err) {
        const email = (rec.value as { email?: unknown } | null)?.email;
        pending.push({
          index: rec.index,
          email: typeof email === 'string' ? email : null,
          status: 'failed',
          reason: err instanceof JanuaError ? err.message : String(err),
        });
      }
    }
    if (batch.length >= batchSize || pending.length >= batchSize) await flush();
  }
  await flush();
  return summary;
}

type Outcome = Pick<ImportItem, 'status' | 'id' | 'reason'>;

/** Writes one batch in one transaction; if the database refuses it, retries record by record to isolate the bad one. */
async function writeBatch(
  deps: StoreDeps,
  batch: ValidRecord[],
  dryRun: boolean,
  ctx: RequestContext,
): Promise<Map<number, Outcome>> {
  const out = new Map<number, Outcome>();
  const emails = batch.map((r) => r.user.email);
  if (dryRun) {
    const existing = await users.existingEmails(deps.store.db, emails);
    for (const r of batch)
      out.set(
        r.index,
        existing.has(r.user.email) ? { status: 'skipped', reason: 'already exists' } : { status: 'created' },
      );
    return out;
  }
  const now = deps.clock.now();
  try {
    const created = await deps.store.transaction(async (tx) => {
      const rows = await users.insertMany(
        tx,
        batch.map((r) => r.user),
      );
      const ids = new Set(rows.map((r) => r.id));
      await passwordCredentials.insertMany(
        tx,
        batch
          .filter((r) => r.passwordHash && ids.has(r.user.id))
          .map((r) => ({ userId: r.user.id, hash: r.passwordHash! })),
        now,
      );
      const events: DomainEvent[] = rows.map((r) => ({
        type: 'user.created',
        aggregate: { type: 'user', id: r.id },
        payload: { user_id: r.id, email: r.email, source: 'import' },
      }));
      await emitMany(tx, events, now);
      await audit(
        tx,
        ctx,
        {
          action: 'user.import',
          targetType: 'user',
          metadata: {
            created: rows.length,
            skipped: batch.length - rows.length,
            first_index: batch[0]!.index,
            last_index: batch.at(-1)!.index,
          },
        },
        now,
      );
      return ids;
    });
    for (const r of batch)
      out.set(
        r.index,
        created.has(r.user.id)
          ? { status: 'created', id: r.user.id }
          : { status: 'skipped', reason: 'already exists' },
      );
  } catch (err) {
    if (batch.length === 1) {
      out.set(batch[0]!.index, {
        status: 'failed',
        reason: `the database refused it: ${(err as Error).message}`,
      });
    } else {
      for (const r of batch) for (const [k, v] of await writeBatch(deps, [r], dryRun, ctx)) out.set(k, v);
    }
  }
  return out;
}
