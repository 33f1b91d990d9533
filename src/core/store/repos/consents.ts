/**
 * The consent history (migration 0011). Append-only by design: this repository can insert and read, nothing
 * else. GDPR Art. 7(1) asks the controller to be able to show that consent was given, so a withdrawal is a
 * new row, never a change to an old one. (Erasure pseudonymizes the rows; that is the compliance provider's
 * job, in gdpr/providers/compliance.ts, not this repository's.)
 */
import type { Selectable } from 'kysely';
import { toBool, toDate } from '../codec.js';
import type { ConsentRecordsTable } from '../schema.js';
import type { Executor } from '../store.js';

export interface ConsentRow {
  id: string;
  userId: string;
  purpose: string;
  granted: boolean;
  legalBasis: string;
  version: string | null;
  source: string;
  ip: string | null;
  userAgent: string | null;
  recordedAt: Date;
}

function decode(r: Selectable<ConsentRecordsTable>): ConsentRow {
  return {
    id: r.id,
    userId: r.user_id,
    purpose: r.purpose,
    granted: toBool(r.granted),
    legalBasis: r.legal_basis,
    version: r.version,
    source: r.source,
    ip: r.ip,
    userAgent: r.user_agent,
    recordedAt: toDate(r.recorded_at),
  };
}

export const consents = {
  async append(ex: Executor, row: ConsentRow): Promise<void> {
    await ex
      .insertInto('consent_records')
      .values({
        id: row.id,
        user_id: row.userId,
        purpose: row.purpose,
        granted: row.granted,
        legal_basis: row.legalBasis,
        version: row.version,
        source: row.source,
        ip: row.ip,
        user_agent: row.userAgent,
        recorded_at: row.recordedAt,
      })
      .execute();
  },

  /** Every row of a user, oldest first (recorded_at is strictly increasing per user, see gdpr/consent.ts). */
  async history(ex: Executor, userId: string): Promise<ConsentRow[]> {
    const rows = await ex
      .selectFrom('consent_records')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('recorded_at')
      .orderBy('id')
      .execute();
    return rows.map(decode);
  },

  /** The user's newest row (any purpose), or undefined. */
  async newest(ex: Executor, userId: string, purpose?: string): Promise<ConsentRow | undefined> {
    let q = ex.selectFrom('consent_records').selectAll().where('user_id', '=', userId);
    if (purpose !== undefined) q = q.where('purpose', '=', purpose);
    const r = await q.orderBy('recorded_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? decode(r) : undefined;
  },
};
