import { randomUUID } from 'node:crypto';
import { checkPasswordPolicy, isBcryptHash } from '../auth/passwords.js';
import { checkEmail } from '../auth/service.js';
import type { Deps } from '../deps.js';
import { conflict, notFound, validation } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { type UserPatch, users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import { normalizeEmail, type User } from './model.js';

type UserDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'hasher'>;

export interface CreateUserInput {
  email: string;
  password?: string | undefined;
  /** An existing bcrypt hash (imports); verified as it is at sign-in. */
  passwordHash?: string | undefined;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
  isAdmin?: boolean | undefined;
  emailVerified?: boolean | undefined;
}

/** Creates a user without a session: `janua users create`, the admin bootstrap, imports. */
export async function createUser(deps: UserDeps, input: CreateUserInput, ctx: RequestContext): Promise<User> {
  const email = checkEmail(input.email);
  if (input.password !== undefined) checkPasswordPolicy(deps.config, input.password);
  if (input.passwordHash !== undefined && !isBcryptHash(input.passwordHash)) {
    throw validation('password hash must be a bcrypt hash ($2a$, $2b$ or $2y$)', {
      password_hash: 'not bcrypt',
    });
  }
  if (await users.findByEmail(deps.store.db, email))
    throw conflict(`a user with email ${email} already exists`);
  const hash = input.password !== undefined ? await deps.hasher.hash(input.password) : input.passwordHash;
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    if (await users.findByEmail(tx, email)) throw conflict(`a user with email ${email} already exists`);
    const user = await users.insert(tx, {
      id: randomUUID(),
      email,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      isAdmin: input.isAdmin ?? false,
      emailVerified: input.emailVerified ?? false,
      now,
    });
    if (hash) await passwordCredentials.set(tx, user.id, hash, now);
    await audit(
      tx,
      ctx,
      { action: 'user.create', targetType: 'user', targetId: user.id, metadata: { is_admin: user.isAdmin } },
      now,
    );
    await emit(tx, 'user.created', { type: 'user', id: user.id }, { user_id: user.id, email }, now);
    return user;
  });
}

/** Finds a user by id or email (CLI arguments accept either), with any executor (a transaction too). */
export async function findUserIn(ex: Executor, idOrEmail: string): Promise<User> {
  const user = idOrEmail.includes('@')
    ? await users.findByEmail(ex, normalizeEmail(idOrEmail))
    : UUID_RE.test(idOrEmail)
      ? await users.findById(ex, idOrEmail.toLowerCase())
      : undefined;
  if (!user) throw notFound(`User ${idOrEmail} not found`);
  return user;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Finds a user by id or email (CLI arguments accept either). */
export function findUser(deps: Pick<Deps, 'store'>, idOrEmail: string): Promise<User> {
  return findUserIn(deps.store.db, idOrEmail);
}

export type ProfilePatch = Pick<
  UserPatch,
  | 'firstName'
  | 'lastName'
  | 'username'
  | 'displayName'
  | 'profileImageUrl'
  | 'phoneNumber'
  | 'timezone'
  | 'locale'
  | 'userMetadata'
>;

/** A user's edit of their own profile (`PATCH /auth/profile`, `PATCH /users/me`). */
export async function updateProfile(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: string,
  patch: ProfilePatch,
  ctx: RequestContext,
): Promise<User> {
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      const user = await users.update(tx, userId, patch, now);
      if (!user) throw notFound('User not found');
      const fields = Object.keys(patch).filter((k) => patch[k as keyof ProfilePatch] !== undefined);
      await audit(
        tx,
        ctx,
        { action: 'user.update', targetType: 'user', targetId: userId, metadata: { fields } },
        now,
      );
      await emit(tx, 'user.updated', { type: 'user', id: userId }, { user_id: userId, fields }, now);
      return user;
    })
    .catch((err: unknown) => {
      if (/unique|duplicate key/i.test(String((err as Error)?.message)))
        throw conflict('That username is taken');
      throw err;
    });
}
