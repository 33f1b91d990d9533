/**
 * Storage of TOTP factors, backup codes and MFA sign-in challenges (migration 0009). Every "accept once"
 * decision here is a single conditional UPDATE: of two parallel requests (on one node or two) exactly one
 * sees the condition hold — Postgres re-checks the WHERE after the other's commit under READ COMMITTED,
 * SQLite serialises writers.
 */
import type { Selectable } from 'kysely';
import { toDate, toDateOrNull, toNumber } from '../codec.js';
import type { MfaChallengesTable, MfaTotpFactorsTable } from '../schema.js';
import type { Executor } from '../store.js';

export type FactorStatus = 'pending' | 'active';

export interface TotpFactor {
  userId: string;
  seedBox: string;
  status: FactorStatus;
  lastStep: number | null;
  createdAt: Date;
  confirmedAt: Date | null;
  lastUsedAt: Date | null;
}

function decodeFactor(r: Selectable<MfaTotpFactorsTable>): TotpFactor {
  return {
    userId: r.user_id,
    seedBox: r.seed_box,
    status: r.status as FactorStatus,
    lastStep: r.last_step === null ? null : toNumber(r.last_step),
    createdAt: toDate(r.created_at),
    confirmedAt: toDateOrNull(r.confirmed_at),
    lastUsedAt: toDateOrNull(r.last_used_at),
  };
}

