/**
 * What the passkey ceremonies share: the relying party from config, server-side challenges (issued hashed,
 * spent once), reading the client's response, and telling @simplewebauthn's refusals apart for the audit log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hashToken } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { JanuaError } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { type Ceremony, type StoredChallenge, webauthnChallenges } from '../store/repos/passkeys.js';

export type PasskeyDeps = Pick<
  Deps,
  'config' | 'store' | 'clock' | 'keys' | 'hasher' | 'metrics' | 'peppers'
>;

/** Issue 14: a ceremony's challenge lives 5 minutes. The browser's own timeout is set to the same. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** Why a ceremony was refused: the `reason` of its audit row, and what the client is told. */
export type FailureReason =
  | 'malformed'
  | 'challenge'
  | 'origin'
  | 'rp_id'
  | 'type'
  | 'user_presence'
  | 'user_verification'
  | 'signature'
  | 'unknown_credential'
  | 'credential_not_allowed'
  | 'user_handle'
  | 'counter_regression'
  | 'duplicate_credential'
  | 'account_inactive'
  | 'invalid';

const MESSAGES: Record<FailureReason, string> = {
  malformed: 'The passkey response is malformed',
  challenge: 'The passkey challenge is unknown, expired or already used; start again',
  origin: 'The passkey response comes from an origin that is not allowed',
  rp_id: 'The passkey response is for another relying party',
  type: 'The passkey response is for another ceremony',
  user_presence: 'The authenticator did not report user presence',
  user_verification: 'The authenticator did not verify the user (PIN or biometric required)',
  signature: 'The passkey signature is not valid',
  unknown_credential: 'This passkey is not registered',
  credential_not_allowed: 'This passkey is not registered',
  user_handle: 'This passkey is not registered',
  counter_regression:
    'The passkey signature counter went backwards; the authenticator may have been cloned, so this sign-in is refused',
  duplicate_credential: 'This passkey is already registered',
  account_inactive: 'This account cannot sign in',
  invalid: 'The passkey response could not be verified',
};

/** A refused ceremony, carrying its reason for the audit row. */
export class CeremonyFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly detail?: string,
  ) {
    super(MESSAGES[reason]);
  }
}

/** The error the client gets: registration refusals are bad requests, sign-in refusals authentication errors. */
export function clientError(ceremony: Ceremony, f: CeremonyFailure): JanuaError {
  if (f.reason === 'duplicate_credential') return new JanuaError('CONFLICT_ERROR', f.message);
  if (f.reason === 'account_inactive') return new JanuaError('AUTHORIZATION_ERROR', f.message);
  return new JanuaError(ceremony === 'registration' ? 'BAD_REQUEST' : 'AUTHENTICATION_ERROR', f.message);
}

/**
 * Maps a @simplewebauthn verification error (its messages name the failed check: WebAuthn §7.1 steps
 * 9, 13, 14, 16, 17 and §7.2 likewise) to a reason. Anything else is `invalid`.
 */
export function classify(err: unknown): CeremonyFailure {
  if (err instanceof CeremonyFailure) return err;
  const msg = String((err as Error)?.message ?? err);
  const reason: FailureReason = /origin/i.test(msg)
    ? 'origin'
    : /RP ID/i.test(msg)
      ? 'rp_id'
      : /not be verified|verification required/i.test(msg)
        ? 'user_verification'
        : /not present/i.test(msg)
          ? 'user_presence'
          : /challenge/i.test(msg)
            ? 'challenge'
            : /type/i.test(msg) && /unexpected/i.test(msg)
              ? 'type'
              : /signature/i.test(msg)
                ? 'signature'
                : 'invalid';
  return new CeremonyFailure(reason, msg.slice(0, 200));
}

export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

export function relyingParty(deps: Pick<Deps, 'config'>): RelyingParty {
  return {
    id: deps.config.webauthnRpId,
    name: deps.config.webauthnRpName,
    origins: deps.config.webauthnOrigins,
  };
}

/** 32 random bytes: the challenge as the library wants it (it sends base64url to the client). */
export function newChallengeBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(randomBytes(32));
}

/** Keeps a challenge the server issued (only its hash), bound to the ceremony and, for registration, the user. */
export async function storeChallenge(
  deps: PasskeyDeps,
  challenge: string,
  ceremony: Ceremony,
  userId: string | null,
): Promise<{ id: string; expiresAt: Date }> {
  const now = deps.clock.now();
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS);
  await webauthnChallenges.insert(deps.store.db, {
    id,
    challengeHash: hashToken(challenge),
    ceremony,
    userId,
    now,
    expiresAt,
  });
  return { id, expiresAt };
}

/**
 * The challenge the authenticator signed (in clientDataJSON), spent here: it must be one this server issued for
 * this ceremony (and user), live and unspent. The client's copy only names which stored challenge to spend — the
 * library then checks the signed clientData against the value found here, never against a client field.
 */
export async function spendChallenge(
  deps: PasskeyDeps,
  clientDataJSON: string,
  ceremony: Ceremony,
  userId: string | null,
): Promise<{ challenge: string; stored: StoredChallenge }> {
  const signed = signedChallenge(clientDataJSON);
  const now = deps.clock.now();
  const stored = await deps.store.transaction((tx) =>
    webauthnChallenges.consume(tx, hashToken(signed), ceremony, userId, now),
  );
  if (!stored) throw new CeremonyFailure('challenge');
  return { challenge: signed, stored };
}

function signedChallenge(clientDataJSON: string): string {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown;
    };
    if (typeof data.challenge !== 'string' || data.challenge.length === 0 || data.challenge.length > 512)
      throw new Error('no challenge');
    return data.challenge;
  } catch {
    throw new CeremonyFailure('malformed');
  }
}

/** Audits a ceremony's outcome in its own transaction (a refusal changes nothing else). */
export async function auditFailure(
  deps: PasskeyDeps,
  ctx: RequestContext,
  action: string,
  f: CeremonyFailure,
  target: { type: string; id: string } | null,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) =>
    audit(
      tx,
      ctx,
      {
        action,
        outcome: 'failure',
        targetType: target?.type ?? null,
        targetId: target?.id ?? null,
        metadata: {
          method: 'passkey',
          reason: f.reason,
          ...(f.detail ? { detail: f.detail } : {}),
          ...extra,
        },
      },
      now,
    ),
  );
}

/** The parts of a PublicKeyCredential JSON the server reads before handing it to the library. */
export interface CredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: Record<string, unknown> & { clientDataJSON: string };
  clientExtensionResults?: Record<string, unknown>;
  authenticatorAttachment?: string | null;
}

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Shape checks before any work: ids and the clientData are base64url strings. */
export function credentialJSON(raw: unknown): CredentialJSON {
  const c = raw as Partial<CredentialJSON> | null;
  if (
    !c ||
    typeof c !== 'object' ||
    typeof c.id !== 'string' ||
    !B64URL.test(c.id) ||
    typeof c.rawId !== 'string' ||
    c.type !== 'public-key' ||
    !c.response ||
    typeof c.response !== 'object' ||
    typeof c.response.clientDataJSON !== 'string'
  )
    throw new CeremonyFailure('malformed');
  return { ...c, clientExtensionResults: c.clientExtensionResults ?? {} } as CredentialJSON;
}
