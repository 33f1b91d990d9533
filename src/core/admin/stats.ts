/** Platform statistics for `GET /api/v1/admin/stats`. */
import type { Deps } from '../deps.js';
import { auditEvents } from '../store/repos/audit-events.js';
import { platformCounts, type UserCounts } from '../store/repos/platform-counts.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PlatformStats {
  users: UserCounts;
  organizations: { total: number };
  sessions: { active: number };
  /** Successful / failed `auth.signin` audit events in the 24 hours before `generated_at`. */
  sign_ins_last_24h: number;
  sign_in_failures_last_24h: number;
  generated_at: string;
}

export async function platformStats(deps: Pick<Deps, 'store' | 'clock'>): Promise<PlatformStats> {
  const now = deps.clock.now();
  const ex = deps.store.db;
  const [users, organizations, sessions, signIns] = await Promise.all([
    platformCounts.users(ex),
    platformCounts.organizations(ex),
    platformCounts.liveSessions(ex, now),
    auditEvents.countByOutcome(ex, 'auth.signin', new Date(now.getTime() - DAY_MS)),
  ]);
  return {
    users,
    organizations: { total: organizations },
    sessions: { active: sessions },
    sign_ins_last_24h: signIns.success,
    sign_in_failures_last_24h: signIns.failure,
    generated_at: now.toISOString(),
  };
}
