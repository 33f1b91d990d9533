/**
 * Users from another system (issue 13): upserts by external id through `import_records`, one transaction per
 * batch holding the users, their linked identities, their bcrypt hashes, the import records, the domain events,
 * one audit row and (when given) the run's checkpoint — so a batch and the record of having done it commit
 * together. A record whose digest (./user-plan.ts) is unchanged writes nothing. Few statements per batch: the
 * lookups of ./user-plan.ts, then multi-row inserts; only updated users cost a statement each.
 *
 * Password hashes from a separate export: ./passwords.ts (re-exported here).
 */
import { revokeSessions } from '../auth/revoke.js';
import { audit, type DomainEvent, emitMany, type RequestContext } from '../events/events.js';
import { importedCredentials } from '../store/repos/credentials.js';
import { userIdentities } from '../store/repos/identities.js';
import {
  type ImportedUserPatch,
  type ImportedUserRow,
  type ImportedUserState,
  importedUsers,
} from '../store/repos/imported-users.js';
import { type ImportRecord, importRecords, importRuns } from '../store/repos/imports.js';
import type { Executor } from '../store/store.js';
import { noteWritten } from './statistics.js';
import type { ExternalUser, ImportBatchOptions, ImportDeps, UserImportOutcome } from './types.js';
import { canonical, type Decision, planUsers } from './user-plan.js';

export { importPasswordHashesBatch, usersNeedingPassword } from './passwords.js';
export { sourceHash } from './user-plan.js';

/** The app_metadata keys other importers write on a user (./orgs.ts: the user's Auth0 roles); kept on update. */
const KEPT_APP_METADATA = ['auth0_roles'];

function outcomeOf(d: Decision, dryRun: boolean): UserImportOutcome {
  const base = { index: d.u.index, externalId: d.u.externalId, email: d.u.email };
  switch (d.kind) {
    case 'create':
      return dryRun ? { ...base, status: 'created' } : { ...base, status: 'created', userId: d.id };
    case 'update':
      return { ...base, status: 'updated', userId: d.rec.localId };
    case 'unchanged':
      return { ...base, status: 'unchanged', userId: d.rec.localId };
    case 'failed':
      return { ...base, status: 'failed', reason: d.reason, ...(d.userId ? { userId: d.userId } : {}) };
  }
}

function newRow(id: string, u: ExternalUser, now: Date): ImportedUserRow {
  return {
    id,
    email: u.email,
    emailVerified: u.emailVerified,
    username: u.username,
    firstName: u.firstName,
    lastName: u.lastName,
    displayName: u.displayName,
    nickname: u.nickname,
    profileImageUrl: u.pictureUrl,
    phoneNumber: u.phoneNumber,
    phoneVerified: u.phoneVerified,
    status: u.suspended ? 'suspended' : 'active',
    userMetadata: u.userMetadata,
    appMetadata: u.appMetadata,
    createdAt: u.createdAt ?? now,
    lastSignInAt: u.lastSignInAt,
  };
}

// Canonical text: Postgres's jsonb hands keys back in its own order.
const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);
const sameValue = (a: unknown, b: unknown) =>
  a instanceof Date || b instanceof Date
    ? (a as Date | null)?.getTime() === (b as Date | null)?.getTime()
    : typeof a === 'object' && a !== null
      ? sameJson(a, b)
      : a === b;

/** The fields of `state` the source changed (created_at is the original sign-up: never moved). */
function patchFor(u: ExternalUser, state: ImportedUserState): ImportedUserPatch {
  const want = newRow(state.id, u, state.createdAt);
  const appMetadata = { ...want.appMetadata };
  for (const k of KEPT_APP_METADATA) if (k in state.appMetadata) appMetadata[k] = state.appMetadata[k];
  // A sign-in at Janua since the last run is newer than the source's: the later of the two stays.
  const lastSignInAt =
    state.lastSignInAt && (!want.lastSignInAt || state.lastSignInAt > want.lastSignInAt)
      ? state.lastSignInAt
      : want.lastSignInAt;
  const target: ImportedUserPatch = { ...want, appMetadata, lastSignInAt };
  delete (target as Partial<ImportedUserRow>).id;
  delete (target as Partial<ImportedUserRow>).createdAt;
  const patch: ImportedUserPatch = {};
  for (const [k, v] of Object.entries(target) as Array<[keyof ImportedUserPatch, unknown]>)
    if (!sameValue(v, state[k])) (patch as Record<string, unknown>)[k] = v;
  return patch;
}

