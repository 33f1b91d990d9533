/**
 * RFC 6238 TOTP as API.md's contract notes fix it: HMAC-SHA-1, 6 digits, 30-second steps, T0 = 0, and a
 * verification window of one step either side (RFC 6238 §5.2 allows "at most one time step" of network delay;
 * the earlier step also covers a slow typist, the later one a client clock a little ahead). The codes come from
 * otplib; which step matched is returned so the caller can record it (the replay guard, repos/mfa.ts).
 */
import { generate, generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;

export interface TotpParams {
  /** Base32 (RFC 4648) secret, as authenticator apps take it. */
  secret: string;
  /** Digits of the code: 6 here; RFC 6238's Appendix B vectors use 8. */
  digits?: 6 | 8;
}

/** A new random seed: 20 bytes (160 bits, RFC 4226 §4 R6's recommended length for HMAC-SHA-1), Base32. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The RFC 6238 time-step of an instant: floor(unix seconds / 30). */
export function timeStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD);
}

/** The code for the step that contains `at`. */
export function totpCode(p: TotpParams, at: Date): Promise<string> {
  return generate({
    secret: p.secret,
    algorithm: 'sha1',
    digits: p.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD,
    epoch: Math.floor(at.getTime() / 1000),
  });
}

/** Six digits, nothing else: the only shape a TOTP code can have (checked before any work). */
export const TOTP_CODE_RE = /^\d{6}$/;

/**
 * The time-step in the window around `now` whose code is `code`, or undefined. otplib compares in constant
 * time. The caller still has to accept the step through the replay guard.
 */
export async function matchTotp(p: TotpParams, code: string, now: Date): Promise<number | undefined> {
  const digits = p.digits ?? TOTP_DIGITS;
  if (code.length !== digits || !/^\d+$/.test(code)) return undefined;
  const epoch = Math.floor(now.getTime() / 1000);
  const result = await verify({
    secret: p.secret,
    token: code,
    algorithm: 'sha1',
    digits,
    period: TOTP_PERIOD,
    epoch,
    epochTolerance: TOTP_WINDOW * TOTP_PERIOD,
  });
  // `delta` is in steps, relative to the step of `now`.
  return result.valid ? Math.floor(epoch / TOTP_PERIOD) + result.delta : undefined;
}

/**
 * The `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` URI authenticator apps read (Google Authenticator's
 * Key Uri Format): the issuer both as label prefix and parameter, as the format recommends.
 */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  return generateURI({
    issuer,
    label: account,
    secret,
    algorithm: 'sha1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
  });
}
