/**
 * The registry cannot fall behind the schema (issue 15): every column that names a user (user_id, *_by,
 * actor/target ids, import local ids, event aggregates) or carries an email, an IP, a user agent, a name or a
 * phone must be answered for by a provider — or be listed below with the reason it holds no personal data.
 * A new migration with such a column fails this test until its module registers a provider.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROVIDERS } from '../../src/core/gdpr/registry.js';
import { allTables } from '../../src/core/store/introspect.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const PERSONAL =
  /^(user_id|actor_id|target_id|local_id|aggregate_id|subject|email|to_address|from_address|ip|user_agent|phone_number|first_name|last_name|display_name|username|nickname|name|profile|payload|body|metadata|.*_by)$/;

/** Columns that match the pattern but hold no personal data, and why. */
const NOT_PERSONAL: Record<string, string> = {
  'mail_messages.from_address': 'the platform’s own sender address',
  'organizations.name': 'an organization, not a person',
  'organization_roles.name': 'a role name',
  'organizations.metadata': 'the organization’s application data',
  'deletion_receipts.subject': 'already the pseudonym (the receipt holds no personal data)',
  'janua_schema_migrations.name': 'a migration name',
  'leases.name': 'a scheduled job’s lease name',
  'sso_connections.name': 'an SSO connection’s label',
};

for (const dialect of dialects()) {
  describe(`personal-data registry (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    before(async () => {
      t = await testContainer(dialect);
    });
    after(async () => t?.close());

    it('every column naming a user or holding personal data has a provider', async () => {
      const covered = new Set(PROVIDERS.flatMap((p) => p.covers));
      const personal = (await allTables(t.c.store)).flatMap((tb) =>
        tb.columns.filter((c) => PERSONAL.test(c.name)).map((c) => `${tb.name}.${c.name}`),
      );
      assert.ok(personal.length > 30, 'the pattern finds the known columns');
      const missing = personal.filter((c) => !covered.has(c) && !(c in NOT_PERSONAL));
      assert.deepEqual(missing, [], 'columns no provider answers for');
    });

    it('every covered column exists (a provider does not claim what is not there)', async () => {
      const columns = new Set(
        (await allTables(t.c.store)).flatMap((tb) => tb.columns.map((c) => `${tb.name}.${c.name}`)),
      );
      for (const p of PROVIDERS)
        for (const c of p.covers) assert.ok(columns.has(c), `${p.name} covers ${c}, which does not exist`);
      const names = PROVIDERS.map((p) => p.name);
      assert.equal(new Set(names).size, names.length, 'provider names are unique (they are file names)');
    });
  });
}
