/**
 * The sign-in slice: sign-up, sign-in, refresh, sign-out and authenticating a bearer token. The daemon's
 * routes and the CLI call these; nothing here knows about HTTP.
 */
import { randomUUID } from 'node:crypto';
import { hashToken, randomToken, sha256Hex } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import {
  conflict,
  forbidden,
  isJanuaError,
  JanuaError,
  tokenError,
  unauthenticated,
  validation,
} from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import type { SignInOutcome } from '../metrics.js';
import {
  isMfaRequired,
  issueChallenge,
  type SignInResult,
  secondFactorNeeded,
  secondStep,
} from '../mfa/challenge.js';
import { perOwner } from '../per-owner.js';
import { Coalescer } from '../store/coalesce.js';
import { signInAttempts } from '../store/repos/attempts.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { importRecords } from '../store/repos/imports.js';
import { refreshTokens, type Session, sessions } from '../store/repos/sessions.js';
import { users } from '../store/repos/users.js';
import { breaksTextRule } from '../text.js';
import { normalizeEmail, type User } from '../users/model.js';
import { issueVerification } from './flows/verification.js';
import { checkAuth0Password, lazySettings, needsAuth0Password } from './lazy-migration.js';
import { bcryptCost, checkPasswordPolicy, type HashReservation, MAX_PASSWORD_BYTES } from './passwords.js';
import { revokeSessions } from './revoke.js';
import { openSession, signInSession, tokenPair } from './session-open.js';
import { type AccessClaims, verifyAccessToken } from './tokens.js';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface SignedIn {
  user: User;
  session: Session;
  tokens: TokenPair;
}

/** Sign-up's outcome: no session when REQUIRE_EMAIL_VERIFICATION holds it back until the address is verified. */
export interface SignedUp {
  user: User;
  session?: Session;
  tokens?: TokenPair;
}

export type AuthDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'keys' | 'hasher' | 'metrics'> &
  Partial<Pick<Deps, 'logger'>>;

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (email.length > 254 || !EMAIL_RE.test(email) || breaksTextRule(email, 'single-line'))
    throw validation('A valid email address is required', { email: 'invalid' });
  return email;
}

/** REQUIRE_EMAIL_VERIFICATION's refusal (told apart from a suspension in the sign-in metric). */
const UNVERIFIED = 'Verify your email address before signing in';

/** Lockout counters are keyed by a hash of the email, whether or not an account has it. */
export const signInAttemptKey = (email: string) => `signin:${sha256Hex(normalizeEmail(email))}`;

export interface SignUpInput {
  email: string;
  password: string;
  firstName?: string | null;
  lastName?: string | null;
  username?: string | null;
}

/** Creates an account and its first session. Duplicate email → CONFLICT_ERROR. */
export async function signUp(deps: AuthDeps, input: SignUpInput, ctx: RequestContext): Promise<SignedIn> {
  return (await createAccount(deps, input, ctx, true)) as SignedIn;
}

/** Sign-up as a client asks for it: with REQUIRE_EMAIL_VERIFICATION, the account without a session. */
export function register(deps: AuthDeps, input: SignUpInput, ctx: RequestContext): Promise<SignedUp> {
  return createAccount(deps, input, ctx, !deps.config.requireEmailVerification);
}

/** Creates the account and mails its verification link; opens the first session when `withSession`. */
async function createAccount(
  deps: AuthDeps,
  input: SignUpInput,
  ctx: RequestContext,
  withSession: boolean,
): Promise<SignedUp> {
  const email = checkEmail(input.email);
  checkPasswordPolicy(deps.config, input.password);
  if (await users.findByEmail(deps.store.db, email))
    throw conflict('An account with this email already exists');
  const hash = await deps.hasher.hash(input.password);
  const now = deps.clock.now();
  const refresh = randomToken();
  const result = await deps.store
    .transaction(async (tx) => {
      if (await users.findByEmail(tx, email)) throw conflict('An account with this email already exists');
      const user = await users.insert(tx, {
        id: randomUUID(),
        email,
        firstName: input.firstName ?? null,
        lastName: input.lastName ?? null,
        username: input.username ?? null,
        now,
      });
      await passwordCredentials.set(tx, user.id, hash, now);
      const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
      await audit(tx, uctx, { action: 'user.signup', targetType: 'user', targetId: user.id }, now);
      await emit(tx, 'user.created', { type: 'user', id: user.id }, { user_id: user.id, email }, now);
      // The verification mail is enqueued with the account: it exists exactly when the account does.
      await issueVerification(tx, deps, user, null, now);
      if (!withSession) return { user, session: undefined };
      const session = await openSession(deps, tx, user, refresh, uctx, now);
      return { user, session };
    })
    .catch(rethrowUniqueAsConflict);
  if (!result.session) return { user: result.user };
  return { ...result, tokens: await tokenPair(deps, result.user, result.session.id, refresh) };
}

