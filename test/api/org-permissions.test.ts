/**
 * The permission matrix: every organization route × every kind of caller, from one table. Members get the
 * route's answer or 403 AUTHORIZATION_ERROR as their role allows; non-members 404 (they learn nothing);
 * anonymous callers 401; platform admins may do everything. Every refused request changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { createInvitation } from '../../src/core/orgs/invitations.js';
import { createRole } from '../../src/core/orgs/roles.js';
import { addMember, createOrganization } from '../../src/core/orgs/service.js';
import { CLI_ACTOR } from '../../src/core/rbac/access.js';
import { type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { call, counts, makeUser, type TestUser } from '../helpers/orgs.js';

const MEMBER_KINDS = ['owner', 'admin', 'member', 'viewer', 'custom'] as const;
type MemberKind = (typeof MEMBER_KINDS)[number];
const CALLERS = [...MEMBER_KINDS, 'non-member', 'platform admin', 'anonymous'] as const;
type Caller = (typeof CALLERS)[number];

/** The custom role of the matrix: may read and handle invitations, nothing else. */
const CUSTOM_ROLE = {
  name: 'auditor',
  permissions: ['organization:read', 'members:read', 'invitations:*', 'audit:read'],
};

interface Fixture {
  orgId: string;
  slug: string;
  customRoleId: string;
  spareRoleId: string;
  inviteId: string;
}

interface People extends Record<Exclude<Caller, 'anonymous'>, TestUser> {
  target: TestUser;
  spare: TestUser;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  method: Method;
  path: (f: Fixture, p: People) => string;
  body?: (f: Fixture, p: People) => unknown;
  ok: number;
  allow: readonly MemberKind[];
  /** Mutating routes get a fresh organization per caller. */
  mutates: boolean;
}

const ALL = MEMBER_KINDS;
const MANAGERS = ['owner', 'admin'] as const;
const INVITERS = ['owner', 'admin', 'custom'] as const;
const ROLE_READERS = ['owner', 'admin', 'member'] as const;
const o = (f: Fixture) => `/api/v1/organizations/${f.orgId}`;

