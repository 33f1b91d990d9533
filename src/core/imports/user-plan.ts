/**
 * What an import batch of users would do, decided with a handful of batched lookups (import records, owners of
 * the emails and usernames, owners of the identities, the current rows of users to update): ./users.ts runs
 * this inside the batch's transaction (or on the database for a dry run) and then writes the decisions.
 */
import { createHash, randomUUID } from 'node:crypto';
import { userIdentities } from '../store/repos/identities.js';
import { type ImportedUserState, importedUsers } from '../store/repos/imported-users.js';
import { type ImportRecord, importRecords } from '../store/repos/imports.js';
import type { Executor } from '../store/store.js';
import type { ExternalIdentity, ExternalUser } from './types.js';

export type Decision =
  | { kind: 'create'; u: ExternalUser; digest: string; id: string }
  | { kind: 'update'; u: ExternalUser; digest: string; rec: ImportRecord; state: ImportedUserState }
  | { kind: 'unchanged'; u: ExternalUser; rec: ImportRecord }
  | { kind: 'failed'; u: ExternalUser; reason: string; userId?: string };

/**
 * A time-ordered id (UUID version 7, RFC 9562: 48-bit Unix milliseconds, then random bits) for created users.
 * A million random v4 keys land all over the users primary key, import_records' local-id index and later the
 * credentials key, so SQLite's page cache thrashes once those indexes outgrow it; ids that grow with time are
 * appended at the right edge instead. The id reveals only when the import ran.
 */
export function timeOrderedId(now = Date.now()): string {
  const hex = randomUUID().replace(/-/g, '');
  const ts = now.toString(16).padStart(12, '0').slice(-12);
  const rest = `7${hex.slice(13, 16)}${((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17)}`;
  return `${ts.slice(0, 8)}-${ts.slice(8)}-${rest.slice(0, 4)}-${rest.slice(4, 8)}-${rest.slice(8)}`;
}

/** Bumped when the mapping of a field changes, so the next run rewrites every record once. */
const DIGEST_VERSION = 1;
/** Deeper metadata is refused by the mapper; this guards the digest against other callers. */
const MAX_DEPTH = 64;

/** JSON with object keys sorted at every level: equal values give equal text whatever their key order. */
export function canonical(v: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new Error(`metadata nested deeper than ${MAX_DEPTH} levels`);
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (v.constructor === Object && Object.keys(v).length === 0) return '{}';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k], depth + 1)}`).join(',')}}`;
}

export const identityKey = (i: Pick<ExternalIdentity, 'provider' | 'providerUserId'>) =>
  `${i.provider}\u0000${i.providerUserId}`;

/**
 * A stable digest of the mapped record: a later run that computes the same digest writes nothing. Covers every
 * field the import writes; of the password only whether one came (an existing password is never replaced).
 */
export function sourceHash(u: ExternalUser): string {
  const identities =
    u.identities.length < 2
      ? u.identities
      : [...u.identities].sort((a, b) =>
          identityKey(a) < identityKey(b) ? -1 : identityKey(a) > identityKey(b) ? 1 : 0,
        );
  // A fixed-order array: only the free-form objects need their keys sorted (the hot path of a re-run).
  const text = JSON.stringify([
    DIGEST_VERSION,
    u.externalId,
    u.email,
    u.emailVerified,
    u.username,
    u.firstName,
    u.lastName,
    u.displayName,
    u.nickname,
    u.pictureUrl,
    u.phoneNumber,
    u.phoneVerified,
    u.createdAt?.getTime() ?? null,
    u.lastSignInAt?.getTime() ?? null,
    u.suspended,
    canonical(u.userMetadata),
    canonical(u.appMetadata),
    identities.map((i) => [
      i.provider,
      i.providerUserId,
      i.connection,
      i.isSocial,
      canonical(i.profile ?? {}),
    ]),
    u.passwordHash !== null,
  ]);
  return createHash('sha256').update(text).digest('base64url');
}

