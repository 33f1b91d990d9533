/**
 * Export and erasure through the personal-data registry, on every dialect. A person with data in every module
 * (test/helpers/gdpr.ts) is exported — every provider has their items and none of another user's — then
 * erased: a dump of every text column of every table finds no trace of their email, names, phone, IP or
 * user agent, the audit trail keeps every row (under the pseudonym), other users are untouched, and a second
 * erasure changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signInWithMfa } from '../../src/core/auth/service.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { executeErasure } from '../../src/core/gdpr/erase.js';
import { collectUserData, PROVIDERS } from '../../src/core/gdpr/registry.js';
import { pseudonymOf } from '../../src/core/gdpr/subject.js';
import { isMfaRequired } from '../../src/core/mfa/challenge.js';
import { allTables } from '../../src/core/store/introspect.js';
import { insertGdprRequest } from '../../src/core/store/repos/gdpr-requests.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import {
  drainOutbox,
  dumpDatabase,
  type Person,
  runEmailFlows,
  seedPerson,
  traces,
} from '../helpers/gdpr.js';
import { makeEndpoint } from '../helpers/webhooks.js';

/** True when the section holds at least one item. */
function hasItems(data: unknown): boolean {
  if (Array.isArray(data)) return data.length > 0;
  if (data && typeof data === 'object')
    return Object.values(data).some((v) => (Array.isArray(v) ? v.length > 0 : v !== null && v !== undefined));
  return data !== null && data !== undefined;
}

const found = (rows: Array<{ table: string; row: string }>, needles: string[]) =>
  rows.flatMap(({ table, row }) =>
    needles
      .filter((n) => row.toLowerCase().includes(n.toLowerCase()))
      .map((n) => `${table}: ${n} in ${row.slice(0, 300)}`),
  );

