/**
 * The cleanup jobs. Each deletes in bounded batches — one short statement per batch, each its own transaction —
 * and yields between them, so a cleanup of millions of rows never holds the write lock (SQLite) or long row
 * locks (Postgres) for more than one batch, and requests keep flowing while it runs.
 */

import { cronRuns } from '../store/repos/cron-runs.js';
import { deletePicked } from '../store/repos/delete-picked.js';
import { jobs } from '../store/repos/jobs.js';
import { outbox } from '../store/repos/outbox.js';
import { webhookDeliveries } from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';

export const CLEANUP_BATCH = 1000;
const DAY_MS = 86_400_000;
/**
 * Revoked sessions are kept a week: a replayed refresh token of a recently revoked family is still recognized
 * (and audited) as reuse instead of looking merely unknown.
 */
export const REVOKED_SESSION_KEEP_MS = 7 * DAY_MS;
/** Expired rows are kept a day past expiry, so clock skew between nodes never deletes a row still in use. */
export const EXPIRED_GRACE_MS = DAY_MS;

/** Repeats `batch` until it deletes fewer than a full batch (or the run is aborted); returns the total. */
export async function inBatches(
  batch: (limit: number) => Promise<number>,
  signal?: AbortSignal,
  size = CLEANUP_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const n = await batch(size);
    total += n;
    if (n < size) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function cleanupSessions(ex: Executor, now: Date, signal?: AbortSignal): Promise<number> {
  const expired = new Date(now.getTime() - EXPIRED_GRACE_MS);
  const revoked = new Date(now.getTime() - REVOKED_SESSION_KEEP_MS);
  // Sessions first (their refresh tokens go with them: ON DELETE CASCADE), then spent or unspent tokens past
  // their own expiry in sessions that live on.
  const byExpiry = await inBatches(
    (limit) => deletePicked(ex, 'sessions', 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
    signal,
  );
  const byRevocation = await inBatches(
    (limit) =>
      deletePicked(ex, 'sessions', 'id', (q) =>
        q.where('revoked_at', 'is not', null).where('revoked_at', '<', revoked).limit(limit),
      ),
    signal,
  );
  const tokens = await inBatches(
    (limit) =>
      deletePicked(ex, 'refresh_tokens', 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
    signal,
  );
  // One-time tokens of the email flows (links), spent or not, past their expiry.
  const links = await inBatches(
    (limit) =>
      deletePicked(ex, 'one_time_tokens', 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
    signal,
  );
  // MFA sign-in challenges (mfa_token), spent or not, past their 5-minute expiry.
  const challenges = await inBatches(
    (limit) =>
      deletePicked(ex, 'mfa_challenges', 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
    signal,
  );
  // Passkey ceremony challenges (5 minutes), spent or not, past their expiry.
  const ceremonies = await inBatches(
    (limit) =>
      deletePicked(ex, 'webauthn_challenges', 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
    signal,
  );
  // SSO: AuthnRequests past their answer window, replay-cache ids whose assertion could no longer be
  // accepted anyway, and one-time codes past their 60 s.
  const sso = await Promise.all(
    (['sso_requests', 'auth_codes'] as const).map((table) =>
      inBatches(
        (limit) => deletePicked(ex, table, 'id', (q) => q.where('expires_at', '<', expired).limit(limit)),
        signal,
      ),
    ),
  );
  const replay = await inBatches(
    (limit) =>
      deletePicked(ex, 'saml_assertion_ids', 'assertion_id', (q) =>
        q.where('expires_at', '<', expired).limit(limit),
      ),
    signal,
  );
  return byExpiry + byRevocation + tokens + links + challenges + ceremonies + sso[0]! + sso[1]! + replay;
}

/**
 * Sign-in failure counters whose lockout (if any) is over and that saw no attempt for a whole lockout window:
 * the next attempt would restart them from one anyway (store/repos/attempts.ts), so deleting them changes
 * nothing but the table's size.
 */
export async function cleanupAttempts(
  ex: Executor,
  now: Date,
  windowMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const stale = new Date(now.getTime() - windowMs);
  return inBatches(
    (limit) =>
      deletePicked(ex, 'sign_in_attempts', 'key', (q) =>
        q
          .where('updated_at', '<', stale)
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
          .limit(limit),
      ),
    signal,
  );
}

export async function cleanupAudit(
  ex: Executor,
  now: Date,
  retentionDays: number,
  signal?: AbortSignal,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * DAY_MS);
  return inBatches(
    (limit) =>
      deletePicked(ex, 'audit_events', 'id', (q) =>
        q.where('occurred_at', '<', before).orderBy('occurred_at').limit(limit),
      ),
    signal,
  );
}

export async function cleanupOutbox(
  ex: Executor,
  now: Date,
  retentionDays: number,
  signal?: AbortSignal,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * DAY_MS);
  return inBatches((limit) => outbox.deleteHandled(ex, before, limit), signal);
}

export async function cleanupJobs(
  ex: Executor,
  now: Date,
  retention: { finishedDays: number; deadDays: number },
  signal?: AbortSignal,
): Promise<number> {
  const finished = new Date(now.getTime() - retention.finishedDays * DAY_MS);
  const dead = new Date(now.getTime() - retention.deadDays * DAY_MS);
  const done = await inBatches(
    (limit) => jobs.deleteFinished(ex, ['succeeded', 'cancelled'], finished, limit),
    signal,
  );
  const gone = await inBatches((limit) => jobs.deleteFinished(ex, ['dead'], dead, limit), signal);
  const runs = await inBatches((limit) => cronRuns.deleteBefore(ex, finished, limit), signal);
  return done + gone + runs;
}

/** Webhook deliveries (their bodies and answers) older than the retention. */
export async function cleanupWebhookDeliveries(
  ex: Executor,
  now: Date,
  retentionDays: number,
  signal?: AbortSignal,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * DAY_MS);
  return inBatches((limit) => webhookDeliveries.deleteCreatedBefore(ex, before, limit), signal);
}
