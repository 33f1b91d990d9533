/**
 * Importing organizations (src/core/imports/orgs.ts) on every dialect: slugs and their conflicts, re-runs that
 * write nothing, updates, bad records, dry runs (also of members and tenant roles) and checkpoints in the batch's
 * transaction. Members and roles: imports-org-members.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import {
  importMembershipsBatch,
  importOrganizationsBatch,
  importTenantRoles,
  slugCandidates,
} from '../../src/core/imports/orgs.js';
import type { ImportDeps } from '../../src/core/imports/types.js';
import { importRecords, importRuns } from '../../src/core/store/repos/imports.js';
import { organizations } from '../../src/core/store/repos/organizations.js';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { type ImportFixture, importFixture, org, payload, role, S, uid, write } from '../helpers/imports.js';

for (const dialect of dialects()) {
  describe(`organization imports (${dialect})`, () => {
    let f: ImportFixture;
    before(async () => {
      f = await importFixture(dialect);
    });
    after(() => f.t.close());

    it('creates organizations with their slugs, an organization.created event and an audit row each', async () => {
      const a = `org_${uid()}`;
      const b = `org_${uid()}`;
      const before = await f.counts();
      const out = await importOrganizationsBatch(
        f.deps,
        S,
        [
          org(b, `beta-${uid()}`, 'Beta', 2),
          { ...org(a, `acme-${uid()}`, 'Acme', 1), logoUrl: 'https://x.test/l.png' },
        ],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => [o.index, o.externalId, o.status]),
        [
          [1, a, 'created'],
          [2, b, 'created'],
        ],
      );
      const acme = await organizations.findById(f.t.store.db, out[0]!.organizationId!);
      assert.ok(acme);
      assert.equal(acme.name, 'Acme');
      assert.equal(acme.slug, out[0]!.slug);
      assert.match(acme.slug, /^acme-/);
      assert.equal(acme.logoUrl, 'https://x.test/l.png');
      assert.deepEqual(acme.metadata, { tier: 'gold' });
      assert.equal(acme.createdBy, null);
      const [ev] = await f.events('organization.created', acme.id);
      assert.ok(ev);
      assert.equal(payload(ev).external_id, a);
      const after = await f.counts();
      assert.equal(after['organizations']! - before['organizations']!, 2);
      assert.equal(after['audit_events']! - before['audit_events']!, 2);
      assert.equal(after['organization_members'], before['organization_members'], 'no owner is invented');
      const recs = await importRecords.findMany(f.t.store.db, S, 'organization', [a, b]);
      assert.equal(recs.get(a)?.localId, acme.id);
    });

    it('a slug taken by another organization gets the same hash suffix on every run', async () => {
      const slug = `taken-${uid()}`;
      await organizations.insert(f.t.store.db, {
        id: randomUUID(),
        name: 'Local',
        slug,
        requireMfa: false,
        description: null,
        logoUrl: null,
        metadata: {},
        createdBy: null,
        createdAt: f.clock.now(),
        updatedAt: f.clock.now(),
      });
      const x = org(`org_${uid()}`, slug, 'X', 1);
      const y = org(`org_${uid()}`, `dup-${uid()}`, 'Y1', 2);
      const z = { ...org(`org_${uid()}`, y.slug, 'Y2', 3) };
      const dry = await importOrganizationsBatch(f.deps, S, [x, y, z], { dryRun: true }, CLI_CONTEXT);
      const out = await importOrganizationsBatch(f.deps, S, [x, y, z], write, CLI_CONTEXT);
      assert.deepEqual(
        out.map((o) => o.slug),
        [slugCandidates(x)[1], y.slug, slugCandidates(z)[1]],
      );
      assert.match(out[0]!.slug!, new RegExp(`^${slug}-[0-9a-f]{8}$`));
      assert.deepEqual(
        dry.map((o) => o.slug),
        out.map((o) => o.slug),
        'a dry run predicts the same slugs',
      );
      const again = await importOrganizationsBatch(f.deps, S, [x, y, z], write, CLI_CONTEXT);
      assert.deepEqual(
        again.map((o) => [o.status, o.slug]),
        out.map((o) => ['unchanged', o.slug]),
      );
    });

    it('a re-run with the same input writes nothing; a changed display name updates the organization', async () => {
      const o = org(`org_${uid()}`, `rerun-${uid()}`, 'Before');
      const t0 = f.clock.now();
      const [first] = await importOrganizationsBatch(f.deps, S, [o], write, CLI_CONTEXT);
      const before = await f.counts();
      f.clock.advance(1000);
      const [second] = await importOrganizationsBatch(f.deps, S, [o], write, CLI_CONTEXT);
      assert.equal(second!.status, 'unchanged');
      assert.deepEqual(await f.counts(), before);
      const row = await organizations.findById(f.t.store.db, first!.organizationId!);
      assert.equal(row!.updatedAt.getTime(), t0.getTime(), 'not touched');
      const [third] = await importOrganizationsBatch(
        f.deps,
        S,
        [{ ...o, name: 'After' }],
        write,
        CLI_CONTEXT,
      );
      assert.equal(third!.status, 'updated');
      assert.equal(third!.slug, first!.slug);
      const updated = await organizations.findById(f.t.store.db, first!.organizationId!);
      assert.equal(updated!.name, 'After');
      assert.equal(updated!.updatedAt.getTime(), f.clock.now().getTime());
      const evs = await f.events('organization.updated', first!.organizationId!);
      assert.equal(evs.length, 1);
      assert.deepEqual(payload(evs[0]!).fields, ['name']);
    });

    it('refuses bad organizations and duplicates; the rest of the batch goes in', async () => {
      const good = org(`org_${uid()}`, `good-${uid()}`, 'Good', 1);
      const out = await importOrganizationsBatch(
        f.deps,
        S,
        [
          good,
          { ...org(`org_${uid()}`, 'Not A Slug', 'Bad', 2) },
          { ...good, index: 3 },
          org(`org_${uid()}`, `c-${uid()}`, 'A\u0007', 4),
        ],
        write,
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'failed', 'failed'],
      );
      assert.match(out[1]!.reason!, /is not a slug/);
      assert.equal(out[2]!.reason, 'duplicate of an earlier record');
      assert.match(out[3]!.reason!, /control characters/);
    });

    it('a dry run reports what a real run would do and writes nothing', async () => {
      const o = await f.importedOrg();
      const [u1] = await f.migratedUsers(1);
      const roles = new Map([role('r_x', 'Auditor', ['read:books'])].map((r) => [r.externalId, r]));
      const newOrg = org(`org_${uid()}`, `dry-${uid()}`);
      const checkpoint = { runId: randomUUID(), phase: 'orgs', position: 9, stats: {} };
      await importRuns.insert(
        f.t.store.db,
        { id: checkpoint.runId, source: S, inputKey: 'k', phase: 'users' },
        f.clock.now(),
      );
      const before = await f.counts();
      const dry = { dryRun: true, checkpoint };
      const orgsOut = await importOrganizationsBatch(f.deps, S, [newOrg], dry, CLI_CONTEXT);
      const membersOut = await importMembershipsBatch(
        f.deps,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: ['r_x'] }],
        roles,
        dry,
        CLI_CONTEXT,
      );
      const tenant = await importTenantRoles(
        f.deps,
        S,
        role('r_t', 'Staff'),
        [u1!.externalId],
        dry,
        CLI_CONTEXT,
      );
      assert.equal(orgsOut[0]!.status, 'created');
      assert.deepEqual([membersOut[0]!.status, membersOut[0]!.role], ['created', 'auditor']);
      assert.equal(tenant[0]!.status, 'updated');
      assert.deepEqual(await f.counts(), before);
      const run = await importRuns.findById(f.t.store.db, checkpoint.runId);
      assert.equal(run!.phase, 'users', 'no checkpoint either');
    });

    it('the checkpoint commits in the batch transaction', async () => {
      let transactions = 0;
      const seen: number[] = [];
      let runId = '';
      // The real store; its transaction also reads the run's position as the batch starts and as it ends.
      const counting: Store = {
        ...f.t.store,
        transaction: (fn) =>
          f.t.store.transaction(async (tx) => {
            transactions++;
            seen.push((await importRuns.findById(tx, runId))!.position);
            const result = await fn(tx);
            seen.push((await importRuns.findById(tx, runId))!.position);
            return result;
          }),
      };
      const d: ImportDeps = { store: counting, clock: f.clock };
      runId = randomUUID();
      await importRuns.insert(
        f.t.store.db,
        { id: runId, source: S, inputKey: `k-${uid()}`, phase: 'orgs' },
        f.clock.now(),
      );
      const o = org(`org_${uid()}`, `cp-${uid()}`);
      const cp = { runId, phase: 'orgs', position: 1, stats: { created: 1 } };
      const [out] = await importOrganizationsBatch(d, S, [o], { dryRun: false, checkpoint: cp }, CLI_CONTEXT);
      assert.equal(transactions, 1, 'one transaction for the batch and its checkpoint');
      assert.deepEqual(seen, [0, 1], 'the checkpoint was written inside it');
      assert.equal(out!.status, 'created');
      const run = await importRuns.findById(f.t.store.db, runId);
      assert.deepEqual([run!.phase, run!.position, run!.stats], ['orgs', 1, { created: 1 }]);
      const [u1] = await f.migratedUsers(1);
      transactions = 0;
      await importMembershipsBatch(
        d,
        S,
        o.externalId,
        [{ index: 1, userExternalId: u1!.externalId, roleExternalIds: [] }],
        new Map(),
        { dryRun: false, checkpoint: { ...cp, phase: 'members', position: 5 } },
        CLI_CONTEXT,
      );
      assert.equal(transactions, 1);
      assert.deepEqual(seen, [0, 1, 1, 5]);
      assert.equal((await importRuns.findById(f.t.store.db, runId))!.position, 5);
    });

    it('a record the write refuses fails alone; the others and the checkpoint commit', async () => {
      const runId = randomUUID();
      await importRuns.insert(
        f.t.store.db,
        { id: runId, source: S, inputKey: `k-${uid()}`, phase: 'orgs' },
        f.clock.now(),
      );
      const good1 = org(`org_${uid()}`, `iso-${uid()}`, 'One', 1);
      const bad = { ...org(`org_${uid()}`, `iso-${uid()}`, 'Bad', 2), metadata: { n: 10n } };
      const good2 = org(`org_${uid()}`, `iso-${uid()}`, 'Two', 3);
      const out = await importOrganizationsBatch(
        f.deps,
        S,
        [good1, bad, good2],
        { dryRun: false, checkpoint: { runId, phase: 'orgs', position: 3, stats: {} } },
        CLI_CONTEXT,
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'created'],
      );
      assert.match(out[1]!.reason!, /BigInt/);
      assert.ok(await organizations.findBySlug(f.t.store.db, good2.slug));
      assert.equal(await organizations.findBySlug(f.t.store.db, bad.slug), undefined);
      assert.equal((await importRuns.findById(f.t.store.db, runId))!.position, 3);
    });
  });
}