/** Writes the decisions of one batch in `tx`; returns nothing, the decisions are the outcome. */
async function writeDecisions(
  tx: Executor,
  source: string,
  decisions: readonly Decision[],
  opts: ImportBatchOptions,
  ctx: RequestContext,
  now: Date,
): Promise<void> {
  const creates = decisions.filter((d) => d.kind === 'create');
  const updates = decisions.filter((d) => d.kind === 'update');
  await importedUsers.insertMany(
    tx,
    creates.map((d) => newRow(d.id, d.u, now)),
    now,
  );
  const events: DomainEvent[] = creates.map((d) => ({
    type: 'user.created',
    aggregate: { type: 'user', id: d.id },
    payload: { user_id: d.id, email: d.u.email, source },
  }));
  for (const d of updates) {
    const patch = patchFor(d.u, d.state);
    const fields = Object.keys(patch);
    if (fields.length === 0) continue;
    await importedUsers.update(tx, d.state.id, patch, now);
    const aggregate = { type: 'user', id: d.state.id };
    events.push({ type: 'user.updated', aggregate, payload: { user_id: d.state.id, fields, source } });
    if (patch.status === 'suspended') {
      // As an administrator's suspension does: the account's tokens stop at once.
      await revokeSessions(tx, d.state.id, 'user_suspended', now);
      events.push({
        type: 'user.suspended',
        aggregate,
        payload: { user_id: d.state.id, email: d.u.email, source },
      });
    } else if (patch.status === 'active') {
      events.push({
        type: 'user.reactivated',
        aggregate,
        payload: { user_id: d.state.id, email: d.u.email, source },
      });
    }
  }
  const live = [
    ...creates.map((d) => ({ d, userId: d.id, needed: true })),
    ...updates.map((d) => ({ d, userId: d.rec.localId, needed: d.rec.needsPassword })),
  ];
  await userIdentities.insertMany(
    tx,
    live.flatMap(({ d, userId }) => d.u.identities.map((i) => ({ ...i, userId }))),
    now,
  );
  await importedCredentials.insertAbsent(
    tx,
    live
      .filter(({ d, needed }) => needed && d.u.passwordHash)
      .map(({ d, userId }) => ({ userId, hash: d.u.passwordHash! })),
    now,
  );
  const records: ImportRecord[] = live.map(({ d, userId, needed }) => ({
    source,
    kind: 'user',
    externalId: d.u.externalId,
    localId: userId,
    sourceHash: d.digest,
    needsPassword: needed && !d.u.passwordHash,
  }));
  await importRecords.upsertMany(tx, records, now);
  await emitMany(tx, events, now);
  const count = (k: Decision['kind']) => decisions.filter((d) => d.kind === k).length;
  await audit(
    tx,
    ctx,
    {
      action: 'user.migrate',
      targetType: 'user',
      metadata: {
        source,
        created: creates.length,
        updated: updates.length,
        unchanged: count('unchanged'),
        failed: count('failed'),
        first_index: decisions[0]!.u.index,
        last_index: decisions.at(-1)!.u.index,
      },
    },
    now,
  );
  if (opts.checkpoint) await importRuns.checkpoint(tx, opts.checkpoint.runId, opts.checkpoint, now);
}

/**
 * Imports one batch of mapped users (see the module comment). Returns one outcome per input user, in input
 * order. A record the database refuses (a constraint the lookups could not foresee, a race with a sign-up)
 * rolls the batch back, and the batch is retried record by record so only that one fails.
 */
export async function importUsersBatch(
  deps: ImportDeps,
  source: string,
  batch: ExternalUser[],
  opts: ImportBatchOptions,
  ctx: RequestContext,
): Promise<UserImportOutcome[]> {
  if (batch.length === 0) {
    if (opts.checkpoint && !opts.dryRun) await checkpointOnly(deps, opts);
    return [];
  }
  if (opts.dryRun) return (await planUsers(deps.store.db, source, batch)).map((d) => outcomeOf(d, true));
  const now = deps.clock.now();
  try {
    const decisions = await deps.store.transaction(async (tx) => {
      const planned = await planUsers(tx, source, batch);
      // Nothing to write (a re-run): no audit row, no events; only the checkpoint moves on.
      if (planned.every((d) => d.kind === 'unchanged' || d.kind === 'failed')) {
        if (opts.checkpoint) await importRuns.checkpoint(tx, opts.checkpoint.runId, opts.checkpoint, now);
      } else await writeDecisions(tx, source, planned, opts, ctx, now);
      return planned;
    });
    await noteWritten(deps.store, decisions.filter((d) => d.kind === 'create' || d.kind === 'update').length);
    return decisions.map((d) => outcomeOf(d, false));
  } catch (err) {
    const reason = `the database refused it: ${(err as Error).message}`;
    if (batch.length === 1) return [{ ...outcomeOf({ kind: 'failed', u: batch[0]!, reason }, false) }];
    const out: UserImportOutcome[] = [];
    const single = { dryRun: false };
    for (const u of batch) out.push(...(await importUsersBatch(deps, source, [u], single, ctx)));
    // Records written one by one have committed already; the checkpoint follows them (a crash in between
    // redoes the batch, which finds them unchanged).
    if (opts.checkpoint) await checkpointOnly(deps, opts);
    return out;
  }
}

async function checkpointOnly(deps: ImportDeps, opts: ImportBatchOptions): Promise<void> {
  const cp = opts.checkpoint!;
  const now = deps.clock.now();
  await deps.store.transaction((tx) => importRuns.checkpoint(tx, cp.runId, cp, now));
}