function rethrowUniqueAsConflict(err: unknown): never {
  const msg = String((err as Error)?.message ?? '');
  // Both dialects name the column's constraint: SQLite "users.username", Postgres "users_username_key".
  if (/unique|duplicate key/i.test(msg) && /username/i.test(msg)) throw conflict('That username is taken');
  if (/unique|duplicate key/i.test(msg)) throw conflict('An account with this email already exists');
  throw err;
}

/**
 * Email + password sign-in. The attempt is counted before the password is compared (atomically, so parallel
 * guesses cannot exceed the limit); unknown emails spend the same bcrypt time and get the same answer.
 */
export async function signIn(
  deps: AuthDeps,
  input: { email: string; password: string },
  ctx: RequestContext,
): Promise<SignedIn> {
  const result = await signInWithMfa(deps, input, ctx);
  if (isMfaRequired(result)) throw secondFactorNeeded();
  return result;
}

/**
 * Password sign-in as the API answers it: tokens, or — for a user with a second factor, or without one in an
 * organization that requires it — an MFA challenge (mfa/challenge.ts) and no tokens.
 */
export async function signInWithMfa(
  deps: AuthDeps,
  input: { email: string; password: string },
  ctx: RequestContext,
): Promise<SignInResult> {
  try {
    const email = normalizeEmail(input.email);
    if (Buffer.byteLength(input.password, 'utf8') > MAX_PASSWORD_BYTES) throw unauthenticated();
    // Shed before anything is counted or read: a request the server cannot hash for soon is not an attempt.
    const reservation = deps.hasher.reserve();
    try {
      const signedIn = await signInReserved(deps, email, input.password, reservation, ctx);
      deps.metrics.signIns.inc({ outcome: 'success' });
      return signedIn;
    } finally {
      reservation.release();
    }
  } catch (err) {
    deps.metrics.signIns.inc({ outcome: signInOutcome(err) });
    throw err;
  }
}

/** How a refused sign-in ended, from the error it throws (each refusal below throws one of these). */
function signInOutcome(err: unknown): SignInOutcome {
  if (!isJanuaError(err)) return 'error';
  switch (err.code) {
    case 'SERVICE_UNAVAILABLE':
      return 'shed';
    case 'AUTHORIZATION_ERROR':
      return err.message === UNVERIFIED ? 'unverified' : 'suspended';
    case 'AUTHENTICATION_ERROR':
      // A lockout tells the client when to retry; a wrong password or unknown email does not.
      return err.retryAfter === undefined ? 'invalid_credentials' : 'locked';
    default:
      return 'error';
  }
}

