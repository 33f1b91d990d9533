/**
 * Consent records in core, on every dialect: the append-only history and the current state per purpose,
 * withdraw (404 for a purpose never recorded, idempotent without a new row), the order under a fixed clock,
 * validation naming the field with nothing written, who may act (self, admin, CLI; another user → 403), the
 * audit row of every grant and withdrawal, and the erasure provider keeping the history under the pseudonym.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { listAuditEvents } from '../../src/core/admin/audit-log.js';
import type { Container } from '../../src/core/container.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import { CLI_CONTEXT, type RequestContext } from '../../src/core/events/events.js';
import { listConsents, recordConsent, withdrawConsent } from '../../src/core/gdpr/consent.js';
import { consentProvider } from '../../src/core/gdpr/providers/compliance.js';
import { createUser } from '../../src/core/users/service.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

function code(expected: ErrorCode, field?: string) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (field)
      assert.ok(
        err.fields && field in err.fields,
        `expected ${field} named, got ${JSON.stringify(err.fields)}`,
      );
    return true;
  };
}

async function rowCount(c: Container): Promise<number> {
  const r = await c.store.db
    .selectFrom('consent_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

for (const dialect of dialects()) {
  describe(`consent records (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });

    async function setup() {
      const t = await testContainer(dialect);
      open.push(t);
      const mk = (email: string, isAdmin = false) =>
        createUser(t.c, { email, password: GOOD_PASSWORD, isAdmin }, CLI_CONTEXT);
      const alice = await mk('alice@example.com');
      const bob = await mk('bob@example.com');
      const admin = await mk('admin@example.com', true);
      const as = (id: string, actorType: 'user' | 'admin' = 'user'): RequestContext => ({
        actorId: id,
        actorType,
        ip: '192.0.2.7',
        userAgent: 'consent-test',
        requestId: 'req-consent',
      });
      return { ...t, alice, bob, admin, as };
    }

    it('appends every grant and withdrawal; the newest row per purpose is the current state', async () => {
      const t = await setup();
      const me = t.as(t.alice.id);
      // The clock stands still: the order must still be the order of the calls.
      const g1 = await recordConsent(t.c, t.alice.id, { purpose: 'marketing.email', version: 'v1' }, me);
      assert.equal(g1.granted, true);
      assert.equal(g1.legal_basis, 'consent');
      assert.equal(g1.source, 'api');
      assert.equal(g1.ip, '192.0.2.7');
      assert.equal(g1.user_agent, 'consent-test');
      await recordConsent(t.c, t.alice.id, { purpose: 'analytics', legal_basis: 'legitimate_interests' }, me);
      const w = await withdrawConsent(t.c, t.alice.id, 'marketing.email', me);
      assert.equal(w.changed, true);
      assert.equal(w.granted, false);
      assert.equal(w.version, 'v1', 'a withdrawal names the version it withdraws');
      const again = await withdrawConsent(t.c, t.alice.id, 'marketing.email', me);
      assert.equal(again.changed, false, 'withdrawing twice writes nothing');
      assert.equal(again.recorded_at, w.recorded_at);
      const g2 = await recordConsent(t.c, t.alice.id, { purpose: 'marketing.email', version: 'v2' }, me);

      const list = await listConsents(t.c, t.alice.id, me);
      assert.equal(list.user_id, t.alice.id);
      assert.deepEqual(
        list.history.map((h) => [h.purpose, h.granted, h.version]),
        [
          ['marketing.email', true, 'v1'],
          ['analytics', true, null],
          ['marketing.email', false, 'v1'],
          ['marketing.email', true, 'v2'],
        ],
      );
      const times = list.history.map((h) => Date.parse(h.recorded_at));
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, 'strictly increasing');
      assert.deepEqual(
        list.consents.map((s) => [s.purpose, s.granted, s.legal_basis, s.version]),
        [
          ['analytics', true, 'legitimate_interests', null],
          ['marketing.email', true, 'consent', 'v2'],
        ],
      );
      assert.equal(list.history[3]!.id, g2.id);
      assert.equal(await rowCount(t.c), 4);

      // One audit row per row written, in the same transactions.
      const trail = await listAuditEvents(t.c, { action: 'consent.', targetId: t.alice.id });
      assert.deepEqual(trail.items.map((e) => e.action).reverse(), [
        'consent.granted',
        'consent.granted',
        'consent.withdrawn',
        'consent.granted',
      ]);
      assert.equal(trail.items[0]!.actor_id, t.alice.id);
      assert.equal(trail.items[0]!.metadata['purpose'], 'marketing.email');
      assert.equal(trail.items[0]!.metadata['version'], 'v2');
    });

    it('refuses bad input naming the field, and writes nothing', async () => {
      const t = await setup();
      const me = t.as(t.alice.id);
      const bad: Array<[object, string]> = [
        [{ purpose: '' }, 'purpose'],
        [{ purpose: 'Marketing' }, 'purpose'],
        [{ purpose: `p${'x'.repeat(64)}` }, 'purpose'],
        [{ purpose: '-x' }, 'purpose'],
        [{ purpose: 'ok', legal_basis: 'because' }, 'legal_basis'],
        [{ purpose: 'ok', version: 'v'.repeat(65) }, 'version'],
        [{ purpose: 'ok', version: 'a\nb' }, 'version'],
        [{ purpose: 'ok', source: 's'.repeat(65) }, 'source'],
        [{ purpose: 'ok', source: 'admin' }, 'source'],
        [{ purpose: 'ok', granted: 'yes' }, 'granted'],
      ];
      for (const [input, field] of bad)
        await assert.rejects(
          recordConsent(t.c, t.alice.id, input as never, me),
          code('VALIDATION_ERROR', field),
          JSON.stringify(input),
        );
      await assert.rejects(withdrawConsent(t.c, t.alice.id, 'BAD', me), code('VALIDATION_ERROR', 'purpose'));
      await assert.rejects(withdrawConsent(t.c, t.alice.id, 'never', me), code('NOT_FOUND_ERROR'));
      assert.equal(await rowCount(t.c), 0);
      const trail = await listAuditEvents(t.c, { action: 'consent.' });
      assert.equal(trail.total, 0);
    });

    it('a user acts on their own consents only; admins and the CLI on anyone’s', async () => {
      const t = await setup();
      await assert.rejects(
        recordConsent(t.c, t.bob.id, { purpose: 'x' }, t.as(t.alice.id)),
        code('AUTHORIZATION_ERROR'),
      );
      await assert.rejects(listConsents(t.c, t.bob.id, t.as(t.alice.id)), code('AUTHORIZATION_ERROR'));
      await assert.rejects(
        withdrawConsent(t.c, t.bob.id, 'x', t.as(t.alice.id)),
        code('AUTHORIZATION_ERROR'),
      );
      // Before the lookup: an unknown id is 403 too, not 404.
      await assert.rejects(
        listConsents(t.c, '00000000-0000-4000-8000-000000000000', t.as(t.alice.id)),
        code('AUTHORIZATION_ERROR'),
      );
      const byAdmin = await recordConsent(
        t.c,
        t.bob.id,
        { purpose: 'terms', version: '2026-01' },
        t.as(t.admin.id, 'admin'),
      );
      assert.equal(byAdmin.source, 'admin');
      const byCli = await recordConsent(t.c, 'bob@example.com', { purpose: 'newsletter' }, CLI_CONTEXT);
      assert.equal(byCli.source, 'cli');
      assert.equal(byCli.ip, null);
      const adminOwn = await recordConsent(t.c, t.admin.id, { purpose: 'terms' }, t.as(t.admin.id, 'admin'));
      assert.equal(adminOwn.source, 'api', 'an admin recording their own consent is an ordinary record');
      const list = await listConsents(t.c, t.bob.id, t.as(t.admin.id, 'admin'));
      assert.deepEqual(
        list.consents.map((s) => [s.purpose, s.source]),
        [
          ['newsletter', 'cli'],
          ['terms', 'admin'],
        ],
      );
      assert.equal((await listConsents(t.c, t.alice.id, t.as(t.alice.id))).history.length, 0);
      await assert.rejects(listConsents(t.c, 'nobody@example.com', CLI_CONTEXT), code('NOT_FOUND_ERROR'));
    });

    it('erasure keeps the history under the pseudonym, without ip and user agent', async () => {
      const t = await setup();
      const me = t.as(t.alice.id);
      await recordConsent(t.c, t.alice.id, { purpose: 'terms', version: '1' }, me);
      await withdrawConsent(t.c, t.alice.id, 'terms', me);
      const pseudonym = '11111111-2222-4333-8444-555555555555';
      const n = await t.c.store.transaction((tx) =>
        consentProvider.erase(tx, { userId: t.alice.id, pseudonym } as never, t.c as never, t.clock.now()),
      );
      assert.equal(n, 2);
      const rows = await t.c.store.db.selectFrom('consent_records').selectAll().execute();
      assert.equal(rows.length, 2);
      for (const r of rows) {
        assert.equal(r.user_id, pseudonym);
        assert.equal(r.ip, null);
        assert.equal(r.user_agent, null);
      }
    });
  });
}
