/**
 * "Does this user have a second factor?" in one place: sign-in asks it to decide between tokens and an MFA
 * challenge, and the organization requirement asks it to decide on enrolment. Passkeys are not counted
 * here: a passkey sign-in is two factors by itself (user verification plus a key the user holds) and never
 * reaches this question, while a password or magic-link sign-in needs a code — a passkey cannot be
 * presented as the second step of those (docs/mfa.md, "Organizations that require two-factor authentication").
 */
import { totpFactors } from '../store/repos/mfa.js';
import type { Executor } from '../store/store.js';

export type MfaMethod = 'totp' | 'backup_code';

/** True when the user has a confirmed (active) second factor. */
export async function hasSecondFactor(ex: Executor, userId: string): Promise<boolean> {
  return (await secondFactorMethods(ex, userId)).length > 0;
}

/** The methods that can complete this user's sign-in at `POST /api/v1/mfa/verify` (empty: none). */
export async function secondFactorMethods(ex: Executor, userId: string): Promise<MfaMethod[]> {
  const totp = await totpFactors.find(ex, userId);
  return totp?.status === 'active' ? ['totp', 'backup_code'] : [];
}