export const totpFactors = {
  async find(ex: Executor, userId: string): Promise<TotpFactor | undefined> {
    const row = await ex
      .selectFrom('mfa_totp_factors')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && decodeFactor(row);
  },

  /** A new pending factor, replacing a pending one; an active factor is left alone (returns false). */
  async putPending(ex: Executor, userId: string, seedBox: string, now: Date): Promise<boolean> {
    const res = await ex
      .insertInto('mfa_totp_factors')
      .values({
        user_id: userId,
        seed_box: seedBox,
        status: 'pending',
        last_step: null,
        created_at: now,
        confirmed_at: null,
        last_used_at: null,
      })
      .onConflict((oc) =>
        oc
          .column('user_id')
          .doUpdateSet({ seed_box: seedBox, status: 'pending', last_step: null, created_at: now })
          .where('mfa_totp_factors.status', '=', 'pending'),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  },

  /**
   * Activates the pending factor whose seed was checked (`seedBox`: a parallel re-enrolment that replaced the
   * seed makes this fail), recording the accepted step. True when this call activated it.
   */
  async activate(ex: Executor, userId: string, seedBox: string, step: number, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('mfa_totp_factors')
      .set({ status: 'active', last_step: step, confirmed_at: now, last_used_at: now })
      .where('user_id', '=', userId)
      .where('status', '=', 'pending')
      .where('seed_box', '=', seedBox)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  /**
   * The replay guard (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP"):
   * records `step` as accepted only if it is later than every step accepted before. One statement, so two
   * nodes checking the same code at once cannot both succeed. True when this call accepted the step.
   */
  async acceptStep(ex: Executor, userId: string, step: number, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('mfa_totp_factors')
      .set({ last_step: step, last_used_at: now })
      .where('user_id', '=', userId)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  async remove(ex: Executor, userId: string): Promise<boolean> {
    const res = await ex.deleteFrom('mfa_totp_factors').where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },
};

export const backupCodes = {
  /** Replaces the user's set with these hashes. */
  async replace(
    ex: Executor,
    userId: string,
    rows: { id: string; hash: string }[],
    now: Date,
  ): Promise<void> {
    await ex.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    if (!rows.length) return;
    await ex
      .insertInto('mfa_backup_codes')
      .values(
        rows.map((r) => ({ id: r.id, user_id: userId, code_hash: r.hash, created_at: now, used_at: null })),
      )
      .execute();
  },

  /** Spends the code with this hash if unused: true when this call spent it. */
  async consume(ex: Executor, userId: string, hash: string, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('mfa_backup_codes')
      .set({ used_at: now })
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  async summary(
    ex: Executor,
    userId: string,
  ): Promise<{ remaining: number; total: number; generatedAt: Date | null; lastUsedAt: Date | null }> {
    const rows = await ex
      .selectFrom('mfa_backup_codes')
      .select(['created_at', 'used_at'])
      .where('user_id', '=', userId)
      .execute();
    let lastUsedAt: Date | null = null;
    for (const r of rows) {
      const used = toDateOrNull(r.used_at);
      if (used && (!lastUsedAt || used > lastUsedAt)) lastUsedAt = used;
    }
    return {
      remaining: rows.filter((r) => r.used_at === null).length,
      total: rows.length,
      generatedAt: rows[0] ? toDate(rows[0].created_at) : null,
      lastUsedAt,
    };
  },

  async removeAll(ex: Executor, userId: string): Promise<number> {
    const res = await ex.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows);
  },
};

export type ChallengePurpose = 'signin' | 'enroll';

export interface MfaChallenge {
  id: string;
  userId: string;
  purpose: ChallengePurpose;
  method: string;
  ip: string | null;
  userAgent: string | null;
  failedAttempts: number;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

function decodeChallenge(r: Selectable<MfaChallengesTable>): MfaChallenge {
  return {
    id: r.id,
    userId: r.user_id,
    purpose: r.purpose as ChallengePurpose,
    method: r.method,
    ip: r.ip,
    userAgent: r.user_agent,
    failedAttempts: toNumber(r.failed_attempts),
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    consumedAt: toDateOrNull(r.consumed_at),
  };
}

export const mfaChallenges = {
  async insert(
    ex: Executor,
    c: Omit<MfaChallenge, 'failedAttempts' | 'consumedAt'> & { tokenHash: string },
  ): Promise<void> {
    await ex
      .insertInto('mfa_challenges')
      .values({
        id: c.id,
        token_hash: c.tokenHash,
        user_id: c.userId,
        purpose: c.purpose,
        method: c.method,
        ip: c.ip,
        user_agent: c.userAgent,
        failed_attempts: 0,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        consumed_at: null,
      })
      .execute();
  },

  /** The live (unspent, unexpired) challenge with this token hash. */
  async findLive(ex: Executor, tokenHash: string, now: Date): Promise<MfaChallenge | undefined> {
    const row = await ex
      .selectFrom('mfa_challenges')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && decodeChallenge(row);
  },

  /** Spends a live challenge: true when this call spent it (of two parallel uses, one). */
  async consume(ex: Executor, id: string, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('mfa_challenges')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  /** Counts a wrong code; spends the challenge when it reaches `max`. Returns the new count. */
  async countFailure(ex: Executor, id: string, max: number, now: Date): Promise<number> {
    const row = await ex
      .updateTable('mfa_challenges')
      .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) }))
      .where('id', '=', id)
      .returning('failed_attempts')
      .executeTakeFirst();
    const n = row ? toNumber(row.failed_attempts) : max;
    if (n >= max)
      await ex
        .updateTable('mfa_challenges')
        .set({ consumed_at: now })
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .execute();
    return n;
  },

  /** Spends every live challenge of the user (factor removed, admin reset). */
  async spendForUser(ex: Executor, userId: string, now: Date): Promise<void> {
    await ex
      .updateTable('mfa_challenges')
      .set({ consumed_at: now })
      .where('user_id', '=', userId)
      .where('consumed_at', 'is', null)
      .execute();
  },
};

/** Organizations of the user that require MFA of their members: how many. */
export async function orgsRequiringMfa(ex: Executor, userId: string): Promise<number> {
  const row = await ex
    .selectFrom('organization_members')
    .innerJoin('organizations', 'organizations.id', 'organization_members.organization_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organization_members.user_id', '=', userId)
    .where('organizations.require_mfa', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Keeps `users.mfa_enabled` (the user object's `mfa_enabled`) in step with the factor. */
export async function setUserMfaEnabled(
  ex: Executor,
  userId: string,
  enabled: boolean,
  now: Date,
): Promise<void> {
  await ex
    .updateTable('users')
    .set({ mfa_enabled: enabled, updated_at: now })
    .where('id', '=', userId)
    .execute();
}
