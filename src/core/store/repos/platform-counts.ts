import type { Executor } from '../store.js';

export interface UserCounts {
  total: number;
  active: number;
  suspended: number;
  deleted: number;
  /** Verified and admin counts leave out deleted users. */
  verified: number;
  admins: number;
}

/** Aggregate counts for the admin dashboard: one grouped query per table. */
export const platformCounts = {
  async users(ex: Executor): Promise<UserCounts> {
    const rows = await ex
      .selectFrom('users')
      .select((eb) => [
        'status',
        eb.fn.countAll<number>().as('n'),
        eb.fn.countAll<number>().filterWhere('email_verified', '=', true).as('verified'),
        eb.fn.countAll<number>().filterWhere('is_admin', '=', true).as('admins'),
      ])
      .groupBy('status')
      .execute();
    const out: UserCounts = { total: 0, active: 0, suspended: 0, deleted: 0, verified: 0, admins: 0 };
    for (const r of rows) {
      const n = Number(r.n);
      out.total += n;
      if (r.status === 'active' || r.status === 'suspended' || r.status === 'deleted') out[r.status] += n;
      if (r.status !== 'deleted') {
        out.verified += Number(r.verified);
        out.admins += Number(r.admins);
      }
    }
    return out;
  },

  async organizations(ex: Executor): Promise<number> {
    const r = await ex
      .selectFrom('organizations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /** Sessions neither revoked nor expired at `now`. */
  async liveSessions(ex: Executor, now: Date): Promise<number> {
    const r = await ex
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },
};
