/**
 * Enrolling and managing a TOTP factor. Enrolment is two steps: `startTotp` makes a pending factor (a fresh
 * seed, sealed with the master key) and shows the seed, its `otpauth://` URI and a QR code; `confirmTotp` with
 * a valid code activates it (`security.mfa.enabled`) and issues backup codes. Starting needs the current
 * password or a sign-in within MFA_RECENT_SIGNIN_MINUTES (a stolen, long-lived session alone cannot bind an
 * attacker's authenticator), or the `mfa_token` of a sign-in that must enrol (organization requirement).
 */
import QRCode from 'qrcode';
import type { Deps } from '../deps.js';
import { conflict, validation } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { backupCodes, mfaChallenges, setUserMfaEnabled, totpFactors } from '../store/repos/mfa.js';
import type { Session } from '../store/repos/sessions.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import { newBackupCodes, storeBackupCodes } from './backup-codes.js';
import { acceptCode, beginCodeAttempt, prepareCode, SEED_PURPOSE, signedInLocked } from './codes.js';
import { newTotpSecret, otpauthUri } from './totp.js';

export type MfaDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'box' | 'peppers' | 'hasher'>;
/** What confirming the current password (or a recent sign-in) needs; erasure requests use it too. */
export type ReauthDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'hasher'>;

export interface TotpEnrollment {
  secret: string;
  otpauthUri: string;
  /** PNG data URL of the URI as a QR code. */
  qrCode: string;
  /** Backup codes issued with the enrolment (the original SDK's model shows them at this step). */
  backupCodes?: string[];
}

/** The current password, checked like a password change does (a wrong one: 422 on the field, never a 401). */
export async function checkPassword(
  deps: ReauthDeps,
  userId: string,
  password: string | undefined,
): Promise<void> {
  if (!password) throw validation('The current password is required', { password: 'required' });
  const hash = await passwordCredentials.getHash(deps.store.db, userId);
  const ok = hash ? await deps.hasher.verify(password, hash) : await deps.hasher.verifyDummy(password);
  if (!ok) throw validation('The current password is not correct', { password: 'incorrect' });
}

/** Password, or a session opened (signed in) within MFA_RECENT_SIGNIN_MINUTES. */
export async function checkRecentOrPassword(
  deps: ReauthDeps,
  user: User,
  session: Pick<Session, 'createdAt'> | undefined,
  password: string | undefined,
): Promise<void> {
  const recentMs = deps.config.mfaRecentSignInMinutes * 60_000;
  const now = deps.clock.now().getTime();
  if (password === undefined && session && recentMs > 0 && now - session.createdAt.getTime() <= recentMs)
    return;
  if (password === undefined)
    throw validation('Confirm with your current password (your sign-in is not recent)', {
      password: 'required',
    });
  await checkPassword(deps, user.id, password);
}

/**
 * Starts (or restarts) enrolment: a new pending factor. `session` is the caller's session (signed in);
 * absent for an enrolment-required sign-in, whose mfa_token the caller already checked.
 */
export async function startTotp(
  deps: MfaDeps,
  user: User,
  opts: { session?: Pick<Session, 'createdAt'>; password?: string; withBackupCodes?: boolean },
  ctx: RequestContext,
): Promise<TotpEnrollment> {
  if (opts.session) await checkRecentOrPassword(deps, user, opts.session, opts.password);
  const existing = await totpFactors.find(deps.store.db, user.id);
  if (existing?.status === 'active') throw conflict('Two-factor authentication is already enabled');
  const secret = newTotpSecret();
  const seedBox = deps.box.seal(SEED_PURPOSE, secret);
  const codes = opts.withBackupCodes ? await newBackupCodes(deps) : undefined;
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await totpFactors.putPending(tx, user.id, seedBox, now)))
      throw conflict('Two-factor authentication is already enabled');
    if (codes) await storeBackupCodes(tx, user.id, codes, now);
    await audit(
      tx,
      ctx,
      { action: 'mfa.totp.enrollment_started', targetType: 'user', targetId: user.id },
      now,
    );
  });
  const uri = otpauthUri(deps.config.mfaIssuer, user.email, secret);
  // The QR code is drawn here, not by the client: the seed then never has to reach a third-party QR service,
  // and a client needs no QR library (the `qrcode` package: no native code, no dependencies beyond pure JS).
  const qrCode = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
  return { secret, otpauthUri: uri, qrCode, ...(codes ? { backupCodes: codes.codes } : {}) };
}

