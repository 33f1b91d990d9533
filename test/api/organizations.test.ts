/**
 * Organizations, members, invitations, roles and RBAC over the API: the good paths and the bad input —
 * each refusal answered with the documented error and no change in the database.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { call, counts, makeUser, signInAgain, type TestUser } from '../helpers/orgs.js';

const DAY = 86_400_000;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

for (const dialect of dialects()) {
  describe(`organizations API (${dialect})`, () => {
    let t: TestApp;
    let owner: TestUser;
    let admin: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let platform: TestUser;
    let org: { id: string; slug: string };
    let seq = 0;

    before(async () => {
      t = await testApp(dialect);
      [owner, admin, member, outsider] = (await Promise.all(
        ['owner', 'admin', 'member', 'outsider'].map((n) => makeUser(t, n)),
      )) as [TestUser, TestUser, TestUser, TestUser];
      platform = await makeUser(t, 'platform', { admin: true });
    });
    after(async () => t.close());

    beforeEach(async () => {
      const res = await call(t, 'POST', '/api/v1/organizations', {
        token: owner.token,
        body: { name: 'Acme Corp', slug: `acme-${++seq}`, description: 'Widgets' },
      });
      assert.equal(res.statusCode, 201, res.body);
      org = res.data;
      for (const [u, role] of [
        [admin, 'admin'],
        [member, 'member'],
      ] as const) {
        const r = await call(t, 'POST', `/api/v1/organizations/${org.id}/members`, {
          token: owner.token,
          body: { email: u.email, role },
        });
        assert.equal(r.statusCode, 201, r.body);
      }
    });

    const url = (rest = '') => `/api/v1/organizations/${org.id}${rest}`;

    /** Asserts the documented error body and that nothing changed. */
    async function refused(
      req: () => ReturnType<typeof call>,
      status: number,
      code: string,
      detail?: RegExp,
    ): Promise<void> {
      const before = await counts(t);
      const res = await req();
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.data.error_code, code, res.body);
      assert.equal(res.data.status_code, status);
      if (detail) assert.match(res.data.detail, detail);
      assert.deepEqual(await counts(t), before, 'nothing changed');
    }

    test('create: the creator is owner; the org, membership, audit rows and events are written together', async () => {
      const got = await call(t, 'GET', url(), { token: owner.token });
      assert.equal(got.statusCode, 200);
      assert.equal(got.data.role, 'owner');
      assert.equal(got.data.name, 'Acme Corp');
      assert.match(got.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const events = await t.c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', org.id)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => e.event_type),
        [
          'organization.created',
          'organization.member.added',
          'organization.member.added',
          'organization.member.added',
        ],
      );
      const audits = await t.c.store.db
        .selectFrom('audit_events')
        .select(['action', 'actor_id'])
        .where('action', '=', 'organization.create')
        .where('target_id', '=', org.id)
        .execute();
      assert.deepEqual(audits, [{ action: 'organization.create', actor_id: owner.id }]);
    });

    test('GET /organizations is a bare array of my organizations; by-slug finds one', async () => {
      const mine = await call(t, 'GET', '/api/v1/organizations', { token: member.token });
      assert.ok(Array.isArray(mine.data));
      const entry = mine.data.find((o: { id: string }) => o.id === org.id);
      assert.equal(entry.role, 'member');
      const none = await call(t, 'GET', '/api/v1/organizations', { token: outsider.token });
      assert.ok(none.data.every((o: { id: string }) => o.id !== org.id));
      const bySlug = await call(t, 'GET', `/api/v1/organizations/by-slug/${org.slug}`, {
        token: member.token,
      });
      assert.equal(bySlug.data.id, org.id);
      await refused(
        () => call(t, 'GET', `/api/v1/organizations/by-slug/${org.slug}`, { token: outsider.token }),
        404,
        'NOT_FOUND_ERROR',
      );
    });

    test('invalid and duplicate slugs, bad bodies, unknown and malformed ids', async () => {
      for (const slug of [
        'A',
        'UPPER',
        '-lead',
        'trail-',
        'dou--ble',
        'sp ace',
        "x'; drop table users;--",
        'é',
      ]) {
        await refused(
          () => call(t, 'POST', '/api/v1/organizations', { token: owner.token, body: { name: 'X', slug } }),
          422,
          'VALIDATION_ERROR',
        );
      }
      await refused(
        () =>
          call(t, 'POST', '/api/v1/organizations', {
            token: owner.token,
            body: { name: 'X', slug: org.slug },
          }),
        409,
        'CONFLICT_ERROR',
        /already taken/,
      );
      await refused(
        () => call(t, 'PATCH', url(), { token: owner.token, body: { slug: 'Bad Slug' } }),
        422,
        'VALIDATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/organizations', { token: owner.token, body: { name: 42, slug: 'x-y' } }),
        422,
        'VALIDATION_ERROR',
      );
      await refused(() => call(t, 'PATCH', url(), { token: owner.token, body: {} }), 422, 'VALIDATION_ERROR');
      await refused(
        () => call(t, 'GET', `/api/v1/organizations/${UNKNOWN}`, { token: platform.token }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () => call(t, 'GET', '/api/v1/organizations/not-a-uuid', { token: owner.token }),
        422,
        'VALIDATION_ERROR',
      );
      await refused(
        () => call(t, 'DELETE', url(`/members/${UNKNOWN}`), { token: owner.token }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${outsider.id}/role`), {
            token: owner.token,
            body: { role: 'viewer' },
          }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${member.id}/role`), {
            token: owner.token,
            body: { role: 'emperor' },
          }),
        422,
        'VALIDATION_ERROR',
        /Unknown role/,
      );
      await refused(
        () => call(t, 'POST', url('/members'), { token: owner.token, body: { email: 'nobody@example.com' } }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () => call(t, 'POST', url('/members'), { token: owner.token, body: { user_id: member.id } }),
        409,
        'CONFLICT_ERROR',
      );
      await refused(
        () => call(t, 'DELETE', url(`/invites/${UNKNOWN}`), { token: owner.token }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () =>
          call(t, 'PATCH', `/api/v1/roles/${UNKNOWN}`, { token: owner.token, body: { description: 'x' } }),
        404,
        'NOT_FOUND_ERROR',
      );
      await refused(
        () => call(t, 'DELETE', '/api/v1/roles/nope', { token: owner.token }),
        422,
        'VALIDATION_ERROR',
      );
    });

    test('the last owner can be neither demoted nor removed (409), not even by a platform admin', async () => {
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${owner.id}/role`), { token: owner.token, body: { role: 'admin' } }),
        409,
        'CONFLICT_ERROR',
        /at least one owner/,
      );
      await refused(
        () => call(t, 'DELETE', url(`/members/${owner.id}`), { token: owner.token }),
        409,
        'CONFLICT_ERROR',
      );
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${owner.id}`), { token: platform.token, body: { role: 'member' } }),
        409,
        'CONFLICT_ERROR',
      );
      // With a second owner, the first may step down.
      const promote = await call(t, 'PUT', url(`/members/${admin.id}/role`), {
        token: owner.token,
        body: { role: 'owner' },
      });
      assert.equal(promote.statusCode, 200, promote.body);
      const down = await call(t, 'PUT', url(`/members/${owner.id}/role`), {
        token: owner.token,
        body: { role: 'admin' },
      });
      assert.equal(down.statusCode, 200, down.body);
      assert.equal(down.data.role, 'admin');
    });

    test('only owners grant or take the owner role; a member may leave', async () => {
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${member.id}/role`), { token: admin.token, body: { role: 'owner' } }),
        403,
        'AUTHORIZATION_ERROR',
        /owner role/,
      );
      await refused(
        () =>
          call(t, 'PUT', url(`/members/${owner.id}/role`), { token: admin.token, body: { role: 'member' } }),
        403,
        'AUTHORIZATION_ERROR',
      );
      await refused(
        () => call(t, 'DELETE', url(`/members/${owner.id}`), { token: admin.token }),
        403,
        'AUTHORIZATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', url('/members'), {
            token: admin.token,
            body: { user_id: outsider.id, role: 'owner' },
          }),
        403,
        'AUTHORIZATION_ERROR',
      );
      const leave = await call(t, 'DELETE', url(`/members/${member.id}`), { token: member.token });
      assert.equal(leave.statusCode, 200, leave.body);
      const gone = await call(t, 'GET', url(), { token: member.token });
      assert.equal(gone.statusCode, 404);
    });

    test('transfer ownership: the target becomes owner, the old owner admin; the target must be a member', async () => {
      await refused(
        () =>
          call(t, 'POST', url('/transfer-ownership'), { token: owner.token, body: { user_id: outsider.id } }),
        404,
        'NOT_FOUND_ERROR',
      );
      const res = await call(t, 'POST', url('/transfer-ownership'), {
        token: owner.token,
        body: { user_id: member.id },
      });
      assert.equal(res.statusCode, 200, res.body);
      const list = await call(t, 'GET', url('/members'), { token: owner.token });
      const roles = Object.fromEntries(
        list.data.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      );
      assert.equal(roles[member.id], 'owner');
      assert.equal(roles[owner.id], 'admin');
      const ev = await t.c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', org.id)
        .where('event_type', '=', 'organization.ownership_transferred')
        .execute();
      assert.equal(ev.length, 1);
    });

    test('invitations: create returns the token once; accept by the invited user adds them; single use', async () => {
      const invitee = await makeUser(t, 'invitee');
      const created = await call(t, 'POST', url('/invites'), {
        token: admin.token,
        body: { email: invitee.email.toUpperCase(), role: 'viewer' },
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.data.status, 'pending');
      assert.equal(created.data.email, invitee.email);
      assert.match(created.data.message, /No mailer/);
      const token = created.data.token as string;
      assert.ok(token.length >= 40);
      const expires =
        new Date(created.data.expires_at).getTime() - new Date(created.data.created_at).getTime();
      assert.equal(expires, 7 * DAY);
      const stored = await t.c.store.db.selectFrom('organization_invitations').select('token_hash').execute();
      assert.ok(
        stored.every((r) => r.token_hash !== token),
        'only a hash is stored',
      );
      const listed = await call(t, 'GET', url('/invitations'), { token: owner.token });
      assert.equal(listed.data[0].token, undefined, 'lists never show tokens');

      await refused(
        () =>
          call(t, 'POST', '/api/v1/organizations/invites/accept', { token: outsider.token, body: { token } }),
        403,
        'AUTHORIZATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/organizations/invites/accept', {
            token: invitee.token,
            body: { token: 'nope' },
          }),
        404,
        'NOT_FOUND_ERROR',
      );
      const ok = await call(t, 'POST', '/api/v1/organizations/invites/accept', {
        token: invitee.token,
        body: { token },
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.data.member.role, 'viewer');
      assert.equal(ok.data.organization.id, org.id);
      await refused(
        () =>
          call(t, 'POST', '/api/v1/organizations/invites/accept', { token: invitee.token, body: { token } }),
        409,
        'CONFLICT_ERROR',
        /already been used/,
      );
      const after = await call(t, 'GET', url(`/invitations?status=accepted`), { token: owner.token });
      assert.equal(after.data.length, 1);
      assert.equal(after.data[0].accepted_by, invitee.id);
    });

    test('inviting an existing member → 409; a second pending invitation → 409', async () => {
      await refused(
        () =>
          call(t, 'POST', url('/invitations'), {
            token: owner.token,
            body: { email: member.email, role: 'member' },
          }),
        409,
        'CONFLICT_ERROR',
        /already a member/,
      );
      const first = await call(t, 'POST', url('/invitations'), {
        token: owner.token,
        body: { email: 'twice@example.com' },
      });
      assert.equal(first.statusCode, 201);
      await refused(
        () =>
          call(t, 'POST', url('/invitations'), { token: owner.token, body: { email: 'twice@example.com' } }),
        409,
        'CONFLICT_ERROR',
        /pending invitation/,
      );
      await refused(
        () => call(t, 'POST', url('/invitations'), { token: owner.token, body: { email: 'not-an-email' } }),
        422,
        'VALIDATION_ERROR',
      );
    });

    test('expired, revoked and resent invitations', async () => {
      let invitee = await makeUser(t, 'late');
      const make = async () =>
        (await call(t, 'POST', url('/invites'), { token: owner.token, body: { email: invitee.email } })).data;
      let ownerNow = owner;
      const accept = (token: string) =>
        call(t, 'POST', '/api/v1/organizations/invites/accept', { token: invitee.token, body: { token } });

      const revoked = await make();
      const rv = await call(t, 'DELETE', url(`/invites/${revoked.id}`), { token: owner.token });
      assert.equal(rv.statusCode, 200, rv.body);
      assert.equal(rv.data.status, 'revoked');
      await refused(() => accept(revoked.token), 400, 'BAD_REQUEST', /revoked/);
      await refused(
        () => call(t, 'DELETE', url(`/invites/${revoked.id}`), { token: owner.token }),
        409,
        'CONFLICT_ERROR',
      );
      await refused(
        () => call(t, 'POST', url(`/invites/${revoked.id}/resend`), { token: owner.token }),
        409,
        'CONFLICT_ERROR',
      );

      const expiring = await make();
      t.clock.advance(8 * DAY);
      try {
        // Access tokens and sessions expire too: sign in again at the new time.
        invitee = await signInAgain(t, invitee);
        ownerNow = await signInAgain(t, owner);
        await refused(() => accept(expiring.token), 400, 'BAD_REQUEST', /expired/);
        const listed = await call(t, 'GET', url('/invites?status=expired'), { token: ownerNow.token });
        assert.deepEqual(
          listed.data.map((i: { id: string }) => i.id),
          [expiring.id],
        );
        // Resend: a new token and a new 7-day expiry; the old token is dead.
        const resent = await call(t, 'POST', url(`/invites/${expiring.id}/resend`), {
          token: ownerNow.token,
        });
        assert.equal(resent.statusCode, 200, resent.body);
        assert.notEqual(resent.data.token, expiring.token);
        assert.equal(resent.data.status, 'pending');
        await refused(() => accept(expiring.token), 404, 'NOT_FOUND_ERROR');
        const ok = await accept(resent.data.token);
        assert.equal(ok.statusCode, 200, ok.body);
      } finally {
        t.clock.advance(-8 * DAY);
      }
    });

    test('custom roles: built-ins listed, reserved names, bad permissions, no granting beyond your own', async () => {
      const builtIns = await call(t, 'GET', '/api/v1/roles', { token: member.token });
      assert.deepEqual(
        builtIns.data.map((r: { name: string }) => r.name),
        ['owner', 'admin', 'member', 'viewer'],
      );
      assert.deepEqual(builtIns.data[0].permissions, ['*']);
      const body = (b: object) => ({ organization_id: org.id, ...b });
      await refused(
        () =>
          call(t, 'POST', '/api/v1/roles', {
            token: owner.token,
            body: body({ name: 'admin', permissions: ['users:read'] }),
          }),
        409,
        'CONFLICT_ERROR',
        /reserved/,
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/roles', {
            token: owner.token,
            body: body({ name: 'x1', permissions: ['users'] }),
          }),
        422,
        'VALIDATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/roles', {
            token: owner.token,
            body: body({ name: 'Bad Name', permissions: ['users:read'] }),
          }),
        422,
        'VALIDATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/roles', {
            token: admin.token,
            body: body({ name: 'super', permissions: ['*'] }),
          }),
        403,
        'AUTHORIZATION_ERROR',
      );
      await refused(
        () =>
          call(t, 'POST', '/api/v1/roles', {
            token: admin.token,
            body: body({ name: 'boss', permissions: ['owners:manage'] }),
          }),
        403,
        'AUTHORIZATION_ERROR',
      );
      const created = await call(t, 'POST', url('/roles'), {
        token: admin.token,
        body: { name: 'support', description: 'Helps', permissions: ['organization:read', 'members:*'] },
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.data.built_in, false);
      await refused(
        () =>
          call(t, 'POST', url('/roles'), {
            token: owner.token,
            body: { name: 'support', permissions: ['users:read'] },
          }),
        409,
        'CONFLICT_ERROR',
      );
      // Assign it like a built-in; the member can now do what it grants.
      const assign = await call(t, 'PUT', url(`/members/${member.id}/role`), {
        token: admin.token,
        body: { role: 'support' },
      });
      assert.equal(assign.statusCode, 200, assign.body);
      const check = await call(
        t,
        'GET',
        `/api/v1/rbac/check?permission=members:write&resource_id=${org.id}`,
        {
          token: member.token,
        },
      );
      assert.deepEqual(check.data, {
        allowed: true,
        permission: 'members:write',
        resource_id: org.id,
        user_id: member.id,
        role: 'support',
      });
      // Renaming follows the members who hold it; deleting it while assigned → 409.
      const renamed = await call(t, 'PATCH', `/api/v1/roles/${created.data.id}`, {
        token: owner.token,
        body: { name: 'helpdesk' },
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      const me = await call(t, 'GET', url(), { token: member.token });
      assert.equal(me.data.role, 'helpdesk');
      await refused(
        () => call(t, 'DELETE', `/api/v1/roles/${created.data.id}`, { token: owner.token }),
        409,
        'CONFLICT_ERROR',
        /still assigned/,
      );
      const listed = await call(t, 'GET', `/api/v1/roles?organization_id=${org.id}`, { token: member.token });
      assert.equal(listed.statusCode, 403, 'helpdesk lacks roles:read');
      await call(t, 'PUT', url(`/members/${member.id}/role`), {
        token: owner.token,
        body: { role: 'member' },
      });
      const del = await call(t, 'DELETE', `/api/v1/roles/${created.data.id}`, { token: owner.token });
      assert.equal(del.statusCode, 200, del.body);
    });

    test('rbac check: for the caller, and for another user only by platform admins', async () => {
      const q = (perm: string, extra = '') =>
        `/api/v1/rbac/check?permission=${perm}&resource_id=${org.id}${extra}`;
      const mine = await call(t, 'GET', q('users:write'), { token: member.token });
      assert.equal(mine.data.allowed, false);
      assert.equal(mine.data.role, 'member');
      const adm = await call(t, 'GET', q('users:write'), { token: admin.token });
      assert.equal(adm.data.allowed, true);
      const out = await call(t, 'GET', q('organization:read'), { token: outsider.token });
      assert.deepEqual([out.statusCode, out.data.allowed, out.data.role], [200, false, null]);
      const other = await call(t, 'GET', q('organization:delete', `&user_id=${owner.id}`), {
        token: platform.token,
      });
      assert.deepEqual([other.data.allowed, other.data.user_id, other.data.role], [true, owner.id, 'owner']);
      await refused(
        () => call(t, 'GET', q('organization:read', `&user_id=${owner.id}`), { token: member.token }),
        403,
        'AUTHORIZATION_ERROR',
      );
      await refused(
        () => call(t, 'GET', q('not a permission'), { token: member.token }),
        422,
        'VALIDATION_ERROR',
      );
      const anon = await call(t, 'GET', q('organization:read'));
      assert.equal(anon.statusCode, 401);
    });

    test('switch-organization: a token for the same session with the org claim; null clears it', async () => {
      const sw = await call(t, 'POST', '/api/v1/auth/switch-organization', {
        token: member.token,
        body: { organization_id: org.id },
      });
      assert.equal(sw.statusCode, 200, sw.body);
      const claims = decodeJwt(sw.data.access_token);
      const before = decodeJwt(member.token);
      assert.equal(claims['org'], org.id);
      assert.equal(claims['sid'], before['sid']);
      assert.equal(claims.sub, member.id);
      const me = await call(t, 'GET', '/api/v1/auth/me', { token: sw.data.access_token });
      assert.equal(me.statusCode, 200);
      const clear = await call(t, 'POST', '/api/v1/auth/switch-organization', {
        token: sw.data.access_token,
        body: { organization_id: null },
      });
      assert.equal(decodeJwt(clear.data.access_token)['org'], undefined);
      assert.equal(clear.data.organization_id, null);
      await refused(
        () =>
          call(t, 'POST', '/api/v1/auth/switch-organization', {
            token: outsider.token,
            body: { organization_id: org.id },
          }),
        404,
        'NOT_FOUND_ERROR',
      );
    });

    test('delete: the organization and its memberships go; events written', async () => {
      const res = await call(t, 'DELETE', url(), { token: owner.token });
      assert.equal(res.statusCode, 200, res.body);
      const gone = await call(t, 'GET', url(), { token: owner.token });
      assert.equal(gone.statusCode, 404);
      const rows = await t.c.store.db
        .selectFrom('organization_members')
        .select('user_id')
        .where('organization_id', '=', org.id)
        .execute();
      assert.equal(rows.length, 0);
      const ev = await t.c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', org.id)
        .where('event_type', '=', 'organization.deleted')
        .execute();
      assert.equal(ev.length, 1);
    });
  });
}
