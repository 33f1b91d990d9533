/**
 * Importing organizations, roles and memberships (src/core/imports/orgs.ts) on every dialect: slugs and their
 * conflicts, re-runs that write nothing, custom and built-in roles, several roles per member, members whose user
 * was not migrated, dry runs, checkpoints in the batch's transaction and tenant roles in app_metadata.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import {
  importMembershipsBatch,
  importOrganizationsBatch,
  importTenantRoles,
  slugCandidates,
} from '../../src/core/imports/orgs.js';
import {
  AUTH0_SOURCE,
  type ExternalOrganization,
  type ExternalRole,
  type ImportDeps,
} from '../../src/core/imports/types.js';
import { importRecords, importRuns } from '../../src/core/store/repos/imports.js';
import { orgImports } from '../../src/core/store/repos/org-imports.js';
import { members, organizations, orgRoles } from '../../src/core/store/repos/organizations.js';
import { users } from '../../src/core/store/repos/users.js';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { at, type TestStore, testStore } from '../helpers/store.js';

const S = AUTH0_SOURCE;
const write = { dryRun: false };
const TABLES = [
  'organizations',
  'organization_members',
  'organization_roles',
  'import_records',
  'outbox',
  'audit_events',
  'import_runs',
] as const;

const uid = () => randomUUID().slice(0, 8);

function org(externalId: string, slug: string, name = `Org ${slug}`, index = 1): ExternalOrganization {
  return { index, externalId, name, slug, logoUrl: null, metadata: { tier: 'gold' } };
}

function role(externalId: string, name: string, permissions: string[] = []): ExternalRole {
  return { externalId, name, description: null, permissions };
}

for (const dialect of dialects()) {
  describe(`organization imports (${dialect})`, () => {
    let t: TestStore;
    let deps: ImportDeps;
    const clock = new FixedClock(at(0));
    before(async () => {
      t = await testStore(dialect);
      deps = { store: t.store, clock };
    });
    after(() => t.close());

    async function counts(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const r = await t.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(r.n);
      }
      return out;
    }

    async function events(type: string, aggregateId: string) {
      return t.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('event_type', '=', type)
        .where('aggregate_id', '=', aggregateId)
        .execute();
    }

    // biome-ignore lint/suspicious/noExplicitAny: event payloads, asserted field by field
    const payload = (ev: { payload: unknown }): any =>
      typeof ev.payload === 'string' ? JSON.parse(ev.payload) : ev.payload;

    /** Users as the users importer leaves them: a row and its import record. */
    async function migratedUsers(n: number): Promise<Array<{ externalId: string; id: string }>> {
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
          kind: 'user',
          externalId: u.externalId,
          localId: u.id,
          sourceHash: 'h',
          needsPassword: false,
        })),
        clock.now(),
      );
      return out;
    }

    async function importedOrg(): Promise<{ externalId: string; id: string }> {
      const externalId = `org_${uid()}`;
      const [o] = await importOrganizationsBatch(
        deps,
        S,
        [org(externalId, `o-${uid()}`)],
        write,
        CLI_CONTEXT,
      );
      return { externalId, id: o!.organizationId! };
    }

    it('creates organizations with their slugs, an organization.created event and an audit row each', async () => {
      const a = `org_${uid()}`;
      const b = `org_${uid()}`;
      const before = await counts();
      const out = await importOrganizationsBatch(
        deps,
        S,
        [
          org(b, `beta-${uid()}`, 'Beta', 2),
          { ...org(a, `acme-${uid()}`, 'Acme', 1), logoUrl: 'https://x.test/l.png' },
        ],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => [o.index, o.externalId, o.status]),
        [
          [1, a, 'created'],
          [2, b, 'created'],
        ],
      );
      const acme = await organizations.findById(t.store.db, out[0]!.organizationId!);
      assert.ok(acme);
      assert.equal(acme.name, 'Acme');
      assert.equal(acme.slug, out[0]!.slug);
      assert.match(acme.slug, /^acme-/);
      assert.equal(acme.logoUrl, 'https://x.test/l.png');
      assert.deepEqual(acme.metadata, { tier: 'gold' });
      assert.equal(acme.createdBy, null);
      const [ev] = await events('organization.created', acme.id);
      assert.ok(ev);
      assert.equal(payload(ev).external_id, a);
      const after = await counts();
      assert.equal(after['organizations']! - before['organizations']!, 2);
      assert.equal(after['audit_events']! - before['audit_events']!, 2);
      assert.equal(after['organization_members'], before['organization_members'], 'no owner is invented');
      const recs = await importRecords.findMany(t.store.db, S, 'organization', [a, b]);
      assert.equal(recs.get(a)?.localId, acme.id);
    });

    it('a slug taken by another organization gets the same hash suffix on every run', async () => {
      const slug = `taken-${uid()}`;
      await organizations.insert(t.store.db, {
        id: randomUUID(),
        name: 'Local',
        slug,
        description: null,
        logoUrl: null,
        metadata: {},
        createdBy: null,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      const x = org(`org_${uid()}`, slug, 'X', 1);
      const y = org(`org_${uid()}`, `dup-${uid()}`, 'Y1', 2);
      const z = { ...org(`org_${uid()}`, y.slug, 'Y2', 3) };
      const dry = await importOrganizationsBatch(deps, S, [x, y, z], { dryRun: true }, CLI_CONTEXT);
      const out = await importOrganizationsBatch(deps, S, [x, y, z], write, CLI_CONTEXT);
      assert.deepEqual(
        out.map((o) => o.slug),
        [slugCandidates(x)[1], y.slug, slugCandidates(z)[1]],
      );
      assert.match(out[0]!.slug!, new RegExp(`^${slug}-[0-9a-f]{8}$`));
      assert.deepEqual(
        dry.map((o) => o.slug),
        out.map((o) => o.slug),
        'a dry run predicts the same slugs',
      );
      const again = await importOrganizationsBatch(deps, S, [x, y, z], write, CLI_CONTEXT);
      assert.deepEqual(
        again.map((o) => [o.status, o.slug]),
        out.map((o) => ['unchanged', o.slug]),
      );
    });

    it('a re-run with the same input writes nothing; a changed display name updates the organization', async () => {
      const o = org(`org_${uid()}`, `rerun-${uid()}`, 'Before');
      const t0 = clock.now();
      const [first] = await importOrganizationsBatch(deps, S, [o], write, CLI_CONTEXT);
      const before = await counts();
      clock.advance(1000);
      const [second] = await importOrganizationsBatch(deps, S, [o], write, CLI_CONTEXT);
      assert.equal(second!.status, 'unchanged');
      assert.deepEqual(await counts(), before);
      const row = await organizations.findById(t.store.db, first!.organizationId!);
      assert.equal(row!.updatedAt.getTime(), t0.getTime(), 'not touched');
      const [third] = await importOrganizationsBatch(deps, S, [{ ...o, name: 'After' }], write, CLI_CONTEXT);
      assert.equal(third!.status, 'updated');
      assert.equal(third!.slug, first!.slug);
      const updated = await organizations.findById(t.store.db, first!.organizationId!);
      assert.equal(updated!.name, 'After');
      assert.equal(updated!.updatedAt.getTime(), clock.now().getTime());
      const evs = await events('organization.updated', first!.organizationId!);
      assert.equal(evs.length, 1);
      assert.deepEqual(payload(evs[0]!).fields, ['name']);
    });

    it('refuses bad organizations and duplicates; the rest of the batch goes in', async () => {
      const good = org(`org_${uid()}`, `good-${uid()}`, 'Good', 1);
      const out = await importOrganizationsBatch(
        deps,
        S,
        [
          good,
          { ...org(`org_${uid()}`, 'Not A Slug', 'Bad', 2) },
          { ...good, index: 3 },
          org(`org_${uid()}`, `c-${uid()}`, 'A\u0007', 4),
        ],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'failed', 'failed'],
      );
      assert.match(out[1]!.reason!, /is not a slug/);
      assert.equal(out[2]!.reason, 'duplicate of an earlier record');
      assert.match(out[3]!.reason!, /control characters/);
    });

    it('members: built-in roles by name, custom roles with their permissions, member by default', async () => {
      const o = await importedOrg();
      const [u1, u2, u3] = await migratedUsers(3);
      const roles = new Map(
        [role('rol_adm', 'Admin'), role('rol_ed', 'Content Editor', ['write:posts', 'read:posts'])].map(
          (r) => [r.externalId, r],
        ),
      );
      const out = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [
          { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['rol_ed'] },
          { index: 2, userExternalId: u2!.externalId, roleExternalIds: ['rol_adm'] },
          { index: 3, userExternalId: u3!.externalId, roleExternalIds: [] },
        ],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((m) => [m.status, m.role]),
        [
          ['created', 'content-editor'],
          ['created', 'admin'],
          ['created', 'member'],
        ],
      );
      const ed = await orgRoles.findByName(t.store.db, o.id, 'content-editor');
      assert.ok(ed);
      assert.deepEqual(ed.permissions, ['read:posts', 'write:posts']);
      assert.equal((await orgRoles.list(t.store.db, o.id)).length, 1, 'no custom role for a built-in');
      assert.equal(await organizations.memberRole(t.store.db, o.id, u1!.id), 'content-editor');
      assert.equal(await organizations.memberRole(t.store.db, o.id, u2!.id), 'admin');
      const rec = (await importRecords.findMany(t.store.db, S, 'role', [`${o.externalId}:rol_ed`])).get(
        `${o.externalId}:rol_ed`,
      );
      assert.equal(rec?.localId, ed.id);
      assert.equal((await events('organization.member.added', o.id)).length, 3);
      assert.equal((await events('organization.role.created', o.id)).length, 1);

      // Same input again: nothing written.
      const before = await counts();
      const again = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['rol_ed'] }],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.equal(again[0]!.status, 'unchanged');
      assert.deepEqual(await counts(), before);

      // The Auth0 role's permissions changed: the custom role follows; the membership stays.
      clock.advance(1000);
      const changed = new Map(roles).set(
        'rol_ed',
        role('rol_ed', 'Content Editor', ['read:posts', 'publish:posts']),
      );
      const third = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['rol_ed'] }],
        changed,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual([third[0]!.status, third[0]!.role], ['unchanged', 'content-editor']);
      const ed2 = await orgRoles.findById(t.store.db, ed.id);
      assert.deepEqual(ed2!.permissions, ['publish:posts', 'read:posts']);
      assert.equal((await events('organization.role.updated', o.id)).length, 1);
    });

    it('several roles: a built-in that covers them, else one composite role per combination, with a warning', async () => {
      const o = await importedOrg();
      const [u1, u2, u3] = await migratedUsers(3);
      const roles = new Map(
        [
          role('r_v', 'Viewer'),
          role('r_a', 'admin'),
          role('r_w', 'Writer', ['write:posts']),
          role('r_r', 'Reader', ['read:posts']),
        ].map((r) => [r.externalId, r]),
      );
      const out = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [
          { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_w', 'r_r'] },
          { index: 2, userExternalId: u2!.externalId, roleExternalIds: ['r_r', 'r_w'] },
          { index: 3, userExternalId: u3!.externalId, roleExternalIds: ['r_v', 'r_a'] },
        ],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((m) => m.role),
        ['reader__writer', 'reader__writer', 'admin'],
      );
      assert.match(out[0]!.warnings![0]!, /holds 2 roles \(Reader, Writer\)/);
      assert.match(out[2]!.warnings![0]!, /"admin" covers them all/);
      const custom = await orgRoles.list(t.store.db, o.id);
      assert.deepEqual(
        custom.map((r) => r.name),
        ['reader__writer'],
        'one composite, no single roles needed',
      );
      assert.deepEqual(custom[0]!.permissions, ['read:posts', 'write:posts']);
    });

    it('a member whose user was not migrated fails; so does every member of an organization not migrated', async () => {
      const o = await importedOrg();
      const [u1] = await migratedUsers(1);
      const out = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [
          { index: 1, userExternalId: 'auth0|never-imported', roleExternalIds: [] },
          { index: 2, userExternalId: u1!.externalId, roleExternalIds: [] },
        ],
        new Map(),
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((m) => [m.status, m.reason]),
        [
          ['failed', 'user not migrated'],
          ['created', undefined],
        ],
      );
      const none = await importMembershipsBatch(
        deps,
        S,
        'org_missing',
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: [] }],
        new Map(),
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        none.map((m) => [m.status, m.reason]),
        [['failed', 'organization not migrated']],
      );
    });

    it('a dry run reports what a real run would do and writes nothing', async () => {
      const o = await importedOrg();
      const [u1] = await migratedUsers(1);
      const roles = new Map([role('r_x', 'Auditor', ['read:books'])].map((r) => [r.externalId, r]));
      const newOrg = org(`org_${uid()}`, `dry-${uid()}`);
      const checkpoint = { runId: randomUUID(), phase: 'orgs', position: 9, stats: {} };
      await importRuns.insert(
        t.store.db,
        { id: checkpoint.runId, source: S, inputKey: 'k', phase: 'users' },
        clock.now(),
      );
      const before = await counts();
      const dry = { dryRun: true, checkpoint };
      const orgsOut = await importOrganizationsBatch(deps, S, [newOrg], dry, CLI_CONTEXT);
      const membersOut = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_x'] }],
        roles,
        dry,
        CLI_CONTEXT,
      );
      const tenant = await importTenantRoles(
        deps,
        S,
        role('r_t', 'Staff'),
        [u1!.externalId],
        dry,
        CLI_CONTEXT,
      );
      assert.equal(orgsOut[0]!.status, 'created');
      assert.deepEqual([membersOut[0]!.status, membersOut[0]!.role], ['created', 'auditor']);
      assert.equal(tenant[0]!.status, 'updated');
      assert.deepEqual(await counts(), before);
      const run = await importRuns.findById(t.store.db, checkpoint.runId);
      assert.equal(run!.phase, 'users', 'no checkpoint either');
    });

    it('the checkpoint commits in the batch transaction', async () => {
      let transactions = 0;
      const seen: number[] = [];
      let runId = '';
      // The real store; its transaction also reads the run's position as the batch starts and as it ends.
      const counting: Store = {
        ...t.store,
        transaction: (fn) =>
          t.store.transaction(async (tx) => {
            transactions++;
            seen.push((await importRuns.findById(tx, runId))!.position);
            const result = await fn(tx);
            seen.push((await importRuns.findById(tx, runId))!.position);
            return result;
          }),
      };
      const d: ImportDeps = { store: counting, clock };
      runId = randomUUID();
      await importRuns.insert(
        t.store.db,
        { id: runId, source: S, inputKey: `k-${uid()}`, phase: 'orgs' },
        clock.now(),
      );
      const o = org(`org_${uid()}`, `cp-${uid()}`);
      const cp = { runId, phase: 'orgs', position: 1, stats: { created: 1 } };
      const [out] = await importOrganizationsBatch(d, S, [o], { dryRun: false, checkpoint: cp }, CLI_CONTEXT);
      assert.equal(transactions, 1, 'one transaction for the batch and its checkpoint');
      assert.deepEqual(seen, [0, 1], 'the checkpoint was written inside it');
      assert.equal(out!.status, 'created');
      const run = await importRuns.findById(t.store.db, runId);
      assert.deepEqual([run!.phase, run!.position, run!.stats], ['orgs', 1, { created: 1 }]);
      const [u1] = await migratedUsers(1);
      transactions = 0;
      await importMembershipsBatch(
        d,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: [] }],
        new Map(),
        { dryRun: false, checkpoint: { ...cp, phase: 'members', position: 5 } },
        CLI_CONTEXT,
      );
      assert.equal(transactions, 1);
      assert.deepEqual(seen, [0, 1, 1, 5]);
      assert.equal((await importRuns.findById(t.store.db, runId))!.position, 5);
    });

    it('a custom role name used by a role made in Janua gets a hash of the source role', async () => {
      const o = await importedOrg();
      const [u1] = await migratedUsers(1);
      await orgRoles.insert(t.store.db, {
        id: randomUUID(),
        organizationId: o.id,
        name: 'editor',
        description: 'made by hand',
        permissions: ['members:read'],
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      const roles = new Map([role('r_e', 'Editor', ['write:posts'])].map((r) => [r.externalId, r]));
      const m = { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_e'] };
      const [out] = await importMembershipsBatch(deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.match(out!.role!, /^editor-[0-9a-f]{8}$/);
      const mine = await orgRoles.findByName(t.store.db, o.id, out!.role!);
      assert.deepEqual(mine!.permissions, ['write:posts']);
      assert.deepEqual((await orgRoles.findByName(t.store.db, o.id, 'editor'))!.permissions, [
        'members:read',
      ]);
      const [again] = await importMembershipsBatch(deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.deepEqual([again!.status, again!.role], ['unchanged', out!.role]);
    });

    it('a record the write refuses fails alone; the others and the checkpoint commit', async () => {
      const runId = randomUUID();
      await importRuns.insert(
        t.store.db,
        { id: runId, source: S, inputKey: `k-${uid()}`, phase: 'orgs' },
        clock.now(),
      );
      const good1 = org(`org_${uid()}`, `iso-${uid()}`, 'One', 1);
      const bad = { ...org(`org_${uid()}`, `iso-${uid()}`, 'Bad', 2), metadata: { n: 10n } };
      const good2 = org(`org_${uid()}`, `iso-${uid()}`, 'Two', 3);
      const out = await importOrganizationsBatch(
        deps,
        S,
        [good1, bad, good2],
        { dryRun: false, checkpoint: { runId, phase: 'orgs', position: 3, stats: {} } },
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'created'],
      );
      assert.match(out[1]!.reason!, /BigInt/);
      assert.ok(await organizations.findBySlug(t.store.db, good2.slug));
      assert.equal(await organizations.findBySlug(t.store.db, bad.slug), undefined);
      assert.equal((await importRuns.findById(t.store.db, runId))!.position, 3);
    });

    it('owners: a role given in Janua is kept while the source is unchanged; the last owner is never demoted', async () => {
      const o = await importedOrg();
      const [u1] = await migratedUsers(1);
      const m = { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_a'] };
      const roles = new Map([role('r_a', 'Admin'), role('r_v', 'Viewer')].map((r) => [r.externalId, r]));
      await importMembershipsBatch(deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      await members.setRole(t.store.db, o.id, u1!.id, 'owner'); // an operator hands the organization over
      const same = await importMembershipsBatch(deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.deepEqual([same[0]!.status, same[0]!.role], ['unchanged', 'owner']);
      const demoted = await importMembershipsBatch(
        deps,
        S,
        o.externalId,
        [{ ...m, roleExternalIds: ['r_v'] }],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual([demoted[0]!.status, demoted[0]!.role], ['unchanged', 'owner']);
      assert.match(demoted[0]!.warnings!.join(' '), /at least one owner/);
      assert.equal(await organizations.memberRole(t.store.db, o.id, u1!.id), 'owner');
    });

    it('tenant roles go to app_metadata.auth0_roles, sorted and merged; a re-run writes nothing', async () => {
      const [u1, u2] = await migratedUsers(2);
      await orgImports.setAppMetadata(
        t.store.db,
        u1!.id,
        { plan: 'pro', auth0_roles: ['Zeta'] },
        clock.now(),
      );
      const out = await importTenantRoles(
        deps,
        S,
        role('rol_s', 'Support'),
        [u1!.externalId, 'auth0|nobody', u2!.externalId],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => [o.index, o.status]),
        [
          [1, 'updated'],
          [2, 'failed'],
          [3, 'updated'],
        ],
      );
      assert.equal(out[1]!.reason, 'user not migrated');
      const meta = await orgImports.appMetadata(t.store.db, [u1!.id, u2!.id]);
      assert.deepEqual(meta.get(u1!.id), { plan: 'pro', auth0_roles: ['Support', 'Zeta'] });
      assert.deepEqual(meta.get(u2!.id), { auth0_roles: ['Support'] });
      await importTenantRoles(deps, S, role('rol_a', 'Alpha'), [u2!.externalId], write, CLI_CONTEXT);
      assert.deepEqual((await orgImports.appMetadata(t.store.db, [u2!.id])).get(u2!.id), {
        auth0_roles: ['Alpha', 'Support'],
      });
      const before = await counts();
      const again = await importTenantRoles(
        deps,
        S,
        role('rol_s', 'Support'),
        [u1!.externalId, u2!.externalId],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        again.map((o) => o.status),
        ['unchanged', 'unchanged'],
      );
      assert.deepEqual(await counts(), before);
      assert.equal((await events('user.updated', u1!.id)).length, 1);
    });
  });
}
