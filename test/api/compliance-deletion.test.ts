/**
 * `/api/v1/compliance/data-deletion` in process (app.inject over a real database), on every dialect: a user
 * files (with their password), lists and cancels their own request; an admin lists everyone's, files for
 * another user and executes at once; bad input — no token, malformed body, unknown user, another user's
 * account, a second request, a wrong password — gets the documented error body and writes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { call, makeUser, type TestUser } from '../helpers/orgs.js';

const URL = '/api/v1/compliance/data-deletion';

for (const dialect of dialects()) {
  describe(`compliance data-deletion API (${dialect})`, () => {
    let t: TestApp;
    let admin: TestUser;
    let ann: TestUser;
    let ben: TestUser;
    const requests = async () =>
      (await t.c.store.db.selectFrom('gdpr_requests').selectAll().execute()).length;

    before(async () => {
      t = await testApp(dialect, { MFA_RECENT_SIGNIN_MINUTES: '0' });
      admin = await makeUser(t, 'admin', { admin: true });
      ann = await makeUser(t, 'ann');
      ben = await makeUser(t, 'ben');
    });
    after(async () => t?.close());

    it('refuses bad input with the documented body and writes nothing', async () => {
      const before = await requests();
      const cases: Array<[number, string, Parameters<typeof call>[3]]> = [
        [401, 'AUTHENTICATION_ERROR', { body: {} }],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: { password: 12345 } }],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: { immediate: 'yes' } }],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: {} }],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: { password: 'Wrong-password-1!' } }],
        [
          403,
          'AUTHORIZATION_ERROR',
          { token: ann.token, body: { user_id: ben.id, password: GOOD_PASSWORD } },
        ],
        [
          403,
          'AUTHORIZATION_ERROR',
          { token: ann.token, body: { password: GOOD_PASSWORD, immediate: true } },
        ],
        [404, 'NOT_FOUND_ERROR', { token: admin.token, body: { user_id: 'nobody@example.com' } }],
        [422, 'VALIDATION_ERROR', { token: admin.token, body: { user_id: ben.id, reason: 'x'.repeat(501) } }],
      ];
      for (const [status, code, opts] of cases) {
        const r = await call(t, 'POST', URL, opts);
        assert.equal(r.statusCode, status, `${JSON.stringify(opts?.body)}: ${r.body}`);
        assert.equal(r.data.error_code, code);
        assert.equal(r.data.status_code, status);
        assert.equal(typeof r.data.detail, 'string');
      }
      const bad = await call(t, 'DELETE', URL, { token: ann.token });
      assert.equal(bad.statusCode, 404, 'nothing to cancel');
      assert.equal(await requests(), before);
    });

    it('a user files with their password, lists and cancels; a second request is 409', async () => {
      const r = await call(t, 'POST', URL, {
        token: ann.token,
        body: { password: GOOD_PASSWORD, reason: 'moving on' },
      });
      assert.equal(r.statusCode, 202, r.body);
      assert.equal(r.data.request.status, 'pending');
      assert.equal(r.data.request.user_id, ann.id);
      assert.equal(r.data.receipt, undefined);
      const days = (Date.parse(r.data.request.due_at) - Date.parse(r.data.request.created_at)) / 86_400_000;
      assert.equal(days, 30);
      const again = await call(t, 'POST', URL, { token: ann.token, body: { password: GOOD_PASSWORD } });
      assert.equal(again.statusCode, 409);
      assert.equal(again.data.error_code, 'CONFLICT_ERROR');
      const mine = await call(t, 'GET', URL, { token: ann.token });
      assert.deepEqual(
        mine.data.data.map((x: { id: string }) => x.id),
        [r.data.request.id],
      );
      const theirs = await call(t, 'GET', `${URL}?user_id=${ben.id}`, { token: ann.token });
      assert.equal(theirs.statusCode, 403);
      const all = await call(t, 'GET', `${URL}?status=pending`, { token: admin.token });
      assert.ok(all.data.data.some((x: { id: string }) => x.id === r.data.request.id));
      const cancel = await call(t, 'DELETE', URL, { token: ann.token });
      assert.equal(cancel.statusCode, 200, cancel.body);
      assert.equal(cancel.data.request.status, 'cancelled');
      const me = await call(t, 'GET', '/api/v1/auth/me', { token: ann.token });
      assert.equal(me.statusCode, 200, 'the account is untouched');
    });

    it('an admin erases another user at once: their token stops working, a receipt comes back', async () => {
      const r = await call(t, 'POST', URL, {
        token: admin.token,
        body: { user_id: ben.email, immediate: true },
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.data.request.status, 'completed');
      assert.notEqual(r.data.request.user_id, ben.id, 'the request now names the pseudonym');
      assert.equal(r.data.receipt.subject, r.data.request.user_id);
      assert.ok(r.data.receipt.steps.profile === 1);
      assert.ok(!JSON.stringify(r.data).includes(ben.email));
      const me = await call(t, 'GET', '/api/v1/auth/me', { token: ben.token });
      assert.equal(me.statusCode, 401);
      const signin = await call(t, 'POST', '/api/v1/auth/signin', {
        body: { email: ben.email, password: GOOD_PASSWORD },
      });
      assert.equal(signin.statusCode, 401);
    });

    it('an admin executes a pending request; a non-admin cannot', async () => {
      const r = await call(t, 'POST', URL, { token: ann.token, body: { password: GOOD_PASSWORD } });
      assert.equal(r.statusCode, 202);
      const denied = await call(t, 'POST', `${URL}/${r.data.request.id}/execute`, { token: ann.token });
      assert.equal(denied.statusCode, 403);
      const badId = await call(t, 'POST', `${URL}/not-a-uuid/execute`, { token: admin.token });
      assert.equal(badId.statusCode, 422);
      const done = await call(t, 'POST', `${URL}/${r.data.request.id}/execute`, { token: admin.token });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.data.request.status, 'completed');
      const twice = await call(t, 'POST', `${URL}/${r.data.request.id}/execute`, { token: admin.token });
      assert.equal(twice.statusCode, 409);
    });
  });
}