async function signInReserved(
  deps: AuthDeps,
  email: string,
  password: string,
  reservation: HashReservation,
  ctx: RequestContext,
): Promise<SignInResult> {
  const key = signInAttemptKey(email);
  const windowMs = deps.config.lockoutMinutes * 60_000;
  const max = deps.config.lockoutMaxAttempts;
  const state = await signInAttempts.begin(deps.store.db, key, deps.clock.now(), windowMs);
  const lockedErr = (until: Date) =>
    new JanuaError('AUTHENTICATION_ERROR', 'Too many failed sign-in attempts; try again later', {
      retryAfter: Math.max(1, Math.ceil((until.getTime() - deps.clock.now().getTime()) / 1000)),
    });
  /** Audits a refused sign-in (and, with `lockUntil`, the lockout it starts) in one transaction. */
  const refuse = async (target: { type: string; id: string }, reason: string, lockUntil?: Date) => {
    const now = deps.clock.now();
    await deps.store.transaction(async (tx) => {
      if (lockUntil && (await signInAttempts.lock(tx, key, lockUntil, now))) {
        const metadata = { attempts: state.failedCount };
        await audit(
          tx,
          ctx,
          { action: 'auth.lockout', targetType: target.type, targetId: target.id, metadata },
          now,
        );
      }
      const failure = { action: 'auth.signin', outcome: 'failure' as const, metadata: { reason } };
      await audit(tx, ctx, { ...failure, targetType: target.type, targetId: target.id }, now);
    });
  };
  const byEmail = { type: 'email', id: key };
  if (state.lockedUntil && state.lockedUntil > deps.clock.now()) {
    await refuse(byEmail, 'locked');
    throw lockedErr(state.lockedUntil);
  }
  if (state.failedCount > max) {
    // More attempts than allowed are in flight or failed: lock now without comparing.
    const until = new Date(deps.clock.now().getTime() + windowMs);
    await refuse(byEmail, 'locked', until);
    throw lockedErr(until);
  }

  const user = await users.findByEmail(deps.store.db, email);
  const hash =
    user && user.status !== 'deleted' ? await passwordCredentials.getHash(deps.store.db, user.id) : undefined;
  const ok = hash
    ? await reservation.verify(password, hash)
    : user && user.status !== 'deleted'
      ? await lazyMigrate(deps, user, password, reservation, ctx)
      : await reservation.verifyDummy(password);
  const now = deps.clock.now();
  if (!ok || !user) {
    const target = user ? { type: 'user', id: user.id } : byEmail;
    // The attempt that reaches the limit starts the lockout.
    await refuse(
      target,
      'invalid_credentials',
      state.failedCount >= max ? new Date(now.getTime() + windowMs) : undefined,
    );
    throw unauthenticated();
  }
  // The password is right: only now may the answer depend on the account's state.
  if (user.status === 'suspended') {
    await refuse({ type: 'user', id: user.id }, 'suspended');
    throw forbidden('This account is suspended');
  }
  if (deps.config.requireEmailVerification && !user.emailVerified) {
    await refuse({ type: 'user', id: user.id }, 'unverified');
    throw forbidden(UNVERIFIED);
  }
  // A second factor outstanding: a challenge instead of tokens. The attempt counter is not reset until the
  // code is right (mfa/codes.ts), so the password alone buys no extra code guesses.
  const mfa = await secondStep(deps.store.db, user.id);
  if (mfa) return deps.store.transaction((tx) => issueChallenge(tx, user, mfa, 'password', ctx, now));
  const refresh = randomToken();
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  const session = await deps.store.transaction(async (tx) => {
    await signInAttempts.reset(tx, key);
    return signInSession(deps, tx, user, refresh, uctx, now);
  });
  if (hash) await rehashIfCostDiffers(deps, user.id, password, hash);
  return {
    user: { ...user, lastSignInAt: now },
    session,
    tokens: await tokenPair(deps, user, session.id, refresh),
  };
}

/**
 * A user without a password: with Auth0 lazy migration on and an Auth0 import record still lacking one, the
 * password is checked once against the tenant and, if right, kept at our cost (and the import record
 * updated, audited). Otherwise — and whenever Auth0 says no or cannot answer — the dummy verify runs, so the
 * answer and the hash time are those of any wrong password. Uses the sign-in's hash reservation either way.
 */