/**
 * Confirms the pending factor with a code from the app: activates it (`security.mfa.enabled`), marks the user
 * `mfa_enabled` and, with `issueBackupCodes`, issues a new set of backup codes — all in one transaction, plus
 * `inTx` (the enrolment sign-in spends its challenge and opens its session there). A wrong code: 422, counted
 * toward the lockout.
 */
export async function confirmTotp<T = undefined>(
  deps: MfaDeps,
  user: User,
  code: string,
  opts: {
    issueBackupCodes: boolean;
    inTx?: (tx: Executor, now: Date) => Promise<T>;
    lockedError?: typeof signedInLocked;
  },
  ctx: RequestContext,
): Promise<{ backupCodes: string[] | undefined; extra: T | undefined }> {
  const factor = await totpFactors.find(deps.store.db, user.id);
  if (factor?.status === 'active') throw conflict('Two-factor authentication is already enabled');
  if (!factor)
    throw validation('Start enrolment first (POST /api/v1/mfa/totp/enable)', { code: 'no_pending_factor' });
  const attempt = await beginCodeAttempt(
    deps,
    user.email,
    ctx,
    user.id,
    'mfa.totp.confirm',
    opts.lockedError ?? signedInLocked,
  );
  const now = deps.clock.now();
  const prepared = await prepareCode(deps, user.id, code, now, { status: 'pending', allowBackup: false });
  const codes = opts.issueBackupCodes ? await newBackupCodes(deps) : undefined;
  if ('invalid' in prepared || prepared.method !== 'totp') {
    await attempt.fail();
    throw validation('The code is not valid', { code: 'invalid' });
  }
  return deps.store.transaction(async (tx) => {
    if (!(await totpFactors.activate(tx, user.id, prepared.seedBox, prepared.step, now)))
      throw conflict('The enrolment changed meanwhile; start again');
    await setUserMfaEnabled(tx, user.id, true, now);
    if (codes) await storeBackupCodes(tx, user.id, codes, now);
    await attempt.succeed(tx);
    await audit(
      tx,
      ctx,
      { action: 'security.mfa.enabled', targetType: 'user', targetId: user.id, metadata: { method: 'totp' } },
      now,
    );
    await emit(
      tx,
      'security.mfa.enabled',
      { type: 'user', id: user.id },
      { user_id: user.id, method: 'totp' },
      now,
    );
    const extra = opts.inTx ? await opts.inTx(tx, now) : undefined;
    return { backupCodes: codes?.codes, extra };
  });
}

/** Removes the factor and backup codes in the caller's transaction, with `security.mfa.disabled` and its audit. */
export async function removeMfa(
  tx: Executor,
  userId: string,
  reason: 'user' | 'admin_reset',
  ctx: RequestContext,
  now: Date,
): Promise<boolean> {
  const had = await totpFactors.remove(tx, userId);
  await backupCodes.removeAll(tx, userId);
  await mfaChallenges.spendForUser(tx, userId, now);
  await setUserMfaEnabled(tx, userId, false, now);
  await audit(
    tx,
    ctx,
    {
      action: reason === 'user' ? 'security.mfa.disabled' : 'security.mfa.reset',
      targetType: 'user',
      targetId: userId,
      metadata: { method: 'totp', reason },
    },
    now,
  );
  if (had)
    await emit(
      tx,
      'security.mfa.disabled',
      { type: 'user', id: userId },
      { user_id: userId, method: 'totp', reason },
      now,
    );
  return had;
}