/** Decides, for each user of the batch in order, whether it is created, updated, unchanged or failed (and why). */
export async function planUsers(
  ex: Executor,
  source: string,
  batch: readonly ExternalUser[],
): Promise<Decision[]> {
  const records = await importRecords.findMany(
    ex,
    source,
    'user',
    batch.map((u) => u.externalId),
  );
  const firstOf = new Map<string, ExternalUser>();
  const decisions: Decision[] = batch.map((u) => {
    const earlier = firstOf.get(u.externalId);
    if (earlier)
      return { kind: 'failed', u, reason: `duplicate of record ${earlier.index} (the same user id)` };
    firstOf.set(u.externalId, u);
    let digest: string;
    try {
      digest = sourceHash(u);
    } catch (err) {
      return { kind: 'failed', u, reason: (err as Error).message };
    }
    const rec = records.get(u.externalId);
    if (!rec) return { kind: 'create', u, digest, id: timeOrderedId() };
    if (rec.sourceHash === digest) return { kind: 'unchanged', u, rec };
    return { kind: 'update', u, digest, rec, state: undefined as unknown as ImportedUserState };
  });

  const updates = decisions.filter((d) => d.kind === 'update');
  const states = updates.length
    ? await importedUsers.states(
        ex,
        updates.map((d) => d.rec.localId),
      )
    : new Map<string, ImportedUserState>();
  for (const [i, d] of decisions.entries()) {
    if (d.kind !== 'update') continue;
    const state = states.get(d.rec.localId);
    if (!state)
      decisions[i] = {
        kind: 'failed',
        u: d.u,
        reason: `the Janua account this user was imported as (${d.rec.localId}) has been deleted; it is not recreated`,
      };
    else if (state.status === 'deleted')
      decisions[i] = {
        kind: 'failed',
        u: d.u,
        userId: state.id,
        reason: 'the Janua account this user was imported as is deactivated; it is not updated',
      };
    else d.state = state;
  }
  await checkConflicts(ex, source, decisions);
  return decisions;
}

/**
 * Fails every create or update whose email, username or linked identity belongs to another account — in the
 * database, or to an earlier record of this batch. Nothing is written for a failed record.
 */
async function checkConflicts(ex: Executor, source: string, decisions: Decision[]): Promise<void> {
  const live = decisions.filter((d) => d.kind === 'create' || d.kind === 'update');
  if (live.length === 0) return;
  const owners = await importedUsers.ownersOf(
    ex,
    live.map((d) => d.u.email),
    live.flatMap((d) => (d.u.username ? [d.u.username] : [])),
  );
  const emailOwner = new Map(owners.map((o) => [o.email, o.id]));
  const usernameOwner = new Map(owners.filter((o) => o.username !== null).map((o) => [o.username!, o.id]));
  const pairs = live.flatMap((d) => d.u.identities);
  const identityOwner = pairs.length ? await userIdentities.owners(ex, pairs) : new Map<string, string>();

  const claims = new Map<string, ExternalUser>();
  /** Failures caused by a database owner, explained once the owners' import records are known. */
  const byOwner: Array<{ i: number; what: string; owner: string }> = [];
  for (const [i, d] of decisions.entries()) {
    if (d.kind !== 'create' && d.kind !== 'update') continue;
    const self = d.kind === 'update' ? d.rec.localId : undefined;
    const keys: Array<[string, string, string | undefined]> = [
      [`e:${d.u.email}`, 'the email', emailOwner.get(d.u.email)],
    ];
    if (d.u.username) keys.push([`u:${d.u.username}`, 'the username', usernameOwner.get(d.u.username)]);
    for (const id of d.u.identities)
      keys.push([
        `i:${identityKey(id)}`,
        `the identity ${id.provider}|${id.providerUserId}`,
        identityOwner.get(identityKey(id)),
      ]);
    let failed = false;
    for (const [key, what, owner] of keys) {
      if (owner !== undefined && owner !== self) {
        byOwner.push({ i, what, owner });
        failed = true;
        break;
      }
      const earlier = claims.get(key);
      if (earlier) {
        decisions[i] = {
          kind: 'failed',
          u: d.u,
          reason: `${what} is also that of record ${earlier.index} (${earlier.externalId}) of this import, which came first; Janua keeps one account per ${what === 'the email' ? 'email' : what === 'the username' ? 'username' : 'identity'}`,
        };
        failed = true;
        break;
      }
    }
    if (!failed) for (const [key] of keys) claims.set(key, d.u);
  }
  if (byOwner.length === 0) return;
  const imported = await importedUsers.recordsByLocal(
    ex,
    source,
    byOwner.map((f) => f.owner),
  );
  for (const { i, what, owner } of byOwner) {
    const rec = imported.get(owner);
    const d = decisions[i]!;
    decisions[i] = {
      kind: 'failed',
      u: d.u,
      reason: rec
        ? `${what} already belongs to the user imported from ${source} as ${rec.externalId} (the source allows this across connections; Janua keeps one account per email, username and identity)`
        : `${what} already belongs to a Janua account that was not imported from ${source}; that account is left untouched`,
    };
  }
}
