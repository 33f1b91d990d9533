/**
 * Lookups and writes that only the organization importer (src/core/imports/orgs.ts) needs: batched reads of
 * slugs, users and memberships (one query per slice, not one per record) and users' `app_metadata` (migration
 * 0008), which Janua has no other writer for yet.
 */
import { json, toJson } from '../codec.js';
import type { Json } from '../schema.js';
import type { Executor } from '../store.js';

/** Well under SQLite's bound-parameter limit (see imports.ts). */
const SLICE = 500;

function slices<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  const unique = [...new Set(items)];
  for (let i = 0; i < unique.length; i += SLICE) out.push(unique.slice(i, i + SLICE));
  return out;
}

export const orgImports = {
  /** Which of `slugs` are taken, and by which organization. */
  async slugOwners(ex: Executor, slugs: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of slices(slugs)) {
      const rows = await ex
        .selectFrom('organizations')
        .select(['id', 'slug'])
        .where('slug', 'in', part)
        .execute();
      for (const r of rows) out.set(r.slug, r.id);
    }
    return out;
  },

  /** The status of each of `ids` that is a user (`deleted` users included). */
  async userStatuses(ex: Executor, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of slices(ids)) {
      const rows = await ex.selectFrom('users').select(['id', 'status']).where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, r.status);
    }
    return out;
  },

  /** The role of each of `userIds` that is a member of the organization. */
  async memberRoles(ex: Executor, orgId: string, userIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of slices(userIds)) {
      const rows = await ex
        .selectFrom('organization_members')
        .select(['user_id', 'role'])
        .where('organization_id', '=', orgId)
        .where('user_id', 'in', part)
        .execute();
      for (const r of rows) out.set(r.user_id, r.role);
    }
    return out;
  },

  /** `app_metadata` of each of `ids` that is a user. */
  async appMetadata(ex: Executor, ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const part of slices(ids)) {
      const rows = await ex
        .selectFrom('users')
        .select(['id', 'app_metadata'])
        .where('id', 'in', part)
        .execute();
      for (const r of rows) out.set(r.id, toJson<Record<string, unknown>>(r.app_metadata) ?? {});
    }
    return out;
  },

  async setAppMetadata(ex: Executor, id: string, meta: Record<string, unknown>, now: Date): Promise<void> {
    // schema.ts types the column Generated<Json>, whose update type Kysely nests wrongly; the value is JSON text
    // as for every other JSON column.
    const appMetadata = json(meta) as unknown as Json;
    await ex
      .updateTable('users')
      .set({ app_metadata: appMetadata, updated_at: now })
      .where('id', '=', id)
      .execute();
  },

  /** Adds members in multi-row statements (no one invited them: `invited_by` is null). */
  async insertMembers(
    ex: Executor,
    orgId: string,
    rows: ReadonlyArray<{ userId: string; role: string }>,
    now: Date,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += 200)
      await ex
        .insertInto('organization_members')
        .values(
          rows.slice(i, i + 200).map((r) => ({
            organization_id: orgId,
            user_id: r.userId,
            role: r.role,
            joined_at: now,
            invited_by: null,
          })),
        )
        .execute();
  },
};
