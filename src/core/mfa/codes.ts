/**
 * Checking a second-factor code: a TOTP code (six digits) or a backup code (`XXXX-XXXX`). Checking is two
 * phases — `prepareCode` does the slow, read-only part (opening the seed, the HMACs) outside any transaction,
 * `acceptCode` spends it with one conditional UPDATE inside the caller's transaction — so a code is accepted
 * at most once however many requests or nodes race (the step CAS and the backup code's `used_at`).
 *
 * Wrong codes count toward the same lockout as wrong passwords (store/repos/attempts.ts, keyed by the email):
 * the attempt is counted before the code is compared, a success resets it, and the failure that reaches
 * LOCKOUT_MAX_ATTEMPTS locks the account for LOCKOUT_MINUTES. A correct password does not reset the counter
 * while the second factor is outstanding, so knowing the password buys no extra code guesses.
 */
import { signInAttemptKey } from '../auth/service.js';
import type { Deps } from '../deps.js';
import { JanuaError } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { signInAttempts } from '../store/repos/attempts.js';
import { backupCodes, totpFactors } from '../store/repos/mfa.js';
import type { Executor } from '../store/store.js';
import { hashBackupCode, normalizeBackupCode } from './backup-codes.js';
import type { MfaMethod } from './factors.js';
import { matchTotp, TOTP_CODE_RE } from './totp.js';

export const SEED_PURPOSE = 'totp-seed';

export type PreparedCode =
  | { method: 'totp'; step: number; seedBox: string }
  | { method: 'backup_code'; hash: string }
  | { method: MfaMethod; invalid: true };

type CodeDeps = Pick<Deps, 'store' | 'box' | 'peppers'>;

/**
 * What `code` would prove for this user: the matching step of their TOTP factor (of the given status), or the
 * hash of a backup code (only with `allowBackup`). Nothing is spent here.
 */
export async function prepareCode(
  deps: CodeDeps,
  userId: string,
  code: string,
  now: Date,
  opts: { status: 'active' | 'pending'; allowBackup: boolean },
): Promise<PreparedCode> {
  const trimmed = code.trim();
  if (TOTP_CODE_RE.test(trimmed)) {
    const factor = await totpFactors.find(deps.store.db, userId);
    if (!factor || factor.status !== opts.status) return { method: 'totp', invalid: true };
    const secret = deps.box.open(SEED_PURPOSE, factor.seedBox);
    const step = await matchTotp({ secret }, trimmed, now);
    return step === undefined
      ? { method: 'totp', invalid: true }
      : { method: 'totp', step, seedBox: factor.seedBox };
  }
  const normalized = opts.allowBackup ? normalizeBackupCode(trimmed) : undefined;
  if (!normalized) return { method: 'backup_code', invalid: true };
  return { method: 'backup_code', hash: await hashBackupCode(deps, normalized) };
}

/** Spends a prepared code of an active factor in the caller's transaction: true when this call accepted it. */
export async function acceptCode(ex: Executor, userId: string, p: PreparedCode, now: Date): Promise<boolean> {
  if ('invalid' in p) return false;
  if (p.method === 'totp') return totpFactors.acceptStep(ex, userId, p.step, now);
  return backupCodes.consume(ex, userId, p.hash, now);
}

type LockDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

export interface CodeAttempt {
  /** Records a wrong code (audited) and starts the lockout when this failure reaches the limit. */
  fail(extra?: (tx: Executor) => Promise<void>): Promise<void>;
  /** Clears the counter after a success, in the caller's transaction. */
  succeed(tx: Executor): Promise<void>;
}

/**
 * Counts a code attempt against the user's sign-in lockout before the code is compared. A locked account (or
 * more attempts in flight than allowed) is refused with `lockedError(retryAfterSeconds)`.
 */
export async function beginCodeAttempt(
  deps: LockDeps,
  email: string,
  ctx: RequestContext,
  userId: string,
  action: string,
  lockedError: (retryAfter: number) => JanuaError,
): Promise<CodeAttempt> {
  const key = signInAttemptKey(email);
  const windowMs = deps.config.lockoutMinutes * 60_000;
  const max = deps.config.lockoutMaxAttempts;
  const state = await signInAttempts.begin(deps.store.db, key, deps.clock.now(), windowMs);
  const retryAfter = (until: Date) =>
    Math.max(1, Math.ceil((until.getTime() - deps.clock.now().getTime()) / 1000));
  const record = async (reason: string, lockUntil?: Date, extra?: (tx: Executor) => Promise<void>) => {
    const now = deps.clock.now();
    await deps.store.transaction(async (tx) => {
      if (lockUntil && (await signInAttempts.lock(tx, key, lockUntil, now)))
        await audit(
          tx,
          ctx,
          {
            action: 'auth.lockout',
            targetType: 'user',
            targetId: userId,
            metadata: { attempts: state.failedCount },
          },
          now,
        );
      await audit(
        tx,
        ctx,
        { action, outcome: 'failure', targetType: 'user', targetId: userId, metadata: { reason } },
        now,
      );
      if (extra) await extra(tx);
    });
  };
  if (state.lockedUntil && state.lockedUntil > deps.clock.now()) {
    await record('locked');
    throw lockedError(retryAfter(state.lockedUntil));
  }
  if (state.failedCount > max) {
    const until = new Date(deps.clock.now().getTime() + windowMs);
    await record('locked', until);
    throw lockedError(retryAfter(until));
  }
  return {
    fail: async (extra) => {
      const now = deps.clock.now();
      await record(
        'invalid_code',
        state.failedCount >= max ? new Date(now.getTime() + windowMs) : undefined,
        extra,
      );
    },
    succeed: async (tx) => {
      await signInAttempts.reset(tx, key);
    },
  };
}

/** The lockout answer of the sign-in step (like a password sign-in's). */
export const signInLocked = (retryAfter: number) =>
  new JanuaError('AUTHENTICATION_ERROR', 'Too many failed sign-in attempts; try again later', { retryAfter });

/** The lockout answer to a signed-in user (429: a 401 would make the SDK refresh and retry). */
export const signedInLocked = (retryAfter: number) =>
  new JanuaError('RATE_LIMIT_ERROR', 'Too many wrong codes; try again later', { retryAfter });
