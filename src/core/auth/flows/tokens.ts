/**
 * One-time tokens of the email flows: 256 random bits (base64url), only their SHA-256 stored, bound to one
 * purpose, spent by one conditional UPDATE (two parallel uses: one success), and spent early when a newer
 * token of the same purpose is issued or the password changes (passwordCredentials.set). Lifetimes are the
 * original service's (API.md contract notes).
 */
import { randomUUID } from 'node:crypto';
import { hashToken, randomToken } from '../../crypto/secrets.js';
import { tokenError } from '../../errors.js';
import { type OneTimeToken, oneTimeTokens, type TokenPurpose } from '../../store/repos/one-time-tokens.js';
import type { Executor } from '../../store/store.js';

export type { OneTimeToken, TokenPurpose } from '../../store/repos/one-time-tokens.js';

const MINUTE = 60_000;

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  magic_link: 15 * MINUTE,
  password_reset: 60 * MINUTE,
  email_verify: 48 * 60 * MINUTE,
  email_change: 24 * 60 * MINUTE,
};

/** The lifetime as mail text ("15 minutes", "1 hour", "48 hours"). */
export function lifetimeText(purpose: TokenPurpose): string {
  const minutes = TOKEN_LIFETIME_MS[purpose] / MINUTE;
  if (minutes < 60) return `${minutes} minutes`;
  const hours = minutes / 60;
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

export interface IssueInput {
  userId: string;
  purpose: TokenPurpose;
  /** The address the link goes to (for an email change, the new address). */
  email: string;
  redirectUrl?: string | null;
}

export interface Issued {
  id: string;
  token: string;
  expiresAt: Date;
}

/**
 * Issues a token in the caller's transaction (the one that enqueues its mail), spending the user's live
 * tokens of the same purpose first: only the newest link works.
 */
export async function issueToken(ex: Executor, input: IssueInput, now: Date): Promise<Issued> {
  await oneTimeTokens.spendForUser(ex, input.userId, 'superseded', now, input.purpose);
  const token = randomToken();
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + TOKEN_LIFETIME_MS[input.purpose]);
  await oneTimeTokens.insert(ex, {
    id,
    userId: input.userId,
    purpose: input.purpose,
    tokenHash: hashToken(token),
    email: input.email,
    redirectUrl: input.redirectUrl ?? null,
    createdAt: now,
    expiresAt,
  });
  return { id, token, expiresAt };
}

/** Tokens are base64url; anything else (or absurdly long) is refused before a query is made. */
const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Spends a token of this purpose, or throws TOKEN_ERROR (401) alike for unknown, tampered, expired, spent
 * and other-purpose tokens — the caller learns nothing about which.
 */
export async function consumeToken(
  ex: Executor,
  purpose: TokenPurpose,
  token: string,
  now: Date,
): Promise<OneTimeToken> {
  return live(token, (hash) => oneTimeTokens.consume(ex, purpose, hash, now));
}

/** The live token, without spending it (to check before slow work such as hashing a new password). */
export async function peekToken(
  ex: Executor,
  purpose: TokenPurpose,
  token: string,
  now: Date,
): Promise<OneTimeToken> {
  return live(token, (hash) => oneTimeTokens.findLive(ex, purpose, hash, now));
}

export const invalidToken = () => tokenError('Invalid or expired link');

/** The token's row found by `find` (by hash), or the one TOKEN_ERROR for every kind of bad token. */
async function live(
  token: string,
  find: (hash: string) => Promise<OneTimeToken | undefined>,
): Promise<OneTimeToken> {
  if (!TOKEN_RE.test(token)) throw invalidToken();
  const found = await find(hashToken(token));
  if (!found) throw invalidToken();
  return found;
}

/**
 * How many tokens of this purpose the user was sent in the last hour (the per-address mail limit). Locks the
 * user's row first: the caller issues in the same transaction, and parallel requests must count one by one.
 */
export async function sentInLastHour(ex: Executor, userId: string, purpose: TokenPurpose, now: Date) {
  await oneTimeTokens.lockUser(ex, userId);
  return oneTimeTokens.countIssuedSince(ex, userId, purpose, new Date(now.getTime() - 60 * MINUTE));
}
