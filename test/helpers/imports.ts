/** A store and what the organization-import contract tests share: users as the users importer leaves them. */
import { randomUUID } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { importOrganizationsBatch } from '../../src/core/imports/orgs.js';
import {
  AUTH0_SOURCE,
  type ExternalOrganization,
  type ExternalRole,
  type ImportDeps,
} from '../../src/core/imports/types.js';
import { importRecords } from '../../src/core/store/repos/imports.js';
import { users } from '../../src/core/store/repos/users.js';
import { at, type TestStore, testStore } from './store.js';

export const S = AUTH0_SOURCE;
export const write = { dryRun: false };
const TABLES = [
  'organizations',
  'organization_members',
  'organization_roles',
  'import_records',
  'outbox',
  'audit_events',
  'import_runs',
] as const;

export const uid = () => randomUUID().slice(0, 8);

export function org(externalId: string, slug: string, name = `Org ${slug}`, index = 1): ExternalOrganization {
  return { index, externalId, name, slug, logoUrl: null, metadata: { tier: 'gold' } };
}

export function role(externalId: string, name: string, permissions: string[] = []): ExternalRole {
  return { externalId, name, description: null, permissions };
}

// biome-ignore lint/suspicious/noExplicitAny: event payloads, asserted field by field
export const payload = (ev: { payload: unknown }): any =>
  typeof ev.payload === 'string' ? JSON.parse(ev.payload) : ev.payload;

export interface ImportFixture {
  t: TestStore;
  deps: ImportDeps;
  clock: FixedClock;
  /** Rows in every table an import writes. */
  counts(): Promise<Record<string, number>>;
  events(type: string, aggregateId: string): Promise<Array<{ payload: unknown }>>;
  /** Users as the users importer leaves them: a row and its import record. */
  migratedUsers(n: number): Promise<Array<{ externalId: string; id: string }>>;
  importedOrg(): Promise<{ externalId: string; id: string }>;
}

export async function importFixture(dialect: 'sqlite' | 'postgres'): Promise<ImportFixture> {
  const t = await testStore(dialect);
  const clock = new FixedClock(at(0));
  const deps: ImportDeps = { store: t.store, clock };
  const f: ImportFixture = {
    t,
    deps,
    clock,
    async counts() {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const r = await t.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(r.n);
      }
      return out;
    },
    async events(type, aggregateId) {
      return t.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('event_type', '=', type)
        .where('aggregate_id', '=', aggregateId)
        .execute();
    },
    async migratedUsers(n) {
      const out = [];
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        const externalId = `auth0|${uid()}`;
        await users.insert(t.store.db, { id, email: `${uid()}@example.com`, now: clock.now() });
        out.push({ externalId, id });
      }
      await importRecords.upsertMany(
        t.store.db,
        out.map((u) => ({
          source: S,
          kind: 'user' as const,
          externalId: u.externalId,
          localId: u.id,
          sourceHash: 'h',
          needsPassword: false,
        })),
        clock.now(),
      );
      return out;
    },
    async importedOrg() {
      const externalId = `org_${uid()}`;
      const [o] = await importOrganizationsBatch(
        deps,
        S,
        [org(externalId, `o-${uid()}`)],
        write,
        CLI_CONTEXT,
      );
      return { externalId, id: o!.organizationId! };
    },
  };
  return f;
}
