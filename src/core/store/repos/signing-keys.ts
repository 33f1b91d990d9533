import type { Selectable } from 'kysely';
import { json, toDate, toDateOrNull, toJson } from '../codec.js';
import type { SigningKeysTable } from '../schema.js';
import type { Executor } from '../store.js';

export type KeyState = 'next' | 'active' | 'retired';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  state: KeyState;
  publicJwk: Record<string, unknown>;
  /** Sealed with the master key (SecretBox, purpose `signing-key`). */
  privateKeyEnc: string;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
  /** For retired keys: when the last token it signed expires; `janua keys prune` removes it after that. */
  expiresAt: Date | null;
}

function decode(r: Selectable<SigningKeysTable>): SigningKeyRow {
  return {
    kid: r.kid,
    alg: r.alg,
    state: r.state as KeyState,
    publicJwk: toJson(r.public_jwk),
    privateKeyEnc: r.private_key_enc,
    createdAt: toDate(r.created_at),
    activatedAt: toDateOrNull(r.activated_at),
    retiredAt: toDateOrNull(r.retired_at),
    expiresAt: toDateOrNull(r.expires_at),
  };
}

export const signingKeys = {
  async list(ex: Executor): Promise<SigningKeyRow[]> {
    const rows = await ex.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map(decode);
  },

  async insert(ex: Executor, k: SigningKeyRow): Promise<void> {
    await ex
      .insertInto('signing_keys')
      .values({
        kid: k.kid,
        alg: k.alg,
        state: k.state,
        public_jwk: json(k.publicJwk),
        private_key_enc: k.privateKeyEnc,
        created_at: k.createdAt,
        activated_at: k.activatedAt,
        retired_at: k.retiredAt,
        expires_at: k.expiresAt,
      })
      .execute();
  },

  async activate(ex: Executor, kid: string, now: Date): Promise<void> {
    await ex
      .updateTable('signing_keys')
      .set({ state: 'active', activated_at: now })
      .where('kid', '=', kid)
      .execute();
  },

  async retire(ex: Executor, kid: string, now: Date, expiresAt: Date): Promise<void> {
    await ex
      .updateTable('signing_keys')
      .set({ state: 'retired', retired_at: now, expires_at: expiresAt })
      .where('kid', '=', kid)
      .execute();
  },

  async deleteExpired(ex: Executor, now: Date): Promise<string[]> {
    const rows = await ex
      .deleteFrom('signing_keys')
      .where('state', '=', 'retired')
      .where('expires_at', '<=', now)
      .returning('kid')
      .execute();
    return rows.map((r) => r.kid);
  },
};
