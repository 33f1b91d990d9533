/** Accounts at other providers linked to a user (migration 0008): imported Auth0 identities, later social login. */
import { randomUUID } from 'node:crypto';
import { json, toBool, toDate, toJson } from '../codec.js';
import type { Executor } from '../store.js';

export interface UserIdentity {
  id: string;
  userId: string;
  provider: string;
  providerUserId: string;
  connection: string | null;
  isSocial: boolean;
  profile: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export type NewIdentity = Pick<
  UserIdentity,
  'userId' | 'provider' | 'providerUserId' | 'connection' | 'isSocial'
> & {
  profile?: Record<string, unknown>;
};

export const userIdentities = {
  async listForUser(ex: Executor, userId: string): Promise<UserIdentity[]> {
    const rows = await ex
      .selectFrom('user_identities')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('provider')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      provider: r.provider,
      providerUserId: r.provider_user_id,
      connection: r.connection,
      isSocial: toBool(r.is_social),
      profile: toJson<Record<string, unknown>>(r.profile) ?? {},
      createdAt: toDate(r.created_at),
      updatedAt: toDate(r.updated_at),
    }));
  },

  /** Who holds each (provider, provider user id) of `pairs` already: `provider\u0000id` → user id. */
  async owners(
    ex: Executor,
    pairs: ReadonlyArray<{ provider: string; providerUserId: string }>,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < pairs.length; i += 250) {
      const part = pairs.slice(i, i + 250);
      const rows = await ex
        .selectFrom('user_identities')
        .select(['provider', 'provider_user_id', 'user_id'])
        .where((eb) =>
          eb.or(
            part.map((p) =>
              eb.and([eb('provider', '=', p.provider), eb('provider_user_id', '=', p.providerUserId)]),
            ),
          ),
        )
        .execute();
      for (const r of rows) out.set(`${r.provider}\u0000${r.provider_user_id}`, r.user_id);
    }
    return out;
  },

  /** Links identities; one already linked (to anyone) is left as it is (ON CONFLICT DO NOTHING). */
  async insertMany(ex: Executor, rows: readonly NewIdentity[], now: Date): Promise<void> {
    for (let i = 0; i < rows.length; i += 200)
      await ex
        .insertInto('user_identities')
        .values(
          rows.slice(i, i + 200).map((r) => ({
            id: randomUUID(),
            user_id: r.userId,
            provider: r.provider,
            provider_user_id: r.providerUserId,
            connection: r.connection,
            is_social: r.isSocial,
            profile: json(r.profile ?? {}),
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['provider', 'provider_user_id']).doNothing())
        .execute();
  },
};
