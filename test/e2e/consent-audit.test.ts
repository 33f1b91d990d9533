/**
 * Consent records and the audit-log export end to end on the spawned `janua serve`: a user records, withdraws
 * (both paths, the second idempotent) and reads their consents; another user's → 403; bad input → 422 with
 * nothing written; the bootstrap admin exports the audit trail as NDJSON (content type, one event per line,
 * oldest first, the consent rows in it), a non-admin gets 403; and `janua audit export` agrees with the API.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli } from '../helpers/janua.js';
import { assertError, type Call, e2eDaemon, PASSWORD, signIn, signUp } from './support.js';

const CONSENT = '/api/v1/compliance/consent';
const ADMIN_EMAIL = 'root-consent@example.com';

async function consentRows(store: Store): Promise<number> {
  const r = await store.db
    .selectFrom('consent_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

for (const dialect of dialects()) {
  describe(`e2e consent and audit export (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;
    e2eDaemon(
      dialect,
      {
        JANUA_MASTER_KEY: newMasterKey(),
        ADMIN_BOOTSTRAP_EMAIL: ADMIN_EMAIL,
        ADMIN_BOOTSTRAP_PASSWORD: PASSWORD,
      },
      (f) => {
        ({ d, call, store } = f);
      },
    );

    test('record, withdraw, read; another user 403; bad input 422; NDJSON export', async () => {
      const me = await signUp(call);
      const other = await signUp(call);
      const rec = await call('POST', CONSENT, {
        token: me.access_token,
        body: { purpose: 'marketing.email', version: '2026-12', legal_basis: 'consent' },
      });
      assert.equal(rec.status, 201, rec.text);
      assert.equal(rec.body.source, 'api');
      assert.equal(typeof rec.body.ip, 'string');
      const w = await call('POST', `${CONSENT}/withdraw`, {
        token: me.access_token,
        body: { purpose: 'marketing.email' },
      });
      assert.equal(w.status, 200, w.text);
      assert.equal(w.body.changed, true);
      const w2 = await call('DELETE', `${CONSENT}/marketing.email`, { token: me.access_token });
      assert.equal(w2.status, 200, w2.text);
      assert.equal(w2.body.changed, false);
      const g = await call('GET', CONSENT, { token: me.access_token });
      assert.equal(g.status, 200, g.text);
      assert.deepEqual(
        g.body.consents.map((c: { purpose: string; granted: boolean }) => [c.purpose, c.granted]),
        [['marketing.email', false]],
      );
      assert.equal(g.body.history.length, 2);

      const before = await consentRows(store);
      assertError(
        await call('GET', `${CONSENT}?user_id=${other.user.id}`, { token: me.access_token }),
        403,
        'AUTHORIZATION_ERROR',
        "another user's consents",
      );
      assertError(
        await call('POST', CONSENT, { token: me.access_token, body: { purpose: 'UPPER' } }),
        422,
        'VALIDATION_ERROR',
        'bad purpose',
      );
      assertError(
        await call('POST', CONSENT, { token: me.access_token, body: '{"purpose":' }),
        400,
        'BAD_REQUEST',
        'broken JSON',
      );
      assert.equal(await consentRows(store), before);

      const admin = await signIn(call, ADMIN_EMAIL);
      const ex = await call('GET', `/api/v1/audit-logs/export?user_id=${me.user.id}`, {
        token: admin.access_token,
      });
      assert.equal(ex.status, 200, ex.text);
      assert.match(String(ex.headers['content-type']), /^application\/x-ndjson/);
      const events = ex.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; action: string; occurred_at: string });
      const consent = events.filter((e) => e.action.startsWith('consent.')).map((e) => e.action);
      assert.deepEqual(consent, ['consent.granted', 'consent.withdrawn']);
      for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.occurred_at <= events[i]!.occurred_at);
      assertError(
        await call('GET', '/api/v1/audit-logs/export', { token: me.access_token }),
        403,
        'AUTHORIZATION_ERROR',
        'export as a user',
      );

      // The operator's export reads the same rows.
      const cli = await runCli(['audit', 'export', '--user', me.user.id], { env: d.env });
      assert.equal(cli.code, 0, cli.stderr);
      assert.deepEqual(
        cli.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: string }).id),
        events.map((e) => e.id),
      );
    });
  });
}
