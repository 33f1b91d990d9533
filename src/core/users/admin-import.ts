/**
 * User administration: bulk import from JSON / NDJSON records.
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import { randomUUID } from 'node:crypto';
import { isBcryptHash } from '../auth/passwords.js';
import { checkEmail } from '../auth/service.js';
import { JanuaError, validation } from '../errors.js';
import { audit, type DomainEvent, emitMany, type RequestContext } from '../events/events.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { type NewUser, users } from '../store/repos/users.js';
import { breaksTextRule, nulPath, textRuleError } from '../text.js';
import { requireAdmin, type StoreDeps, wholeNumber } from './admin-access.js';
import type { ImportRecord } from './import-format.js';

export interface ImportItem {
  /** 1-based position of the record in the input. */
  index: number;
  email: string | null;
  status: 'created' | 'skipped' | 'failed';
  id?: string;
  reason?: string;
}

export interface ImportSummary {
  created: number;
  skipped: number;
  failed: number;
  dry_run: boolean;
}

export interface ImportOptions {
  dryRun?: boolean | undefined;
  /** Records per transaction (default 500). */
  batchSize?: number | undefined;
  /** Called for every record, in input order. */
  onItem?: ((item: ImportItem) => void) | undefined;
}

interface ValidRecord {
  index: number;
  user: NewUser;
  passwordHash: string | undefined;
}

const IMPORT_FIELDS = new Set([
  'email',
  'first_name',
  'last_name',
  'password_hash',
  'email_verified',
  'is_admin',
  'user_metadata',
]);

function optString(r: Record<string, unknown>, k: string, max: number): string | null {
  const v = r[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max)
    throw validation(`${k} must be a string of at most ${max} characters`);
  if (breaksTextRule(v, 'single-line')) throw textRuleError(k, 'single-line');
  return v;
}

function optBool(r: Record<string, unknown>, k: string): boolean {
  const v = r[k];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw validation(`${k} must be true or false`);
  return v;
}

/** Checks one import record; throws a validation error naming what is wrong. */
function validateRecord(value: unknown, index: number, now: Date): ValidRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw validation('a record must be a JSON object');
  const r = value as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !IMPORT_FIELDS.has(k));
  if (unknown.length)
    throw validation(
      `unknown field(s) ${unknown.join(', ')}${unknown.includes('password') ? ' (plain passwords are not imported; give password_hash)' : ''}`,
    );
  if (typeof r['email'] !== 'string') throw validation('email is required');
  const email = checkEmail(r['email']);
  const hash = r['password_hash'];
  if (hash !== undefined && hash !== null && (typeof hash !== 'string' || !isBcryptHash(hash)))
    throw validation('password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$)');
  const meta = r['user_metadata'];
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta)))
    throw validation('user_metadata must be an object');
  const nul = nulPath(meta);
  if (nul !== undefined) throw textRuleError(`user_metadata.${nul}`, 'nul');
  const text = (k: string) => optString(r, k, 100);
  return {
    index,
    passwordHash: (hash as string | null | undefined) ?? undefined,
    user: {
      id: randomUUID(),
      email,
      firstName: text('first_name'),
      lastName: text('last_name'),
      emailVerified: optBool(r, 'email_verified'),
      isAdmin: optBool(r, 'is_admin'),
      userMetadata: (meta as Record<string, unknown> | null | undefined) ?? {},
      now,
    },
  };
}

/**
 * Imports users from a stream of records (see ./import-format.ts for JSON arrays and NDJSON). Batches of
 * `batchSize` go in one transaction each: a multi-row INSERT … ON CONFLICT DO NOTHING, their imported bcrypt
 * hashes, one `user.created` outbox event per created user and one audit row per batch. Existing emails are
 * skipped, so a re-run creates nothing twice; a bad record is reported and skipped.
 */
