/**
 * Importing memberships and roles (src/core/imports/orgs.ts, org-roles.ts) on every dialect: built-in and custom
 * roles, several roles per member, members whose user was not migrated, role-name conflicts, owners, and tenant
 * roles in app_metadata.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { importMembershipsBatch, importTenantRoles } from '../../src/core/imports/orgs.js';
import { importRecords } from '../../src/core/store/repos/imports.js';
import { orgImports } from '../../src/core/store/repos/org-imports.js';
import { members, organizations, orgRoles } from '../../src/core/store/repos/organizations.js';
import { dialects } from '../helpers/db.js';
import { type ImportFixture, importFixture, role, S, write } from '../helpers/imports.js';

for (const dialect of dialects()) {
  describe(`membership and role imports (${dialect})`, () => {
    let f: ImportFixture;
    before(async () => {
      f = await importFixture(dialect);
    });
    after(() => f.t.close());

    it('members: built-in roles by name, custom roles with their permissions, member by default', async () => {
      const o = await f.importedOrg();
      const [u1, u2, u3] = await f.migratedUsers(3);
      const roles = new Map(
        [role('rol_adm', 'Admin'), role('rol_ed', 'Content Editor', ['write:posts', 'read:posts'])].map(
          (r) => [r.externalId, r],
        ),
      );
      const out = await importMembershipsBatch(
        f.deps,
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
      const ed = await orgRoles.findByName(f.t.store.db, o.id, 'content-editor');
      assert.ok(ed);
      assert.deepEqual(ed.permissions, ['read:posts', 'write:posts']);
      assert.equal((await orgRoles.list(f.t.store.db, o.id)).length, 1, 'no custom role for a built-in');
      assert.equal(await organizations.memberRole(f.t.store.db, o.id, u1!.id), 'content-editor');
      assert.equal(await organizations.memberRole(f.t.store.db, o.id, u2!.id), 'admin');
      const rec = (await importRecords.findMany(f.t.store.db, S, 'role', [`${o.externalId}:rol_ed`])).get(
        `${o.externalId}:rol_ed`,
      );
      assert.equal(rec?.localId, ed.id);
      assert.equal((await f.events('organization.member.added', o.id)).length, 3, 'one event per member');
      const audits = await f.t.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'organization.member.import')
        .where('target_id', '=', o.id)
        .execute();
      assert.equal(audits.length, 1, 'one audit row for the batch');
      assert.equal((await f.events('organization.role.created', o.id)).length, 1);

      // Same input again: nothing written.
      const before = await f.counts();
      const again = await importMembershipsBatch(
        f.deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['rol_ed'] }],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.equal(again[0]!.status, 'unchanged');
      assert.deepEqual(await f.counts(), before);

      // The Auth0 role's permissions changed: the custom role follows; the membership stays.
      f.clock.advance(1000);
      const changed = new Map(roles).set(
        'rol_ed',
        role('rol_ed', 'Content Editor', ['read:posts', 'publish:posts']),
      );
      const third = await importMembershipsBatch(
        f.deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['rol_ed'] }],
        changed,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual([third[0]!.status, third[0]!.role], ['unchanged', 'content-editor']);
      const ed2 = await orgRoles.findById(f.t.store.db, ed.id);
      assert.deepEqual(ed2!.permissions, ['publish:posts', 'read:posts']);
      assert.equal((await f.events('organization.role.updated', o.id)).length, 1);
    });

    it('several roles: a built-in that covers them, else one composite role per combination, with a warning', async () => {
      const o = await f.importedOrg();
      const [u1, u2, u3] = await f.migratedUsers(3);
      const roles = new Map(
        [
          role('r_v', 'Viewer'),
          role('r_a', 'admin'),
          role('r_w', 'Writer', ['write:posts']),
          role('r_r', 'Reader', ['read:posts']),
        ].map((r) => [r.externalId, r]),
      );
      const out = await importMembershipsBatch(
        f.deps,
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
      const custom = await orgRoles.list(f.t.store.db, o.id);
      assert.deepEqual(
        custom.map((r) => r.name),
        ['reader__writer'],
        'one composite, no single roles needed',
      );
      assert.deepEqual(custom[0]!.permissions, ['read:posts', 'write:posts']);
    });

    it('a member whose user was not migrated fails; so does every member of an organization not migrated', async () => {
      const o = await f.importedOrg();
      const [u1] = await f.migratedUsers(1);
      const out = await importMembershipsBatch(
        f.deps,
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
        f.deps,
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

    it('a custom role name used by a role made in Janua gets a hash of the source role', async () => {
      const o = await f.importedOrg();
      const [u1] = await f.migratedUsers(1);
      await orgRoles.insert(f.t.store.db, {
        id: randomUUID(),
        organizationId: o.id,
        name: 'editor',
        description: 'made by hand',
        permissions: ['members:read'],
        createdAt: f.clock.now(),
        updatedAt: f.clock.now(),
      });
      const roles = new Map([role('r_e', 'Editor', ['write:posts'])].map((r) => [r.externalId, r]));
      const m = { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_e'] };
      const [out] = await importMembershipsBatch(f.deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.match(out!.role!, /^editor-[0-9a-f]{8}$/);
      const mine = await orgRoles.findByName(f.t.store.db, o.id, out!.role!);
      assert.deepEqual(mine!.permissions, ['write:posts']);
      assert.deepEqual((await orgRoles.findByName(f.t.store.db, o.id, 'editor'))!.permissions, [
        'members:read',
      ]);
      const [again] = await importMembershipsBatch(f.deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.deepEqual([again!.status, again!.role], ['unchanged', out!.role]);
    });

    it('owners: a role given in Janua is kept while the source is unchanged; the last owner is never demoted', async () => {
      const o = await f.importedOrg();
      const [u1] = await f.migratedUsers(1);
      const m = { index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_a'] };
      const roles = new Map([role('r_a', 'Admin'), role('r_v', 'Viewer')].map((r) => [r.externalId, r]));
      await importMembershipsBatch(f.deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      await members.setRole(f.t.store.db, o.id, u1!.id, 'owner'); // an operator hands the organization over
      const same = await importMembershipsBatch(f.deps, S, o.externalId, [m], roles, write, CLI_CONTEXT);
      assert.deepEqual([same[0]!.status, same[0]!.role], ['unchanged', 'owner']);
      const demoted = await importMembershipsBatch(
        f.deps,
        S,
        o.externalId,
        [{ ...m, roleExternalIds: ['r_v'] }],
        roles,
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual([demoted[0]!.status, demoted[0]!.role], ['unchanged', 'owner']);
      assert.match(demoted[0]!.warnings!.join(' '), /at least one owner/);
      assert.equal(await organizations.memberRole(f.t.store.db, o.id, u1!.id), 'owner');
    });

    it('tenant roles go to app_metadata.auth0_roles, sorted and merged; a re-run writes nothing', async () => {
      const [u1, u2] = await f.migratedUsers(2);
      await orgImports.setAppMetadata(
        f.t.store.db,
        u1!.id,
        { plan: 'pro', auth0_roles: ['Zeta'] },
        f.clock.now(),
      );
      const out = await importTenantRoles(
        f.deps,
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
      const meta = await orgImports.appMetadata(f.t.store.db, [u1!.id, u2!.id]);
      assert.deepEqual(meta.get(u1!.id), { plan: 'pro', auth0_roles: ['Support', 'Zeta'] });
      assert.deepEqual(meta.get(u2!.id), { auth0_roles: ['Support'] });
      await importTenantRoles(f.deps, S, role('rol_a', 'Alpha'), [u2!.externalId], write, CLI_CONTEXT);
      assert.deepEqual((await orgImports.appMetadata(f.t.store.db, [u2!.id])).get(u2!.id), {
        auth0_roles: ['Alpha', 'Support'],
      });
      const before = await f.counts();
      const again = await importTenantRoles(
        f.deps,
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
      assert.deepEqual(await f.counts(), before);
      assert.equal((await f.events('user.updated', u1!.id)).length, 1);
    });
  });
}