for (const dialect of dialects()) {
  describe(`GDPR export and erasure (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let owner: Person & { orgId: string };
    let victim: Person & { orgId: string };
    let bystander: Person & { orgId: string };
    let tables: string[];

    before(async () => {
      t = await testContainer(dialect, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
      await makeEndpoint(t.c, { url: 'http://127.0.0.1:9/hook', events: ['*'] });
      owner = await seedPerson(t.c, { first: 'Olga', last: 'Ostrowska', ip: '198.51.100.7' });
      const org = { id: owner.id, orgId: owner.orgId };
      victim = await seedPerson(t.c, {
        first: 'Veronika',
        last: 'Vandersloot',
        ip: '203.0.113.77',
        orgOwner: org,
      });
      bystander = await seedPerson(t.c, { first: 'Bruno', last: 'Bystrom', ip: '192.0.2.99', orgOwner: org });
      await runEmailFlows(t.c);
      await insertGdprRequest(
        t.c.store.db,
        {
          id: randomUUID(),
          kind: 'export',
          userId: victim.id,
          status: 'completed',
          requestedBy: victim.id,
          requestedByType: 'user',
          format: 'zip',
        },
        t.clock.now(),
      );
      await drainOutbox(t.c);
      tables = (await allTables(t.c.store)).map((x) => x.name);
    });

    after(async () => {
      await t?.close();
    });

    it('an export holds every provider’s items about the user and nothing of other users', async () => {
      const { sections } = await collectUserData(t.c, victim.id);
      assert.deepEqual(
        sections.map((s) => s.name),
        PROVIDERS.map((p) => p.name),
      );
      const empty = sections.filter((s) => !hasItems(s.data)).map((s) => s.name);
      assert.deepEqual(empty, [], 'sections without the seeded items');
      const text = JSON.stringify(sections);
      for (const v of traces(victim))
        assert.ok(text.toLowerCase().includes(v.toLowerCase()), `export lacks ${v}`);
      for (const other of [owner, bystander])
        for (const v of [...traces(other), other.id])
          assert.ok(!text.toLowerCase().includes(v.toLowerCase()), `export holds another user's ${v}`);
      assert.ok(
        !/seed_box|code_hash|token_hash|password_hash|secret_box/.test(text),
        'export holds a secret',
      );
    });

    it('erasure leaves no trace of the user in any table, keeps the trail whole and other users intact', async () => {
      const auditBefore = (await t.c.store.db.selectFrom('audit_events').select('id').execute()).length;
      const bystanderBefore = found(await dumpDatabase(t.c, tables), [bystander.id]).length;
      const pseudonym = await pseudonymOf(t.c, victim.id);
      const r = await executeErasure(t.c, victim.id, CLI_CONTEXT);
      assert.equal(r.erased, true);
      assert.equal(r.receipt?.subject, pseudonym);
      assert.deepEqual(Object.keys(r.receipt!.steps).sort(), PROVIDERS.map((p) => p.name).sort());
      await drainOutbox(t.c);

      const dump = await dumpDatabase(t.c, tables);
      assert.deepEqual(found(dump, traces(victim)), [], 'traces of the erased user');
      // The id survives only where relying parties are told to erase: the user.deleted event and its delivery.
      const idRows = dump.filter(({ row }) => row.includes(victim.id));
      assert.ok(idRows.length >= 1);
      for (const { table, row } of idRows)
        assert.ok(row.includes('user.deleted'), `${table} still names the user: ${row.slice(0, 200)}`);
      // Every audit row is still there (one more: the erasure), the user's now under the pseudonym.
      const audit = await t.c.store.db.selectFrom('audit_events').selectAll().execute();
      assert.equal(audit.length, auditBefore + 1);
      assert.ok(audit.filter((a) => a.actor_id === pseudonym).length >= 3);
      assert.ok(audit.some((a) => a.action === 'gdpr.erasure.executed' && a.target_id === pseudonym));
      const consents = await t.c.store.db
        .selectFrom('consent_records')
        .selectAll()
        .where('user_id', '=', pseudonym)
        .execute();
      assert.equal(consents.length, 1);
      // Other users keep everything.
      for (const other of [owner, bystander])
        assert.deepEqual(
          traces(other).filter((v) => !found(dump, [v]).length),
          [],
          `${other.firstName} lost data`,
        );
      assert.equal(found(dump, [bystander.id]).length, bystanderBefore);
      const again = await signInWithMfa(t.c, { email: bystander.email, password: GOOD_PASSWORD }, {});
      assert.ok(isMfaRequired(again), 'the bystander’s password and second factor still stand');
      const theirs = await collectUserData(t.c, bystander.id);
      assert.ok(theirs.sections.every((s) => s.name === 'privacy_requests' || hasItems(s.data)));
      const member = await t.c.store.db
        .selectFrom('organization_members')
        .select('user_id')
        .where('organization_id', '=', owner.orgId)
        .execute();
      assert.deepEqual(member.map((m) => m.user_id).sort(), [owner.id, bystander.id].sort());
    });

    it('is idempotent: a second erasure finds nothing (unknown user: 404; a request: completed, no receipt)', async () => {
      const before = await dumpDatabase(t.c, tables);
      await assert.rejects(executeErasure(t.c, victim.id, CLI_CONTEXT), { code: 'NOT_FOUND_ERROR' });
      const id = randomUUID();
      const now = t.clock.now();
      await insertGdprRequest(
        t.c.store.db,
        { id, kind: 'erasure', userId: victim.id, requestedBy: null, requestedByType: 'cli', dueAt: now },
        now,
      );
      const r = await executeErasure(t.c, victim.id, CLI_CONTEXT, { requestId: id });
      assert.deepEqual(r, { erased: false, receipt: null });
      const receipts = await t.c.store.db.selectFrom('deletion_receipts').selectAll().execute();
      assert.equal(receipts.length, 1);
      const after = await dumpDatabase(t.c, tables);
      assert.equal(after.length, before.length + 1, 'only the request row is new');
    });
  });
}