async function lazyMigrate(
  deps: AuthDeps,
  user: User,
  password: string,
  reservation: HashReservation,
  ctx: RequestContext,
): Promise<boolean> {
  const settings = lazySettings(deps.config, deps.logger);
  if (!settings || !(await needsAuth0Password(deps.store.db, user.id)))
    return reservation.verifyDummy(password);
  const check = await checkAuth0Password(settings, user.email, password, deps.logger, ctx.ip ?? undefined);
  if (check !== 'ok') return reservation.verifyDummy(password);
  const hash = await reservation.hash(password);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    // A password set meanwhile (a reset, a parallel sign-in) is kept: this one was checked, but it is not newer.
    if (!(await passwordCredentials.insertIfAbsent(tx, user.id, hash, now))) return;
    await importRecords.setNeedsPassword(tx, 'auth0', [user.id], false, now);
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    const metadata = { source: 'auth0', connection: settings.connection };
    await audit(
      tx,
      uctx,
      { action: 'auth.lazy_migration', targetType: 'user', targetId: user.id, metadata },
      now,
    );
  });
  return true;
}

/**
 * After a successful sign-in: a hash made at another cost (imported Auth0 hashes are cost 10) is replaced by the
 * same password at BCRYPT_ROUNDS. Best effort — a shed hash slot or a failed write leaves the old hash, which
 * still verifies, and the next sign-in tries again; it never fails the sign-in.
 */
async function rehashIfCostDiffers(
  deps: AuthDeps,
  userId: string,
  password: string,
  hash: string,
): Promise<void> {
  const cost = bcryptCost(hash);
  if (cost === undefined || cost === deps.config.bcryptRounds) return;
  try {
    const fresh = await deps.hasher.hash(password);
    await passwordCredentials.rehash(deps.store.db, userId, hash, fresh, deps.clock.now());
  } catch (err) {
    deps.logger?.warn({ err: (err as Error).name }, 'rehash at the configured cost skipped');
  }
}

export { refresh } from './refresh.js';
export { openSession, signInSession, tokenPair } from './session-open.js';

/**
 * The session checks of concurrent requests, answered by one query per batch (see Coalescer): each batch
 * is sent after its requests arrived, so it sees every revocation committed before them. Two batches in
 * flight at once, one per SQLite read connection.
 */
const sessionChecks = perOwner(
  (store: AuthDeps['store']) =>
    new Coalescer<string, { session: Session; user: User } | undefined>(
      async (ids) => {
        const found = await sessions.findManyWithUser(store.db, ids);
        return ids.map((id) => found.get(id));
      },
      64,
      2,
    ),
);

export interface Authenticated {
  user: User;
  session: Session;
  claims: AccessClaims;
}

/** Verifies a bearer token and checks that its session is still live and its user active — every request. */
export async function authenticate(
  deps: Pick<Deps, 'config' | 'store' | 'clock' | 'keys'>,
  token: string,
): Promise<Authenticated> {
  const claims = await verifyAccessToken(deps, token);
  const found = await sessionChecks(deps.store).submit(claims.sid);
  const now = deps.clock.now();
  if (!found || found.session.userId !== claims.sub) throw tokenError('Session not found');
  if (found.session.revokedAt) throw tokenError('Session has been revoked');
  if (found.session.expiresAt <= now) throw tokenError('Session has expired');
  if (found.user.status !== 'active') throw tokenError('Account is not active');
  return { user: found.user, session: found.session, claims };
}

/**
 * Ends the caller's session, or with `all` every session of the user. A refresh token in the body (what the
 * original SDK's logout sends) ends that token's session too, if it belongs to the same user.
 */
export async function signOut(
  deps: Pick<Deps, 'store' | 'clock'>,
  who: { userId: string; sessionId: string },
  opts: { all?: boolean; refreshToken?: string | undefined },
  ctx: RequestContext,
): Promise<{ revoked: number }> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    let revoked: string[];
    if (opts.all) {
      revoked = await revokeSessions(tx, who.userId, 'signout_all', now);
    } else {
      const ids = [who.sessionId];
      if (opts.refreshToken) {
        const other = await refreshTokens.sessionOf(tx, hashToken(opts.refreshToken), who.userId);
        if (other && other !== who.sessionId) ids.push(other);
      }
      revoked = await revokeSessions(tx, who.userId, 'signout', now, ids);
    }
    await audit(
      tx,
      ctx,
      {
        action: 'auth.signout',
        targetType: 'user',
        targetId: who.userId,
        metadata: { all: !!opts.all, sessions: revoked.length },
      },
      now,
    );
    return { revoked: revoked.length };
  });
}