export async function importUsers(
  deps: StoreDeps,
  records: AsyncIterable<ImportRecord>,
  opts: ImportOptions,
  ctx: RequestContext,
): Promise<ImportSummary> {
  requireAdmin(ctx);
  const batchSize = wholeNumber(opts.batchSize, 'batch_size', 1, 1000, 500);
  const summary: ImportSummary = { created: 0, skipped: 0, failed: 0, dry_run: !!opts.dryRun };
  const report = (item: ImportItem) => {
    summary[item.status]++;
    opts.onItem?.(item);
  };
  const seen = new Set<string>();
  let batch: ValidRecord[] = [];
  // Items are reported in input order: failures found while validating wait for the batch they sit in.
  let pending: ImportItem[] = [];

  const flush = async () => {
    const outcome = batch.length ? await writeBatch(deps, batch, !!opts.dryRun, ctx) : new Map();
    const items: ImportItem[] = [
      ...pending,
      ...batch.map((r) => ({ index: r.index, email: r.user.email, ...outcome.get(r.index)! }) as ImportItem),
    ];
    items.sort((a, b) => a.index - b.index);
    for (const item of items) report(item);
    batch = [];
    pending = [];
  };

  for await (const rec of records) {
    const now = deps.clock.now();
    if (rec.error !== undefined) {
      pending.push({ index: rec.index, email: null, status: 'failed', reason: rec.error });
    } else {
      try {
        const v = validateRecord(rec.value, rec.index, now);
        if (seen.has(v.user.email)) {
          pending.push({
            index: rec.index,
            email: v.user.email,
            status: 'skipped',
            reason: 'duplicate of an earlier record',
          });
        } else {
          seen.add(v.user.email);
          batch.push(v);
        }
      } catch (err) {
        const email = (rec.value as { email?: unknown } | null)?.email;
        pending.push({
          index: rec.index,
          email: typeof email === 'string' ? email : null,
          status: 'failed',
          reason: err instanceof JanuaError ? err.message : String(err),
        });
      }
    }
    if (batch.length >= batchSize || pending.length >= batchSize) await flush();
  }
  await flush();
  return summary;
}

type Outcome = Pick<ImportItem, 'status' | 'id' | 'reason'>;

/** Writes one batch in one transaction; if the database refuses it, retries record by record to isolate the bad one. */
async function writeBatch(
  deps: StoreDeps,
  batch: ValidRecord[],
  dryRun: boolean,
  ctx: RequestContext,
): Promise<Map<number, Outcome>> {
  const out = new Map<number, Outcome>();
  const emails = batch.map((r) => r.user.email);
  if (dryRun) {
    const existing = await users.existingEmails(deps.store.db, emails);
    for (const r of batch)
      out.set(
        r.index,
        existing.has(r.user.email) ? { status: 'skipped', reason: 'already exists' } : { status: 'created' },
      );
    return out;
  }
  const now = deps.clock.now();
  try {
    const created = await deps.store.transaction(async (tx) => {
      const rows = await users.insertMany(
        tx,
        batch.map((r) => r.user),
      );
      const ids = new Set(rows.map((r) => r.id));
      await passwordCredentials.insertMany(
        tx,
        batch
          .filter((r) => r.passwordHash && ids.has(r.user.id))
          .map((r) => ({ userId: r.user.id, hash: r.passwordHash! })),
        now,
      );
      const events: DomainEvent[] = rows.map((r) => ({
        type: 'user.created',
        aggregate: { type: 'user', id: r.id },
        payload: { user_id: r.id, email: r.email, source: 'import' },
      }));
      await emitMany(tx, events, now);
      await audit(
        tx,
        ctx,
        {
          action: 'user.import',
          targetType: 'user',
          metadata: {
            created: rows.length,
            skipped: batch.length - rows.length,
            first_index: batch[0]!.index,
            last_index: batch.at(-1)!.index,
          },
        },
        now,
      );
      return ids;
    });
    for (const r of batch)
      out.set(
        r.index,
        created.has(r.user.id)
          ? { status: 'created', id: r.user.id }
          : { status: 'skipped', reason: 'already exists' },
      );
  } catch (err) {
    if (batch.length === 1) {
      out.set(batch[0]!.index, {
        status: 'failed',
        reason: `the database refused it: ${(err as Error).message}`,
      });
    } else {
      for (const r of batch) for (const [k, v] of await writeBatch(deps, [r], dryRun, ctx)) out.set(k, v);
    }
  }
  return out;
}
