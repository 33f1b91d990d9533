/**
 * `/api/v1/compliance/data-export` in process over a real database, on every dialect, with the `gdpr.export`
 * job run as a worker would and a fixed clock: a user queues an export of their data, follows it and downloads
 * the archive (every provider's file, checksums that recompute, nothing of another user); an admin exports
 * someone else; another user's export is 404, a second open request 409, not ready 409, a bad format 422, an
 * unknown user 404, an expired link 404; `cleanup.exports` deletes the archive.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import { EXPORT_KIND, exportJobKind } from '../../src/core/gdpr/exports.js';
import { PROVIDERS } from '../../src/core/gdpr/registry.js';
import { runScheduledJob } from '../../src/core/jobs/run-scheduled.js';
import { findScheduledJob } from '../../src/core/jobs/scheduled.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { call, makeUser, type TestUser } from '../helpers/orgs.js';

const URL = '/api/v1/compliance/data-export';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

for (const dialect of dialects()) {
  describe(`compliance data-export API (${dialect})`, () => {
    let t: TestApp;
    let admin: TestUser;
    let ann: TestUser;
    let ben: TestUser;

    /** Runs the queued export jobs, as a worker does. */
    async function work(): Promise<number> {
      const kind = exportJobKind(t.c);
      const pending = await jobs.list(t.c.store.db, { kind: EXPORT_KIND, state: 'pending', limit: 50 });
      for (const j of pending) await kind.handle(j, { signal: new AbortController().signal });
      return pending.length;
    }
    const download = (id: string, token: string) =>
      t.app.inject({
        method: 'GET',
        url: `${URL}/${id}/download`,
        headers: { authorization: `Bearer ${token}` },
      });

    before(async () => {
      t = await testApp(dialect, { GDPR_EXPORT_LINK_HOURS: '2' });
      admin = await makeUser(t, 'admin', { admin: true });
      ann = await makeUser(t, 'ann');
      ben = await makeUser(t, 'ben');
    });
    after(async () => t?.close());

    it('refuses bad input with the documented body and writes nothing', async () => {
      const count = async () =>
        (await t.c.store.db.selectFrom('gdpr_requests').select('id').execute()).length;
      const before = await count();
      for (const [status, code, opts] of [
        [401, 'AUTHENTICATION_ERROR', {}],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: { format: 'xml' } }],
        [422, 'VALIDATION_ERROR', { token: ann.token, body: { format: 7 } }],
        [403, 'AUTHORIZATION_ERROR', { token: ann.token, body: { user_id: ben.id } }],
        [404, 'NOT_FOUND_ERROR', { token: admin.token, body: { user_id: 'nobody@example.com' } }],
      ] as const) {
        const r = await call(t, 'POST', URL, opts);
        assert.equal(r.statusCode, status, r.body);
        assert.equal(r.data.error_code, code);
      }
      assert.equal(await count(), before);
      const junk = await call(t, 'GET', `${URL}/not-a-uuid`, { token: ann.token });
      assert.equal(junk.statusCode, 422);
    });

    it('a user exports their data: queued, completed by the job, downloaded with checksums', async () => {
      const r = await call(t, 'POST', URL, { token: ann.token, body: {} });
      assert.equal(r.statusCode, 202, r.body);
      assert.equal(r.data.status, 'pending');
      assert.equal(r.data.format, 'zip');
      assert.equal(r.data.download_url, null);
      const again = await call(t, 'POST', URL, { token: ann.token, body: { format: 'json' } });
      assert.equal(again.statusCode, 409, 'one open export per user');
      const early = await download(r.data.id, ann.token);
      assert.equal(early.statusCode, 409, 'not ready');
      assert.equal(await work(), 1);
      const done = await call(t, 'GET', `${URL}/${r.data.id}`, { token: ann.token });
      assert.equal(done.data.status, 'completed');
      assert.equal(done.data.download_url, `${URL}/${r.data.id}/download`);
      assert.equal(Date.parse(done.data.expires_at) - Date.parse(done.data.completed_at), 2 * 3_600_000);

      const d = await download(r.data.id, ann.token);
      assert.equal(d.statusCode, 200);
      assert.equal(d.headers['content-type'], 'application/zip');
      assert.match(String(d.headers['content-disposition']), /^attachment; filename="janua-export-.*\.zip"$/);
      assert.equal(d.headers['x-content-sha256'], sha(d.rawPayload));
      const files = unzipSync(new Uint8Array(d.rawPayload));
      const manifest = JSON.parse(strFromU8(files['manifest.json']!));
      assert.deepEqual(
        Object.keys(files).sort(),
        ['manifest.json', ...PROVIDERS.map((p) => `${p.name}.json`)].sort(),
      );
      for (const f of manifest.files) assert.equal(sha(files[f.name]!), f.sha256, `${f.name} checksum`);
      const profile = JSON.parse(strFromU8(files['profile.json']!));
      assert.equal(profile.email, ann.email);
      const all = Object.values(files)
        .map((b) => strFromU8(b))
        .join('\n');
      assert.ok(!all.includes(ben.email) && !all.includes(admin.email), 'nothing of other users');

      const theirs = await download(r.data.id, ben.token);
      assert.equal(theirs.statusCode, 404, 'another user’s export does not exist for them');
      const byAdmin = await download(r.data.id, admin.token);
      assert.equal(byAdmin.statusCode, 200);
      const list = await call(t, 'GET', URL, { token: ann.token });
      assert.deepEqual(
        list.data.data.map((x: { id: string }) => x.id),
        [r.data.id],
      );
      const audits = await t.c.store.db
        .selectFrom('audit_events')
        .select('action')
        .where('action', 'like', 'gdpr.export.%')
        .execute();
      assert.deepEqual(audits.map((a) => a.action).sort(), [
        'gdpr.export.completed',
        'gdpr.export.downloaded',
        'gdpr.export.downloaded',
        'gdpr.export.requested',
      ]);
    });

    it('an admin exports another user as JSON; the link expires and cleanup.exports deletes the archive', async () => {
      const r = await call(t, 'POST', URL, {
        token: admin.token,
        body: { user_id: ben.email, format: 'json' },
      });
      assert.equal(r.statusCode, 202, r.body);
      assert.equal(r.data.user_id, ben.id);
      await work();
      const d = await download(r.data.id, ben.token);
      assert.equal(d.statusCode, 200);
      assert.equal(d.headers['content-type'], 'application/json');
      const doc = JSON.parse(d.body);
      assert.equal(doc.data.profile.email, ben.email);
      t.clock.advance(2 * 3_600_000 + 1000);
      const expired = await download(r.data.id, ben.token);
      assert.equal(expired.statusCode, 404);
      assert.match(JSON.parse(expired.body).detail, /expired/);
      const run = await runScheduledJob(t.c, findScheduledJob('cleanup.exports')!, { trigger: 'manual' });
      assert.ok(run.rows_affected >= 1);
      const left = await t.c.store.db.selectFrom('gdpr_exports').select('request_id').execute();
      assert.equal(left.length, 0);
      const status = await call(t, 'GET', `${URL}/${r.data.id}`, { token: ben.token });
      assert.equal(status.data.status, 'expired');
      const fresh = await call(t, 'POST', URL, { token: ben.token, body: {} });
      assert.equal(fresh.statusCode, 202, 'a new export may be requested');
    });
  });
}