/** The one table: route → who may call it. */
const MATRIX: Record<string, Route> = {
  'GET org': { method: 'GET', path: o, ok: 200, allow: ALL, mutates: false },
  'GET org by slug': {
    method: 'GET',
    path: (f) => `/api/v1/organizations/by-slug/${f.slug}`,
    ok: 200,
    allow: ALL,
    mutates: false,
  },
  'PATCH org': {
    method: 'PATCH',
    path: o,
    body: () => ({ description: 'changed' }),
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'DELETE org': { method: 'DELETE', path: o, ok: 200, allow: ['owner'], mutates: true },
  'GET members': { method: 'GET', path: (f) => `${o(f)}/members`, ok: 200, allow: ALL, mutates: false },
  'POST members': {
    method: 'POST',
    path: (f) => `${o(f)}/members`,
    body: (_f, p) => ({ user_id: p.spare.id, role: 'member' }),
    ok: 201,
    allow: MANAGERS,
    mutates: true,
  },
  'PUT member role': {
    method: 'PUT',
    path: (f, p) => `${o(f)}/members/${p.target.id}/role`,
    body: () => ({ role: 'viewer' }),
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'PUT member (SDK alias)': {
    method: 'PUT',
    path: (f, p) => `${o(f)}/members/${p.target.id}`,
    body: () => ({ role: 'viewer' }),
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'DELETE member': {
    method: 'DELETE',
    path: (f, p) => `${o(f)}/members/${p.target.id}`,
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'POST transfer-ownership': {
    method: 'POST',
    path: (f) => `${o(f)}/transfer-ownership`,
    body: (_f, p) => ({ user_id: p.target.id }),
    ok: 200,
    allow: ['owner'],
    mutates: true,
  },
  'GET invitations': {
    method: 'GET',
    path: (f) => `${o(f)}/invitations`,
    ok: 200,
    allow: INVITERS,
    mutates: false,
  },
  'GET invites (SDK alias)': {
    method: 'GET',
    path: (f) => `${o(f)}/invites`,
    ok: 200,
    allow: INVITERS,
    mutates: false,
  },
  'POST invitations': {
    method: 'POST',
    path: (f) => `${o(f)}/invitations`,
    body: () => ({ email: 'newcomer@example.com', role: 'viewer' }),
    ok: 201,
    allow: INVITERS,
    mutates: true,
  },
  'POST invites (SDK alias)': {
    method: 'POST',
    path: (f) => `${o(f)}/invites`,
    body: () => ({ email: 'newcomer@example.com', role: 'viewer' }),
    ok: 201,
    allow: INVITERS,
    mutates: true,
  },
  'DELETE invite': {
    method: 'DELETE',
    path: (f) => `${o(f)}/invites/${f.inviteId}`,
    ok: 200,
    allow: INVITERS,
    mutates: true,
  },
  'POST invite resend': {
    method: 'POST',
    path: (f) => `${o(f)}/invites/${f.inviteId}/resend`,
    ok: 200,
    allow: INVITERS,
    mutates: true,
  },
  'GET org roles': {
    method: 'GET',
    path: (f) => `${o(f)}/roles`,
    ok: 200,
    allow: ROLE_READERS,
    mutates: false,
  },
  'POST org roles': {
    method: 'POST',
    path: (f) => `${o(f)}/roles`,
    body: () => ({ name: 'reader', permissions: ['organization:read'] }),
    ok: 201,
    allow: MANAGERS,
    mutates: true,
  },
  'GET roles?organization_id': {
    method: 'GET',
    path: (f) => `/api/v1/roles?organization_id=${f.orgId}`,
    ok: 200,
    allow: ROLE_READERS,
    mutates: false,
  },
  'POST roles': {
    method: 'POST',
    path: () => '/api/v1/roles',
    body: (f) => ({ organization_id: f.orgId, name: 'reader', permissions: ['organization:read'] }),
    ok: 201,
    allow: MANAGERS,
    mutates: true,
  },
  'PATCH role': {
    method: 'PATCH',
    path: (f) => `/api/v1/roles/${f.customRoleId}`,
    body: () => ({ description: 'reads things' }),
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'DELETE role': {
    method: 'DELETE',
    path: (f) => `/api/v1/roles/${f.spareRoleId}`,
    ok: 200,
    allow: MANAGERS,
    mutates: true,
  },
  'POST switch-organization': {
    method: 'POST',
    path: () => '/api/v1/auth/switch-organization',
    body: (f) => ({ organization_id: f.orgId }),
    ok: 200,
    allow: ALL,
    mutates: false,
  },
};

for (const dialect of dialects()) {
  describe(`organization permission matrix (${dialect})`, () => {
    let t: TestApp;
    let people: People;
    let shared: Fixture;
    let seq = 0;

    async function fixture(): Promise<Fixture> {
      const slug = `matrix-${++seq}`;
      const { organization } = await createOrganization(
        t.c,
        CLI_ACTOR,
        { name: `Matrix ${seq}`, slug, ownerId: people.owner.id },
        CLI_CONTEXT,
      );
      const orgId = organization.id;
      const custom = await createRole(t.c, CLI_ACTOR, { organizationId: orgId, ...CUSTOM_ROLE }, CLI_CONTEXT);
      const spare = await createRole(
        t.c,
        CLI_ACTOR,
        { organizationId: orgId, name: 'spare-role', permissions: ['organization:read'] },
        CLI_CONTEXT,
      );
      const add = (u: TestUser, role: string) =>
        addMember(t.c, CLI_ACTOR, orgId, { userId: u.id, role }, CLI_CONTEXT);
      await add(people.admin, 'admin');
      await add(people.member, 'member');
      await add(people.viewer, 'viewer');
      await add(people.custom, CUSTOM_ROLE.name);
      await add(people.target, 'member');
      const inv = await createInvitation(
        t.c,
        CLI_ACTOR,
        orgId,
        { email: `invited-${seq}@example.com`, role: 'viewer' },
        CLI_CONTEXT,
      );
      return { orgId, slug, customRoleId: custom.id, spareRoleId: spare.id, inviteId: inv.invitation.id };
    }

    before(async () => {
      t = await testApp(dialect);
      const entries = await Promise.all(
        [...MEMBER_KINDS, 'non-member', 'target', 'spare'].map(
          async (k) => [k, await makeUser(t, k)] as const,
        ),
      );
      people = {
        ...Object.fromEntries(entries),
        'platform admin': await makeUser(t, 'platform', { admin: true }),
      } as People;
      shared = await fixture();
    });
    after(async () => t.close());

    for (const [name, route] of Object.entries(MATRIX)) {
      test(`${name}: allowed for ${route.allow.join(', ')} and platform admins`, async () => {
        for (const who of CALLERS) {
          const f = route.mutates ? await fixture() : shared;
          const before = await counts(t);
          const res = await call(t, route.method, route.path(f, people), {
            token: who === 'anonymous' ? undefined : people[who].token,
            body: route.body?.(f, people),
          });
          const cell = `${name} as ${who}: ${res.statusCode} ${res.body.slice(0, 200)}`;
          const allowed = who === 'platform admin' || (route.allow as readonly string[]).includes(who);
          if (allowed) {
            assert.equal(res.statusCode, route.ok, cell);
            continue;
          }
          const [status, code] =
            who === 'anonymous'
              ? [401, 'AUTHENTICATION_ERROR']
              : who === 'non-member'
                ? [404, 'NOT_FOUND_ERROR']
                : [403, 'AUTHORIZATION_ERROR'];
          assert.equal(res.statusCode, status, cell);
          assert.deepEqual(
            res.data,
            { detail: res.data.detail, error_code: code, status_code: status },
            cell,
          );
          assert.deepEqual(await counts(t), before, `${cell}: a refused request changes nothing`);
        }
      });
    }
  });
}
