/**
 * /api/v1/users over a real database (in-process, app.inject): each route for an admin, the user themself,
 * another user and an anonymous caller; bad input answered with the documented error and no change.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { createUser } from '../../src/core/users/service.js';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { SESSION_FIELDS } from '../helpers/users.js';

type Body = Record<string, unknown>;

for (const dialect of dialects()) {
  describe(`/api/v1/users (${dialect})`, () => {
    let t: TestApp;
    let admin: { id: string; token: string };

    const call = async (method: string, url: string, token?: string | null, payload?: unknown) => {
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(payload === undefined ? {} : { payload: payload as Body }),
      });
      return { status: res.statusCode, body: res.json() as Body };
    };
    const signUp = async (email: string, first = 'Test', last = 'User') => {
      const r = await call('POST', '/api/v1/auth/signup', null, {
        email,
        password: GOOD_PASSWORD,
        first_name: first,
        last_name: last,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { id: (r.body['user'] as Body)['id'] as string, token: r.body['access_token'] as string };
    };
    const signIn = async (email: string) =>
      call('POST', '/api/v1/auth/signin', null, { email, password: GOOD_PASSWORD });
    const tokenWorks = async (token: string) => (await call('GET', '/api/v1/auth/me', token)).status === 200;
    /** Everything a failed request must leave as it was. */
    const state = async () => {
      const db = t.c.store.db;
      const usersRows = await db.selectFrom('users').selectAll().orderBy('id').execute();
      const audits = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      const outbox = await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      const live = await db
        .selectFrom('sessions')
        .select('id')
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .execute();
      return JSON.stringify({ usersRows, audits, outbox, live });
    };
    const lastEvents = async (n: number) =>
      (
        await t.c.store.db.selectFrom('outbox').select('event_type').orderBy('seq', 'desc').limit(n).execute()
      ).map((r) => r.event_type);
    /** Audit rows with this action about this target (the fixed clock gives them one timestamp, so no order). */
    const audited = async (action: string, targetId: string) =>
      (
        await t.c.store.db
          .selectFrom('audit_events')
          .select('id')
          .where('action', '=', action)
          .where('target_id', '=', targetId)
          .execute()
      ).length;
    /** Calls and expects the documented error body. */
    const refuse = async (status: number, code: string, ...args: Parameters<typeof call>) =>
      expectError(await call(...args), status, code);
    const expectError = (r: { status: number; body: Body }, status: number, code: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body['error_code'], code);
      assert.equal(r.body['status_code'], status);
      assert.equal(typeof r.body['detail'], 'string');
    };

    before(async () => {
      t = await testApp(dialect);
      const a = await createUser(
        t.c,
        { email: 'root@example.com', password: GOOD_PASSWORD, isAdmin: true, firstName: 'Root' },
        CLI_CONTEXT,
      );
      const s = await signIn('root@example.com');
      admin = { id: a.id, token: s.body['access_token'] as string };
    });
    after(async () => t.close());

    test('GET /users: admins only; shape, search, filters, sort, paging', async () => {
      const alice = await signUp('alice@example.com', 'Alice', 'Zephyr');
      await signUp('bob@example.com', 'Bob', 'Alder');
      await signUp('carol@other.org', 'Carol', 'Aliston');

      await refuse(403, 'AUTHORIZATION_ERROR', 'GET', '/api/v1/users', alice.token);
      await refuse(401, 'AUTHENTICATION_ERROR', 'GET', '/api/v1/users');
      await refuse(401, 'TOKEN_ERROR', 'GET', '/api/v1/users', 'not-a-jwt');

      const all = await call('GET', '/api/v1/users', admin.token);
      assert.equal(all.status, 200);
      assert.deepEqual(Object.keys(all.body).sort(), ['page', 'pages', 'per_page', 'total', 'users']);
      assert.equal(all.body['total'], 4);
      assert.equal(all.body['page'], 1);
      assert.equal(all.body['per_page'], 20);
      assert.equal(all.body['pages'], 1);
      const first = (all.body['users'] as Body[])[0]!;
      assert.ok('email_verified' in first && 'user_metadata' in first && !('password_hash' in first));

      // Prefix search on email, first or last name, case-insensitive.
      const emails = async (qs: string) =>
        ((await call('GET', `/api/v1/users?${qs}`, admin.token)).body['users'] as Body[])
          .map((u) => u['email'])
          .sort();
      assert.deepEqual(await emails('search=ALI'), ['alice@example.com', 'carol@other.org']);
      assert.deepEqual(await emails('search=alder'), ['bob@example.com']);
      assert.deepEqual(await emails('search=%25'), [], 'LIKE wildcards are literal');
      assert.deepEqual(await emails('search=_'), []);
      assert.deepEqual(await emails("search=a'%20or%201=1--"), []);
      assert.deepEqual(await emails('sort=email&per_page=2'), ['alice@example.com', 'bob@example.com']);
      const desc = (await call('GET', '/api/v1/users?sort=-email', admin.token)).body['users'] as Body[];
      assert.equal(desc[0]!['email'], 'root@example.com');
      const p2 = await call('GET', '/api/v1/users?sort=email&per_page=3&page=2', admin.token);
      assert.equal(p2.body['pages'], 2);
      assert.deepEqual(
        (p2.body['users'] as Body[]).map((u) => u['email']),
        ['root@example.com'],
      );
      assert.deepEqual(await emails('email_verified=true'), []);
      assert.equal((await emails('email_verified=false')).length, 4);
      assert.equal((await emails('status=active')).length, 4);
      assert.deepEqual(await emails('status=suspended'), []);
      const future = new Date(t.clock.now().getTime() + 60_000).toISOString();
      assert.deepEqual(await emails(`created_after=${encodeURIComponent(future)}`), []);
      assert.equal((await emails(`created_before=${encodeURIComponent(future)}`)).length, 4);

      // Organization filter: members only; unknown organization 404.
      const orgId = randomUUID();
      const now = t.clock.now();
      await t.c.store.db
        .insertInto('organizations')
        .values({
          id: orgId,
          name: 'Acme',
          slug: 'acme',
          metadata: '{}',
          created_at: now,
          updated_at: now,
        } as never)
        .execute();
      await t.c.store.db
        .insertInto('organization_members')
        .values({ organization_id: orgId, user_id: alice.id, role: 'owner', joined_at: now } as never)
        .execute();
      assert.deepEqual(await emails(`organization_id=${orgId}`), ['alice@example.com']);
      await refuse(
        404,
        'NOT_FOUND_ERROR',
        'GET',
        `/api/v1/users?organization_id=${randomUUID()}`,
        admin.token,
      );

      const before = await state();
      for (const qs of [
        'per_page=101',
        'per_page=0',
        'page=0',
        'page=x',
        'sort=password',
        'status=gone',
        'email_verified=maybe',
        'created_after=yesterday',
        'organization_id=acme',
        `search=${'a'.repeat(101)}`,
      ])
        await refuse(422, 'VALIDATION_ERROR', 'GET', `/api/v1/users?${qs}`, admin.token);
      assert.equal(await state(), before, 'bad input changes nothing');
    });

    test('GET /users/{id} and /users/me: admin any, self, other 403, unknown 404, malformed 422', async () => {
      const dan = await signUp('dan@example.com');
      const eve = await signUp('eve@example.com');
      assert.equal(
        (await call('GET', `/api/v1/users/${dan.id}`, admin.token)).body['email'],
        'dan@example.com',
      );
      assert.equal(
        (await call('GET', `/api/v1/users/${dan.id}`, dan.token)).body['email'],
        'dan@example.com',
      );
      const me = await call('GET', '/api/v1/users/me', dan.token);
      assert.equal(me.status, 200, '/users/me is not taken for a user id');
      assert.equal(me.body['id'], dan.id);
      await refuse(403, 'AUTHORIZATION_ERROR', 'GET', `/api/v1/users/${dan.id}`, eve.token);
      await refuse(403, 'AUTHORIZATION_ERROR', 'GET', `/api/v1/users/${randomUUID()}`, eve.token);
      await refuse(401, 'AUTHENTICATION_ERROR', 'GET', `/api/v1/users/${dan.id}`);
      await refuse(401, 'AUTHENTICATION_ERROR', 'GET', '/api/v1/users/me');
      await refuse(404, 'NOT_FOUND_ERROR', 'GET', `/api/v1/users/${randomUUID()}`, admin.token);
      for (const bad of ['123', 'dan@example.com', `${dan.id}x`, "1'%20or%20'1'='1"])
        await refuse(422, 'VALIDATION_ERROR', 'GET', `/api/v1/users/${bad}`, admin.token);
      assert.equal(
        (await call('GET', `/api/v1/users/${dan.id.toUpperCase()}`, admin.token)).body['id'],
        dan.id,
        'UUIDs are case-insensitive',
      );
    });

    test('PATCH /users/{id} and /users/me: profile for self, privileged fields for admins, 409 on email', async () => {
      const fay = await signUp('fay@example.com');
      const gus = await signUp('gus@example.com');
      const r = await call('PATCH', `/api/v1/users/${fay.id}`, fay.token, {
        first_name: 'Fay',
        timezone: 'UTC',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['first_name'], 'Fay');
      assert.equal(r.body['timezone'], 'UTC');
      assert.deepEqual(await lastEvents(1), ['user.updated']);
      assert.equal(await audited('user.update', fay.id), 1);
      const me = await call('PATCH', '/api/v1/users/me', fay.token, { last_name: 'Me' });
      assert.equal(me.body['last_name'], 'Me');

      let before = await state();
      for (const body of [
        { is_admin: true },
        { email_verified: true },
        { status: 'suspended' },
        { email: 'f@x.io' },
      ])
        await refuse(403, 'AUTHORIZATION_ERROR', 'PATCH', `/api/v1/users/${fay.id}`, fay.token, body);
      await refuse(403, 'AUTHORIZATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, fay.token, {
        first_name: 'X',
      });
      await refuse(401, 'AUTHENTICATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, null, {
        first_name: 'X',
      });
      await refuse(422, 'VALIDATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, admin.token, {});
      await refuse(422, 'VALIDATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, admin.token, {
        is_admin: 'yes',
      });
      await refuse(422, 'VALIDATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, admin.token, {
        email: 'nope',
      });
      await refuse(422, 'VALIDATION_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, admin.token, {
        status: 'deleted',
      });
      await refuse(409, 'CONFLICT_ERROR', 'PATCH', `/api/v1/users/${gus.id}`, admin.token, {
        email: 'FAY@example.com',
      });
      await refuse(404, 'NOT_FOUND_ERROR', 'PATCH', `/api/v1/users/${randomUUID()}`, admin.token, {
        first_name: 'X',
      });
      assert.equal(await state(), before, 'refused edits change nothing');

      const a = await call('PATCH', `/api/v1/users/${gus.id}`, admin.token, {
        email: 'Gus2@Example.com',
        is_admin: true,
        email_verified: true,
      });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body['email'], 'gus2@example.com');
      assert.equal(a.body['is_admin'], true);
      assert.equal(a.body['email_verified'], true);
      assert.deepEqual((await lastEvents(2)).sort(), ['user.updated', 'user.verified']);
      // Status through PATCH has the effects of suspend.
      const s = await call('PATCH', `/api/v1/users/${gus.id}`, admin.token, { status: 'suspended' });
      assert.equal(s.body['status'], 'suspended');
      assert.equal(await tokenWorks(gus.token), false);
      before = await state();
      await refuse(409, 'CONFLICT_ERROR', 'PATCH', `/api/v1/users/${admin.id}`, admin.token, {
        is_admin: false,
      });
      assert.equal(await state(), before, 'the last active admin keeps the role');
    });

    test('suspend/reactivate: admins only; tokens stop at once; sign-in refused until reactivated', async () => {
      const hal = await signUp('hal@example.com');
      const ivy = await signUp('ivy@example.com');
      const refresh = (await signIn('hal@example.com')).body['refresh_token'] as string;
      let before = await state();
      await refuse(403, 'AUTHORIZATION_ERROR', 'POST', `/api/v1/users/${hal.id}/suspend`, ivy.token);
      await refuse(403, 'AUTHORIZATION_ERROR', 'POST', `/api/v1/users/${hal.id}/suspend`, hal.token);
      await refuse(401, 'AUTHENTICATION_ERROR', 'POST', `/api/v1/users/${hal.id}/suspend`);
      await refuse(404, 'NOT_FOUND_ERROR', 'POST', `/api/v1/users/${randomUUID()}/suspend`, admin.token);
      await refuse(422, 'VALIDATION_ERROR', 'POST', '/api/v1/users/nope/suspend', admin.token);
      await refuse(409, 'CONFLICT_ERROR', 'POST', `/api/v1/users/${admin.id}/suspend`, admin.token);
      assert.equal(await state(), before);

      const s = await call('POST', `/api/v1/users/${hal.id}/suspend`, admin.token);
      assert.equal(s.status, 200);
      assert.equal(s.body['status'], 'suspended');
      assert.equal(await tokenWorks(hal.token), false, 'the access token stops at once');
      await refuse(401, 'TOKEN_ERROR', 'GET', '/api/v1/users/me', hal.token);
      await refuse(401, 'TOKEN_ERROR', 'POST', '/api/v1/auth/refresh', null, { refresh_token: refresh });
      expectError(await signIn('hal@example.com'), 403, 'AUTHORIZATION_ERROR');
      const events = await lastEvents(3);
      assert.equal(events.filter((e) => e === 'session.revoked').length, 2);
      assert.ok(events.includes('user.suspended'));
      assert.equal(await audited('user.suspend', hal.id), 1);

      await refuse(403, 'AUTHORIZATION_ERROR', 'POST', `/api/v1/users/${hal.id}/reactivate`, ivy.token);
      const r = await call('POST', `/api/v1/users/${hal.id}/reactivate`, admin.token);
      assert.equal(r.body['status'], 'active');
      assert.deepEqual(await lastEvents(1), ['user.reactivated']);
      assert.equal((await signIn('hal@example.com')).status, 200);
      before = await state();
      assert.equal((await call('POST', `/api/v1/users/${hal.id}/reactivate`, admin.token)).status, 200);
      const after = JSON.parse(await state()) as { outbox: unknown };
      assert.deepEqual(
        after.outbox,
        (JSON.parse(before) as { outbox: unknown }).outbox,
        'no event for a no-op',
      );
    });

    test('DELETE: deactivates (self or admin) and revokes sessions; ?hard=true for admins, 409 for a sole owner', async () => {
      const jo = await signUp('jo@example.com');
      const kim = await signUp('kim@example.com');
      const lee = await signUp('lee@example.com');
      const before = await state();
      await refuse(403, 'AUTHORIZATION_ERROR', 'DELETE', `/api/v1/users/${jo.id}`, kim.token);
      await refuse(401, 'AUTHENTICATION_ERROR', 'DELETE', `/api/v1/users/${jo.id}`);
      await refuse(403, 'AUTHORIZATION_ERROR', 'DELETE', `/api/v1/users/${jo.id}?hard=true`, jo.token);
      await refuse(404, 'NOT_FOUND_ERROR', 'DELETE', `/api/v1/users/${randomUUID()}`, admin.token);
      await refuse(422, 'VALIDATION_ERROR', 'DELETE', '/api/v1/users/1', admin.token);
      await refuse(422, 'VALIDATION_ERROR', 'DELETE', `/api/v1/users/${jo.id}?hard=maybe`, admin.token);
      assert.equal(await state(), before);

      const d = await call('DELETE', `/api/v1/users/${jo.id}`, admin.token);
      assert.equal(d.status, 200);
      assert.deepEqual(d.body, { message: 'User deactivated', id: jo.id, hard: false, sessions_revoked: 1 });
      assert.equal(await tokenWorks(jo.token), false);
      assert.equal((await call('GET', `/api/v1/users/${jo.id}`, admin.token)).body['status'], 'deleted');
      expectError(await signIn('jo@example.com'), 401, 'AUTHENTICATION_ERROR');
      assert.ok((await lastEvents(2)).includes('user.deleted'));

      const self = await call('DELETE', '/api/v1/users/me', kim.token);
      assert.equal(self.status, 200);
      assert.equal(await tokenWorks(kim.token), false, 'deleting your own account signs you out');

      // Hard delete refused while lee is the only owner of an organization.
      const orgId = randomUUID();
      const now = t.clock.now();
      await t.c.store.db
        .insertInto('organizations')
        .values({
          id: orgId,
          name: 'Lee Co',
          slug: 'lee-co',
          metadata: '{}',
          created_at: now,
          updated_at: now,
        } as never)
        .execute();
      await t.c.store.db
        .insertInto('organization_members')
        .values({ organization_id: orgId, user_id: lee.id, role: 'owner', joined_at: now } as never)
        .execute();
      const held = await state();
      await refuse(409, 'CONFLICT_ERROR', 'DELETE', `/api/v1/users/${lee.id}?hard=true`, admin.token);
      assert.equal(await state(), held);
      await t.c.store.db
        .insertInto('organization_members')
        .values({ organization_id: orgId, user_id: admin.id, role: 'owner', joined_at: now } as never)
        .execute();
      const h = await call('DELETE', `/api/v1/users/${lee.id}?hard=true`, admin.token);
      assert.equal(h.status, 200, JSON.stringify(h.body));
      assert.equal(h.body['hard'], true);
      assert.equal(await tokenWorks(lee.token), false);
      await refuse(404, 'NOT_FOUND_ERROR', 'GET', `/api/v1/users/${lee.id}`, admin.token);
      assert.equal(await audited('user.delete', lee.id), 1);
      assert.equal((await lastEvents(1))[0], 'user.deleted');
    });

    test('lock/unlock: admins only; a lock refuses sign-in with the lockout answer', async () => {
      const max = await signUp('max@example.com');
      const before = await state();
      await refuse(403, 'AUTHORIZATION_ERROR', 'POST', `/api/v1/users/${max.id}/lock`, max.token);
      await refuse(422, 'VALIDATION_ERROR', 'POST', `/api/v1/users/${max.id}/lock`, admin.token, {
        minutes: 0,
      });
      await refuse(422, 'VALIDATION_ERROR', 'POST', `/api/v1/users/${max.id}/lock`, admin.token, {
        minutes: 'ten',
      });
      await refuse(404, 'NOT_FOUND_ERROR', 'POST', `/api/v1/users/${randomUUID()}/lock`, admin.token);
      await refuse(403, 'AUTHORIZATION_ERROR', 'POST', `/api/v1/users/${max.id}/unlock`, max.token);
      assert.equal(await state(), before);

      const l = await call('POST', `/api/v1/users/${max.id}/lock`, admin.token, { minutes: 30 });
      assert.equal(l.status, 200);
      assert.equal(l.body['locked_until'], new Date(t.clock.now().getTime() + 30 * 60_000).toISOString());
      assert.deepEqual(await lastEvents(1), ['user.locked']);
      const refused = await signIn('max@example.com');
      expectError(refused, 401, 'AUTHENTICATION_ERROR');
      assert.match(String(refused.body['detail']), /Too many failed sign-in attempts/);
      const u = await call('POST', `/api/v1/users/${max.id}/unlock`, admin.token);
      assert.equal(u.body['was_locked'], true);
      assert.deepEqual(await lastEvents(1), ['user.unlocked']);
      assert.equal((await signIn('max@example.com')).status, 200);
      const dflt = await call('POST', `/api/v1/users/${max.id}/lock`, admin.token);
      assert.equal(dflt.status, 200, 'the body is optional');
    });

    test('sessions: list with current flag, revoke one, revoke all (self or admin)', async () => {
      const ned = await signUp('ned@example.com');
      const second = (await signIn('ned@example.com')).body['access_token'] as string;
      const oz = await signUp('oz@example.com');
      const list = await call('GET', `/api/v1/users/${ned.id}/sessions`, ned.token);
      assert.equal(list.status, 200);
      const sessions = list.body as unknown as Body[];
      assert.equal(sessions.length, 2);
      assert.deepEqual(Object.keys(sessions[0]!).sort(), SESSION_FIELDS);
      assert.equal(sessions.filter((s) => s['current']).length, 1);
      const adminView = (await call('GET', `/api/v1/users/${ned.id}/sessions`, admin.token))
        .body as unknown as Body[];
      assert.equal(adminView.length, 2);
      assert.ok(adminView.every((s) => s['current'] === false));
      await refuse(403, 'AUTHORIZATION_ERROR', 'GET', `/api/v1/users/${ned.id}/sessions`, oz.token);
      await refuse(401, 'AUTHENTICATION_ERROR', 'GET', `/api/v1/users/${ned.id}/sessions`);
      await refuse(404, 'NOT_FOUND_ERROR', 'GET', `/api/v1/users/${randomUUID()}/sessions`, admin.token);

      const other = sessions.find((s) => !s['current'])!['id'] as string;
      const ozSession = (
        (await call('GET', `/api/v1/users/${oz.id}/sessions`, oz.token)).body as unknown as Body[]
      )[0]!['id'];
      const before = await state();
      await refuse(
        403,
        'AUTHORIZATION_ERROR',
        'DELETE',
        `/api/v1/users/${ned.id}/sessions/${other}`,
        oz.token,
      );
      await refuse(
        404,
        'NOT_FOUND_ERROR',
        'DELETE',
        `/api/v1/users/${ned.id}/sessions/${ozSession}`,
        ned.token,
      );
      await refuse(
        404,
        'NOT_FOUND_ERROR',
        'DELETE',
        `/api/v1/users/${ned.id}/sessions/${randomUUID()}`,
        ned.token,
      );
      await refuse(422, 'VALIDATION_ERROR', 'DELETE', `/api/v1/users/${ned.id}/sessions/xyz`, ned.token);
      await refuse(
        403,
        'AUTHORIZATION_ERROR',
        'POST',
        `/api/v1/users/${ned.id}/sessions/revoke-all`,
        oz.token,
      );
      assert.equal(await state(), before);

      const del = await call('DELETE', `/api/v1/users/${ned.id}/sessions/${other}`, ned.token);
      assert.equal(del.status, 200);
      assert.deepEqual(await lastEvents(1), ['session.revoked']);
      assert.equal(await tokenWorks(second), false, 'the revoked session’s token stops at once');
      assert.equal(await tokenWorks(ned.token), true);
      await refuse(404, 'NOT_FOUND_ERROR', 'DELETE', `/api/v1/users/${ned.id}/sessions/${other}`, ned.token);

      await signIn('ned@example.com');
      const all = await call('POST', `/api/v1/users/${ned.id}/sessions/revoke-all`, admin.token);
      assert.deepEqual(all.body, { message: 'Sessions revoked', sessions_revoked: 2 });
      assert.equal(await tokenWorks(ned.token), false);
      assert.equal(await audited('user.sessions.revoke_all', ned.id), 1);
    });
  });
}
