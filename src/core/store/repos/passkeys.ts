/** Rows of the passkey tables (migration 0010): registered credentials and ceremony challenges. */
import type { Selectable } from 'kysely';
import { json, toBool, toDate, toDateOrNull, toJson, toNumber } from '../codec.js';
import type { WebauthnChallengesTable, WebauthnCredentialsTable } from '../schema.js';
import type { Executor } from '../store.js';

export interface PasskeyCredential {
  id: string;
  userId: string;
  /** base64url, as the authenticator reported it. */
  credentialId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  signCount: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  aaguid: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
}

export type Ceremony = 'registration' | 'authentication';

export interface StoredChallenge {
  id: string;
  ceremony: Ceremony;
  userId: string | null;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

function decode(r: Selectable<WebauthnCredentialsTable>): PasskeyCredential {
  return {
    id: r.id,
    userId: r.user_id,
    credentialId: r.credential_id,
    publicKey: r.public_key,
    signCount: toNumber(r.sign_count),
    transports: toJson<string[]>(r.transports) ?? [],
    deviceType: r.device_type,
    backedUp: toBool(r.backed_up),
    aaguid: r.aaguid,
    name: r.name,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    lastUsedAt: toDateOrNull(r.last_used_at),
  };
}

function decodeChallenge(r: Selectable<WebauthnChallengesTable>): StoredChallenge {
  return {
    id: r.id,
    ceremony: r.ceremony as Ceremony,
    userId: r.user_id,
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    consumedAt: toDateOrNull(r.consumed_at),
  };
}

export const passkeys = {
  async insert(ex: Executor, p: Omit<PasskeyCredential, 'updatedAt' | 'lastUsedAt'>): Promise<void> {
    await ex
      .insertInto('webauthn_credentials')
      .values({
        id: p.id,
        user_id: p.userId,
        credential_id: p.credentialId,
        public_key: p.publicKey,
        sign_count: p.signCount,
        transports: json(p.transports),
        device_type: p.deviceType,
        backed_up: p.backedUp,
        aaguid: p.aaguid,
        name: p.name,
        created_at: p.createdAt,
        updated_at: p.createdAt,
        last_used_at: null,
      })
      .execute();
  },

  async listForUser(ex: Executor, userId: string): Promise<PasskeyCredential[]> {
    const rows = await ex
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(decode);
  },

  async findByCredentialId(ex: Executor, credentialId: string): Promise<PasskeyCredential | undefined> {
    const row = await ex
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('credential_id', '=', credentialId)
      .executeTakeFirst();
    return row && decode(row);
  },

  async findForUser(ex: Executor, userId: string, id: string): Promise<PasskeyCredential | undefined> {
    const row = await ex
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && decode(row);
  },

  /**
   * Records a use: the counter moves only forward, checked in the UPDATE itself, so two parallel uses of one
   * signature (a replay racing the original) cannot both pass — the second finds the counter already there.
   * A counter that stays 0 (authenticators without one, WebAuthn §6.1.1) is allowed to stay 0.
   */
  async recordUse(
    ex: Executor,
    id: string,
    expected: number,
    next: number,
    backedUp: boolean,
    now: Date,
  ): Promise<boolean> {
    const res = await ex
      .updateTable('webauthn_credentials')
      .set({ sign_count: next, backed_up: backedUp, last_used_at: now, updated_at: now })
      .where('id', '=', id)
      .where('sign_count', '=', expected)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  },

  async rename(ex: Executor, userId: string, id: string, name: string, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('webauthn_credentials')
      .set({ name, updated_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  },

  async remove(ex: Executor, userId: string, id: string): Promise<boolean> {
    const res = await ex
      .deleteFrom('webauthn_credentials')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  },
};

export const webauthnChallenges = {
  async insert(
    ex: Executor,
    c: {
      id: string;
      challengeHash: string;
      ceremony: Ceremony;
      userId: string | null;
      now: Date;
      expiresAt: Date;
    },
  ): Promise<void> {
    await ex
      .insertInto('webauthn_challenges')
      .values({
        id: c.id,
        challenge_hash: c.challengeHash,
        ceremony: c.ceremony,
        user_id: c.userId,
        created_at: c.now,
        expires_at: c.expiresAt,
        consumed_at: null,
      })
      .execute();
  },

  /**
   * Spends a live challenge of this ceremony (and, for registration, of this user) in one conditional UPDATE:
   * of two parallel completions exactly one gets the row. Unknown, spent, expired, other-ceremony and
   * other-user challenges → undefined.
   */
  async consume(
    ex: Executor,
    challengeHash: string,
    ceremony: Ceremony,
    userId: string | null,
    now: Date,
  ): Promise<StoredChallenge | undefined> {
    let q = ex
      .updateTable('webauthn_challenges')
      .set({ consumed_at: now })
      .where('challenge_hash', '=', challengeHash)
      .where('ceremony', '=', ceremony)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now);
    q = userId === null ? q : q.where('user_id', '=', userId);
    const row = await q.returningAll().executeTakeFirst();
    return row && decodeChallenge(row);
  },

  /** Why a challenge could not be spent, for the audit row (after `consume` returned nothing). */
  async find(ex: Executor, challengeHash: string): Promise<StoredChallenge | undefined> {
    const row = await ex
      .selectFrom('webauthn_challenges')
      .selectAll()
      .where('challenge_hash', '=', challengeHash)
      .executeTakeFirst();
    return row && decodeChallenge(row);
  },
};