/**
 * A signed-in user's code (TOTP or backup code) checked and spent, counted toward the lockout; a wrong one is
 * a 422 on `code` (or, with `soft`, false). `inTx` runs in the transaction that spends the code.
 */
export async function spendUserCode(
  deps: MfaDeps,
  user: User,
  code: string,
  action: string,
  ctx: RequestContext,
  opts: { allowBackup: boolean; soft?: boolean; inTx?: (tx: Executor, now: Date) => Promise<void> },
): Promise<boolean> {
  const factor = await totpFactors.find(deps.store.db, user.id);
  if (factor?.status !== 'active')
    throw validation('Two-factor authentication is not enabled', { code: 'not_enabled' });
  const attempt = await beginCodeAttempt(deps, user.email, ctx, user.id, action, signedInLocked);
  const now = deps.clock.now();
  const prepared = await prepareCode(deps, user.id, code, now, {
    status: 'active',
    allowBackup: opts.allowBackup,
  });
  const ok = await deps.store.transaction(async (tx) => {
    if (!(await acceptCode(tx, user.id, prepared, now))) return false;
    await attempt.succeed(tx);
    if (opts.inTx) await opts.inTx(tx, now);
    return true;
  });
  if (ok) return true;
  await attempt.fail();
  if (opts.soft) return false;
  throw validation('The code is not valid', { code: 'invalid' });
}

/** Turns MFA off: the current password and a code (TOTP or backup code). */
export async function disableTotp(
  deps: MfaDeps,
  user: User,
  input: { password: string; code: string },
  ctx: RequestContext,
): Promise<void> {
  await checkPassword(deps, user.id, input.password);
  await spendUserCode(deps, user, input.code, 'security.mfa.disabled', ctx, {
    allowBackup: true,
    inTx: async (tx, now) => {
      await removeMfa(tx, user.id, 'user', ctx, now);
    },
  });
}

export interface MfaStatus {
  enabled: boolean;
  verified: boolean;
  pending: boolean;
  methods: string[];
  backupCodesRemaining: number;
  lastUsedAt: Date | null;
  enabledAt: Date | null;
}

export async function mfaStatus(deps: Pick<Deps, 'store'>, userId: string): Promise<MfaStatus> {
  const factor = await totpFactors.find(deps.store.db, userId);
  const active = factor?.status === 'active';
  const codes = await backupCodes.summary(deps.store.db, userId);
  const times = [factor?.lastUsedAt ?? null, codes.lastUsedAt].filter((d): d is Date => d !== null);
  return {
    enabled: active,
    verified: active,
    pending: factor?.status === 'pending',
    methods: active ? ['totp', 'backup_code'] : [],
    backupCodesRemaining: active ? codes.remaining : 0,
    lastUsedAt: active && times.length ? new Date(Math.max(...times.map((d) => d.getTime()))) : null,
    enabledAt: factor?.confirmedAt ?? null,
  };
}

/** A new set of backup codes (the old set stops working), with the current password. */
export async function regenerateBackupCodes(
  deps: MfaDeps,
  user: User,
  password: string,
  ctx: RequestContext,
): Promise<{ codes: string[]; generatedAt: Date }> {
  await checkPassword(deps, user.id, password);
  const factor = await totpFactors.find(deps.store.db, user.id);
  if (factor?.status !== 'active')
    throw validation('Two-factor authentication is not enabled', { password: 'not_enabled' });
  const codes = await newBackupCodes(deps);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await storeBackupCodes(tx, user.id, codes, now);
    await audit(
      tx,
      ctx,
      { action: 'mfa.backup_codes.regenerated', targetType: 'user', targetId: user.id },
      now,
    );
  });
  return { codes: codes.codes, generatedAt: now };
}

/** How many of the user's backup codes are left (the codes themselves were shown once and are not kept). */
export async function backupCodeSummary(
  deps: Pick<Deps, 'store'>,
  userId: string,
): Promise<{ remaining: number; total: number; generatedAt: Date | null }> {
  const s = await backupCodes.summary(deps.store.db, userId);
  return { remaining: s.remaining, total: s.total, generatedAt: s.generatedAt };
}
