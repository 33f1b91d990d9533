/**
 * The user phases of a migration run: users (mapped and upserted by Auth0 id), passwords (the hash file joined
 * to migrated users) and resets (the reset mail for users still without a password).
 */
import { requestByEmail } from '../../core/auth/flows/requests.js';
import { checkpointImportRun } from '../../core/imports/runs.js';
import { AUTH0_SOURCE, type ExternalPasswordHash, type ExternalUser } from '../../core/imports/types.js';
import {
  importPasswordHashesBatch,
  importUsersBatch,
  usersNeedingPassword,
} from '../../core/imports/users.js';
import { readPasswordHashesFile } from './files.js';
import { mapAuth0PasswordHash, mapAuth0User } from './map-user.js';
import { batchedPhase, CTX, problem, type RunCtx } from './phase.js';

export async function runUsers(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  const take = (rec: { index: number; value?: unknown }): ExternalUser | undefined => {
    const m = mapAuth0User(rec.value, rec.index);
    if ('error' in m) {
      const v = rec.value as { user_id?: unknown; email?: unknown } | null;
      problem(c, 'users', 'failed', {
        index: rec.index,
        id: typeof v?.user_id === 'string' ? v.user_id : undefined,
        email: typeof v?.email === 'string' ? v.email : undefined,
        reason: m.error,
      });
      return undefined;
    }
    for (const w of m.user.warnings)
      problem(c, 'users', 'warning', { index: rec.index, id: m.user.externalId, reason: w });
    return m.user;
  };
  const write = async (batch: ExternalUser[], cp: ReturnType<typeof c.cp>) => {
    const outcomes = await importUsersBatch(
      deps,
      AUTH0_SOURCE,
      batch,
      { dryRun: o.dryRun, checkpoint: cp },
      CTX,
    );
    for (const r of outcomes) {
      if (r.status === 'failed')
        problem(c, 'users', 'failed', {
          index: r.index,
          id: r.externalId,
          email: r.email,
          reason: r.reason ?? 'failed',
        });
      else report.count('users', r.status);
    }
  };
  // Positions count records of one export; in a new one (the checkpoint's was gone) they mean nothing. Upserts
  // make going over the users again safe: the ones done are `unchanged`.
  const restartAt = () => {
    if (from === 0 || !c.exportChanged()) return undefined;
    c.progress('users', {
      note: 'the checkpoint’s export is gone; going over the new export from the start',
    });
    return 0;
  };
  await batchedPhase(c, 'users', from, o.source.users(), take, write, restartAt);
}

export async function runPasswords(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  const take = (rec: { index: number; value?: unknown }): ExternalPasswordHash | undefined => {
    const m = mapAuth0PasswordHash(rec.value, rec.index);
    if (!('error' in m)) return m.hash;
    problem(c, 'passwords', 'failed', { index: rec.index, reason: m.error });
    return undefined;
  };
  const write = async (batch: ExternalPasswordHash[], cp: ReturnType<typeof c.cp>) => {
    const outcomes = await importPasswordHashesBatch(
      deps,
      AUTH0_SOURCE,
      batch,
      { dryRun: o.dryRun, checkpoint: cp },
      CTX,
    );
    for (const r of outcomes) {
      if (r.status === 'failed')
        problem(c, 'passwords', 'failed', { index: r.index, reason: r.reason ?? 'failed' });
      else if (r.status === 'unmatched')
        problem(c, 'passwords', 'warning', {
          index: r.index,
          reason: r.reason ?? 'no migrated user has this id or email',
        });
      report.count('passwords', r.status);
    }
  };
  await batchedPhase(c, 'passwords', from, readPasswordHashesFile(o.passwordHashesFile!), take, write);
}

/**
 * Queues the reset mail (the ordinary password-reset flow) for every migrated user still without a password,
 * a page at a time; the last user of each page is checkpointed, so a resumed run goes on after it (a run
 * killed inside a page queues that page's mails again; the flow's per-address limit bounds the repeats).
 */
export async function runResets(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  let after: string | null = from > 0 ? (c.cursors['resets'] ?? null) : null;
  let done = from;
  for (;;) {
    const page = await usersNeedingPassword(deps, AUTH0_SOURCE, after, o.batchSize);
    if (!page.length) break;
    for (const u of page) {
      report.count('resets', 'read');
      // A suspended user gets no reset mail: it would only be refused at sign-in.
      if (u.status !== 'active') continue;
      if (!o.dryRun) await requestByEmail(deps, { flow: 'password_reset', email: u.email }, CTX);
      report.count('resets', o.dryRun ? 'would_send' : 'queued');
    }
    after = page.at(-1)!.userId;
    done += page.length;
    c.cursors['resets'] = after;
    const cp = c.cp('resets', done);
    if (cp) await checkpointImportRun(deps, cp);
    c.progress('resets');
  }
}
