/**
 * Export and erasure end to end on the spawned daemon, on every dialect. Export: a user queues one over HTTP,
 * the daemon's own job workers build it, and the user downloads the archive. Erasure: a user asks for erasure over HTTP (confirming
 * with their password), sees the request, and `janua cron run gdpr.erase-due` — the job a system cron or a
 * Kubernetes CronJob runs — executes it once due (GDPR_ERASURE_GRACE_DAYS=0 here): the user's token and
 * password stop working, the database holds no row with their email or name, the audit trail keeps its rows
 * under the pseudonym, and another user is untouched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli } from '../helpers/janua.js';
import {
  AUTH,
  assertError,
  type Call,
  DATA_TABLES,
  e2eDaemon,
  eventually,
  PASSWORD,
  signUp,
  uniqueEmail,
} from './support.js';

const DELETION = '/api/v1/compliance/data-deletion';

for (const dialect of dialects()) {
  describe(`e2e GDPR export and erasure (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;
    e2eDaemon(
      dialect,
      { JANUA_MASTER_KEY: newMasterKey(), GDPR_ERASURE_GRACE_DAYS: '0', MFA_RECENT_SIGNIN_MINUTES: '0' },
      (f) => {
        ({ d, call, store } = f);
      },
    );

    test('export over HTTP: the daemon’s workers build it, the user downloads it, another user cannot', async () => {
      const email = uniqueEmail('export-me');
      const me = await signUp(call, email, { first_name: 'Ximena' });
      const other = await signUp(call, uniqueEmail('nosy'));
      const r = await call('POST', '/api/v1/compliance/data-export', {
        token: me.access_token,
        body: { format: 'json' },
      });
      assert.equal(r.status, 202, r.text);
      const done = await eventually('the export to complete', 15_000, async () => {
        const s = await call('GET', `/api/v1/compliance/data-export/${r.body.id}`, {
          token: me.access_token,
        });
        return s.body.status === 'completed' ? s.body : undefined;
      });
      const d = await call('GET', done.download_url, { token: me.access_token });
      assert.equal(d.status, 200, d.text);
      assert.equal(d.headers['content-type'], 'application/json');
      assert.equal(d.body.data.profile.email, email);
      assert.equal(d.body.data.profile.first_name, 'Ximena');
      assert.ok(d.body.data.sessions.length >= 1);
      const nosy = await call('GET', done.download_url, { token: other.access_token });
      assertError(nosy, 404, 'NOT_FOUND_ERROR');
    });

    test('erasure requested over HTTP, executed by janua cron run gdpr.erase-due; nothing of the user remains', async () => {
      const email = uniqueEmail('erase-me');
      const me = await signUp(call, email, { first_name: 'Wilhelmina', last_name: 'Quarrington' });
      const other = await signUp(call, uniqueEmail('stays'), { first_name: 'Otto' });
      const noPassword = await call('POST', DELETION, { token: me.access_token, body: {} });
      assertError(noPassword, 422, 'VALIDATION_ERROR');
      // With MFA_RECENT_SIGNIN_MINUTES=0 even a fresh session confirms with the password.
      const filed = await call('POST', DELETION, {
        token: me.access_token,
        body: { reason: 'closing my account', password: PASSWORD },
      });
      assert.equal(filed.status, 202, filed.text);
      assert.equal(filed.body.request.status, 'pending');
      const listed = await call('GET', DELETION, { token: me.access_token });
      assert.equal(listed.body.data.length, 1);

      const run = await runCli(['cron', 'run', 'gdpr.erase-due', '--json'], { env: d.env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).rows_affected, 1);

      const whoami = await call('GET', `${AUTH}/me`, { token: me.access_token });
      assert.equal(whoami.status, 401);
      const signin = await call('POST', `${AUTH}/signin`, { body: { email, password: PASSWORD } });
      assertError(signin, 401, 'AUTHENTICATION_ERROR');
      for (const table of DATA_TABLES) {
        // biome-ignore lint/suspicious/noExplicitAny: every data table, read generically.
        const rows = await (store.db as any).selectFrom(table).selectAll().execute();
        const text = JSON.stringify(rows).toLowerCase();
        for (const trace of [email, 'wilhelmina', 'quarrington'])
          assert.ok(!text.includes(trace), `${table} still holds ${trace}`);
      }
      const erasedAudit = await store.db
        .selectFrom('audit_events')
        .select('action')
        .where('action', '=', 'gdpr.erasure.executed')
        .execute();
      assert.equal(erasedAudit.length, 1);
      const stillThere = await call('GET', `${AUTH}/me`, { token: other.access_token });
      assert.equal(stillThere.status, 200);
      assert.equal(stillThere.body.first_name ?? stillThere.body.user?.first_name, 'Otto');
      const again = await runCli(['cron', 'run', 'gdpr.erase-due', '--json'], { env: d.env });
      assert.equal(JSON.parse(again.stdout).rows_affected, 0);
    });
  });
}
