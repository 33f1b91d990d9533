/** Auth0 organizations, roles and members → the records the core imports (src/migrate/auth0/map-org.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customRoleNames, customRoleSpec, planMemberRole } from '../../src/core/imports/org-roles.js';
import type { ExternalRole } from '../../src/core/imports/types.js';
import { SLUG_PATTERN } from '../../src/core/orgs/model.js';
import { PERMISSION_PATTERN } from '../../src/core/rbac/permissions.js';
import {
  mapAuth0Member,
  mapAuth0Organization,
  mapAuth0Role,
  mapPermission,
  slugFromAuth0Name,
} from '../../src/migrate/auth0/map-org.js';

function ok<T>(r: T | { error: string }): T {
  if (typeof r === 'object' && r !== null && 'error' in r) assert.fail(`unexpected error: ${r.error}`);
  return r as T;
}

describe('mapAuth0Organization', () => {
  it('maps display name, slug from name, logo from branding and keeps metadata', () => {
    const r = ok(
      mapAuth0Organization(
        {
          id: 'org_abc123',
          name: 'acme_corp',
          display_name: '  Acme Corp. ',
          metadata: { plan: 'gold', region: 'eu' },
          branding: { logo_url: 'https://cdn.example.com/acme.png', colors: { primary: '#ff0000' } },
        },
        7,
      ),
    );
    assert.deepEqual(r.org, {
      index: 7,
      externalId: 'org_abc123',
      name: 'Acme Corp.',
      slug: 'acme-corp',
      logoUrl: 'https://cdn.example.com/acme.png',
      metadata: { plan: 'gold', region: 'eu' },
    });
    assert.deepEqual(r.warnings, ['branding.colors: Janua organizations have no colours; not carried']);
  });

  it('falls back to name for the display name; no branding → no logo, empty metadata', () => {
    const r = ok(mapAuth0Organization({ id: 'org_1', name: 'beta' }, 1));
    assert.equal(r.org.name, 'beta');
    assert.equal(r.org.logoUrl, null);
    assert.deepEqual(r.org.metadata, {});
    assert.deepEqual(r.warnings, []);
  });

  it('slugs follow Janua rules whatever the name', () => {
    assert.equal(slugFromAuth0Name('Café__Team--x', 'org_1'), 'cafe-team-x');
    assert.equal(slugFromAuth0Name('a', 'org_1'), 'a-org');
    assert.match(slugFromAuth0Name('___', 'org_1'), /^org-[0-9a-f]{8}$/);
    assert.equal(slugFromAuth0Name('___', 'org_1'), slugFromAuth0Name('___', 'org_1'), 'deterministic');
    assert.notEqual(slugFromAuth0Name('___', 'org_1'), slugFromAuth0Name('___', 'org_2'));
    const long = slugFromAuth0Name(`${'x'.repeat(62)}-y`, 'org_1');
    assert.equal(long, 'x'.repeat(62), 'cut to 63 without a trailing hyphen');
    for (const name of ['ACME', 'a-b', '9lives', 'ü', 'x'.repeat(80), '-_-a-_-'])
      assert.match(slugFromAuth0Name(name, 'org_z'), SLUG_PATTERN, name);
  });

  it('refuses records that cannot be carried, with reasons', () => {
    assert.deepEqual(mapAuth0Organization('nope', 1), { error: 'an organization must be a JSON object' });
    assert.deepEqual(mapAuth0Organization({ name: 'x' }, 1), { error: 'id is required' });
    assert.deepEqual(mapAuth0Organization({ id: 'org_1' }, 1), { error: 'name is required' });
    const esc = mapAuth0Organization({ id: 'org_1', name: 'x', display_name: 'A\u001b[31mB' }, 1);
    assert.match((esc as { error: string }).error, /^display_name must not contain control characters/);
    const nul = mapAuth0Organization({ id: 'org_1', name: 'x', metadata: { k: 'a\u0000b' } }, 1);
    assert.match((nul as { error: string }).error, /^metadata\.k must not contain the NUL character/);
    assert.deepEqual(mapAuth0Organization({ id: 'org_1', name: 'x', metadata: [1] }, 1), {
      error: 'metadata must be an object',
    });
  });

  it('drops a bad logo URL and cuts a long display name, with warnings', () => {
    const r = ok(
      mapAuth0Organization(
        {
          id: 'org_1',
          name: 'x1',
          display_name: 'D'.repeat(250),
          branding: { logo_url: 'javascript:alert(1)' },
        },
        1,
      ),
    );
    assert.equal(r.org.logoUrl, null);
    assert.equal(r.org.name.length, 200);
    assert.equal(r.warnings.length, 2);
  });
});

describe('mapAuth0Role and permissions', () => {
  it('keeps permissions Janua accepts as they are', () => {
    assert.deepEqual(mapPermission('read:reports'), { permission: 'read:reports' });
    assert.deepEqual(mapPermission('create:invoice_items'), { permission: 'create:invoice_items' });
  });

  it('lower-cases and turns - . / and spaces into _, when that makes a Janua permission', () => {
    assert.deepEqual(mapPermission('Read:Monthly-Reports'), { permission: 'read:monthly_reports' });
    assert.deepEqual(mapPermission('write:a.b/c d'), { permission: 'write:a_b_c_d' });
  });

  it('never carries wildcards, Janua-namespace permissions or shapes Janua cannot express', () => {
    for (const p of ['*', 'read:*', '*:users', 'members:write', 'roles:read', 'owners:manage', 'Users:Write'])
      assert.ok('skipped' in mapPermission(p), p);
    for (const p of ['admin', 'read:v2', 'a:b:c', ':x', 'read:']) assert.ok('skipped' in mapPermission(p), p);
    // Auth0's usual action:resource order does not collide with Janua's resource:action names.
    assert.deepEqual(mapPermission('read:users'), { permission: 'read:users' });
  });

  it('maps a role: sorted, deduplicated permissions, warnings for what is renamed or dropped', () => {
    const r = ok(
      mapAuth0Role({
        id: 'rol_1',
        name: ' Billing Admin ',
        description: 'Pays the bills',
        permissions: [
          { permission_name: 'write:invoices', resource_server_identifier: 'https://api.a' },
          { permission_name: 'read:invoices', resource_server_identifier: 'https://api.a' },
          { permission_name: 'read:invoices', resource_server_identifier: 'https://api.b' },
          { permission_name: 'Read:Invoices', resource_server_identifier: 'https://api.a' },
          { permission_name: 'read:*', resource_server_identifier: 'https://api.a' },
          { permission_name: 'admin', resource_server_identifier: 'https://api.a' },
        ],
      }),
    );
    assert.deepEqual(r.role, {
      externalId: 'rol_1',
      name: 'Billing Admin',
      description: 'Pays the bills',
      permissions: ['read:invoices', 'write:invoices'],
    });
    for (const p of r.role.permissions) assert.match(p, PERMISSION_PATTERN);
    assert.ok(r.warnings.some((w) => w.includes('"read:*"')));
    assert.ok(r.warnings.some((w) => w.includes('"admin"')));
    assert.ok(r.warnings.some((w) => w.includes('"Read:Invoices" and "read:invoices" both become')));
    assert.ok(r.warnings.some((w) => w.includes('defined on 2 APIs')));
  });

  it('a role without permissions is still a role; bad shapes are errors', () => {
    assert.deepEqual(ok(mapAuth0Role({ id: 'rol_2', name: 'Editor' })).role.permissions, []);
    assert.deepEqual(mapAuth0Role({ id: 'rol_2' }), { error: 'name is required' });
    assert.deepEqual(mapAuth0Role({ id: 'rol_2', name: 'x', permissions: 'read:a' }), {
      error: 'permissions must be an array',
    });
  });
});

describe('mapAuth0Member', () => {
  it('keeps the user id and the role ids (deduplicated)', () => {
    const r = ok(
      mapAuth0Member(
        {
          user_id: 'auth0|1',
          email: 'a@example.com',
          roles: [
            { id: 'rol_1', name: 'A' },
            { id: 'rol_1', name: 'A' },
            { id: 'rol_2', name: 'B' },
            { name: 'no id' },
          ],
        },
        3,
      ),
    );
    assert.deepEqual(r.member, { index: 3, userExternalId: 'auth0|1', roleExternalIds: ['rol_1', 'rol_2'] });
    assert.equal(r.warnings.length, 1);
    assert.deepEqual(ok(mapAuth0Member({ user_id: 'auth0|2' }, 1)).member.roleExternalIds, []);
    assert.deepEqual(mapAuth0Member({ email: 'x@example.com' }, 1), { error: 'user_id is required' });
  });
});

describe('role planning', () => {
  const role = (externalId: string, name: string, permissions: string[] = []): ExternalRole => ({
    externalId,
    name,
    description: null,
    permissions,
  });
  const roles = new Map(
    [
      role('r_admin', 'Admin'),
      role('r_viewer', 'viewer'),
      role('r_ed2', 'editor'),
      role('r_ed1', 'Editor', ['write:posts']),
      role('r_rep', 'Reporter', ['read:reports']),
      role('r_own', 'OWNER'),
      role('r_weird', '!!'),
    ].map((r) => [r.externalId, r]),
  );

  it('names custom roles deterministically; folded duplicates get a hash', () => {
    const names = customRoleNames(roles.values());
    assert.equal(names.get('r_ed1'), 'editor', 'the smallest id keeps the plain name');
    assert.match(names.get('r_ed2')!, /^editor-[0-9a-f]{8}$/);
    assert.equal(names.get('r_rep'), 'reporter');
    assert.match(names.get('r_weird')!, /^role-[0-9a-f]{8}$/);
    assert.equal(names.has('r_admin'), false, 'built-ins are not custom roles');
    assert.deepEqual(customRoleNames([...roles.values()].reverse()), names, 'order does not matter');
  });

  it('built-in by name, custom otherwise, member by default, union for several', () => {
    assert.deepEqual(planMemberRole(['r_admin'], roles).plan, { kind: 'built-in', name: 'admin' });
    assert.deepEqual(planMemberRole(['r_rep'], roles).plan, { kind: 'custom', ids: ['r_rep'] });
    assert.deepEqual(planMemberRole([], roles).plan, { kind: 'built-in', name: 'member' });
    const both = planMemberRole(['r_viewer', 'r_admin'], roles);
    assert.deepEqual(both.plan, { kind: 'built-in', name: 'admin' }, 'admin covers viewer');
    assert.match(both.warnings[0]!, /holds 2 roles \(Admin, viewer\)/);
    assert.deepEqual(planMemberRole(['r_own', 'r_rep'], roles).plan, { kind: 'built-in', name: 'owner' });
    assert.deepEqual(planMemberRole(['r_rep', 'r_admin'], roles).plan, {
      kind: 'custom',
      ids: ['r_admin', 'r_rep'],
    });
    const unknown = planMemberRole(['r_gone'], roles);
    assert.deepEqual(unknown.plan, { kind: 'built-in', name: 'member' });
    assert.match(unknown.warnings[0]!, /r_gone/);
  });

  it('a custom role never carries a wildcard or a name Janua does not accept, even unmapped', () => {
    const bad = role('r_bad', 'Bad', ['*', 'members:*', 'read:x', 'Not A Permission', 'read:x']);
    const spec = customRoleSpec('org_1', ['r_bad'], new Map([['r_bad', bad]]), customRoleNames([bad]));
    assert.deepEqual(spec, { key: 'org_1:r_bad', name: 'bad', description: null, permissions: ['read:x'] });
  });
});
