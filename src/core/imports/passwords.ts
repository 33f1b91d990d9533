/**
 * Password hashes from a separate export (Auth0's support export, issue 13): each line joins a user imported
 * from the same source — by external id through `import_records`, else by email, but only to a user that has
 * an import record of this source: the password of an account that was not imported is never touched. A hash
 * is stored only for a user still flagged `needs_password` and holding no credential, so a password set since
 * (a reset, an earlier run) stays, and a re-run is a no-op. One transaction per batch with its audit row and
 * the run's checkpoint.
 */
import { audit, type RequestContext } from '../events/events.js';
import { importedCredentials } from '../store/repos/credentials.js';
import { importedUsers } from '../store/repos/imported-users.js';
import { type ImportRecord, importRecords, importRuns } from '../store/repos/imports.js';
import type { Executor } from '../store/store.js';
import { noteWritten } from './statistics.js';
import type { ExternalPasswordHash, ImportBatchOptions, ImportDeps, PasswordImportOutcome } from './types.js';

interface HashDecision {
  h: ExternalPasswordHash;
  outcome: PasswordImportOutcome;
  /** The user's record, when the line matched one. */
  rec?: ImportRecord;
}

async function planHashes(
  ex: Executor,
  source: string,
  batch: readonly ExternalPasswordHash[],
): Promise<HashDecision[]> {
  const byExternal = await importRecords.findMany(
    ex,
    source,
    'user',
    batch.flatMap((h) => (h.externalId ? [h.externalId] : [])),
  );
  const byEmailNeeded = batch.filter((h) => !(h.externalId && byExternal.has(h.externalId)) && h.email);
  const emailOwner = new Map<string, string>();
  let byLocal = new Map<string, ImportRecord>();
  if (byEmailNeeded.length) {
    const owners = await importedUsers.ownersOf(
      ex,
      byEmailNeeded.map((h) => h.email!),
      [],
    );
    for (const o of owners) emailOwner.set(o.email, o.id);
    byLocal = await importedUsers.recordsByLocal(ex, source, [...emailOwner.values()]);
  }
  const matched = batch.map((h) => {
    const rec = (h.externalId && byExternal.get(h.externalId)) || undefined;
    if (rec || !h.email) return rec;
    const owner = emailOwner.get(h.email);
    return owner ? byLocal.get(owner) : undefined;
  });
  const holders = await importedCredentials.holders(
    ex,
    matched.flatMap((r) => (r ? [r.localId] : [])),
  );
  const first = new Map<string, number>();
  return batch.map((h, i): HashDecision => {
    const rec = matched[i];
    const base = { index: h.index };
    if (!rec) {
      const owner = h.email ? emailOwner.get(h.email) : undefined;
      return {
        h,
        outcome: {
          ...base,
          status: 'unmatched',
          reason: owner
            ? `the email belongs to a Janua account that was not imported from ${source}; its password is left untouched`
            : `no user imported from ${source} has this user id or email`,
        },
      };
    }
    const userId = rec.localId;
    const earlier = first.get(userId);
    if (earlier !== undefined)
      return {
        h,
        outcome: {
          ...base,
          status: 'failed',
          userId,
          reason: `line ${earlier} already gave this user's hash`,
        },
      };
    first.set(userId, h.index);
    if (holders.has(userId) || !rec.needsPassword)
      return { h, rec, outcome: { ...base, status: 'unchanged', userId } };
    return { h, rec, outcome: { ...base, status: 'set', userId } };
  });
}

/**
 * Imports one batch of password hashes (see the module comment); one outcome per line, in input order:
 * `set` (stored), `unchanged` (the user has a password already), `unmatched` (no user of this source),
 * `failed` (a second line for one user, or the database refused it).
 */
export async function importPasswordHashesBatch(
  deps: ImportDeps,
  source: string,
  batch: ExternalPasswordHash[],
  opts: ImportBatchOptions,
  ctx: RequestContext,
): Promise<PasswordImportOutcome[]> {
  if (opts.dryRun) return (await planHashes(deps.store.db, source, batch)).map((d) => d.outcome);
  const now = deps.clock.now();
  try {
    const decisions = await deps.store.transaction(async (tx) => {
      const planned = await planHashes(tx, source, batch);
      const set = planned.filter((d) => d.outcome.status === 'set');
      // A user who has a password but is still flagged (a reset since the import) is flagged no more.
      const clear = planned.filter(
        (d) => d.outcome.status === 'set' || (d.outcome.status === 'unchanged' && d.rec?.needsPassword),
      );
      if (set.length)
        await importedCredentials.insertAbsent(
          tx,
          set.map((d) => ({ userId: d.rec!.localId, hash: d.h.hash })),
          now,
        );
      if (clear.length)
        await importedUsers.clearNeedsPassword(
          tx,
          source,
          clear.map((d) => d.rec!.externalId),
          now,
        );
      if (set.length || clear.length) {
        const count = (s: PasswordImportOutcome['status']) =>
          planned.filter((d) => d.outcome.status === s).length;
        await audit(
          tx,
          ctx,
          {
            action: 'user.migrate_passwords',
            targetType: 'user',
            metadata: {
              source,
              set: set.length,
              unchanged: count('unchanged'),
              unmatched: count('unmatched'),
              failed: count('failed'),
              first_index: batch[0]?.index ?? null,
              last_index: batch.at(-1)?.index ?? null,
            },
          },
          now,
        );
      }
      if (opts.checkpoint) await importRuns.checkpoint(tx, opts.checkpoint.runId, opts.checkpoint, now);
      return planned;
    });
    await noteWritten(deps.store, decisions.filter((d) => d.outcome.status === 'set').length);
    return decisions.map((d) => d.outcome);
  } catch (err) {
    if (batch.length <= 1)
      return batch.map((h) => ({
        index: h.index,
        status: 'failed',
        reason: `the database refused it: ${(err as Error).message}`,
      }));
    const out: PasswordImportOutcome[] = [];
    for (const h of batch)
      out.push(...(await importPasswordHashesBatch(deps, source, [h], { dryRun: false }, ctx)));
    if (opts.checkpoint) {
      const cp = opts.checkpoint;
      await deps.store.transaction((tx) => importRuns.checkpoint(tx, cp.runId, cp, deps.clock.now()));
    }
    return out;
  }
}

/**
 * Users of `source` still without a password (no hash came, no reset done), with their emails: keyset pages
 * in user-id order after `afterLocalId`, for the runner's reset marking and reset mails. Deactivated accounts
 * are left out.
 */
export async function usersNeedingPassword(
  deps: ImportDeps,
  source: string,
  afterLocalId: string | null,
  limit: number,
): Promise<Array<{ userId: string; externalId: string; email: string; status: string }>> {
  return importedUsers.needingPassword(deps.store.db, source, afterLocalId, limit);
}
