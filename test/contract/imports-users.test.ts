/**
 * The users importer of `janua migrate auth0` (src/core/imports/users.ts) on every dialect: created, updated
 * and unchanged (a re-run writes nothing), conflicts reported and nothing written for them, identities,
 * status, dates and metadata carried, dry runs, the checkpoint in the batch's transaction, and password hashes
 * joined to imported users only — after which the user signs in with the original password.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { signIn } from '../../src/core/auth/service.js';
import type { FixedClock } from '../../src/core/clock.js';
import type { Container } from '../../src/core/container.js';
import type { RequestContext } from '../../src/core/events/events.js';
import type { ExternalUser, ImportDeps } from '../../src/core/imports/types.js';
import {
  importPasswordHashesBatch,
  importUsersBatch,
  usersNeedingPassword,
} from '../../src/core/imports/users.js';
import { passwordCredentials } from '../../src/core/store/repos/credentials.js';
import { userIdentities } from '../../src/core/store/repos/identities.js';
import { importRecords, importRuns } from '../../src/core/store/repos/imports.js';
import { sessions } from '../../src/core/store/repos/sessions.js';
import { users } from '../../src/core/store/repos/users.js';
import type { Store } from '../../src/core/store/store.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const CTX: RequestContext = { actorType: 'cli', actorId: null };
const SRC = 'auth0';
const PASSWORD = 'Original-Passw0rd!';
const WRITE = { dryRun: false };

let seq = 0;
function ext(over: Partial<ExternalUser> = {}): ExternalUser {
  const n = ++seq;
  const tag = randomUUID().slice(0, 8);
  return {
    index: n,
    externalId: `auth0|${tag}${n}`,
    email: `u${n}-${tag}@example.com`,
    emailVerified: true,
    username: null,
    firstName: 'Ada',
    lastName: 'Lovelace',
    displayName: 'Ada Lovelace',
    nickname: 'ada',
    pictureUrl: 'https://s.gravatar.com/avatar/x.png',
    phoneNumber: null,
    phoneVerified: false,
    createdAt: new Date('2019-03-04T05:06:07.000Z'),
    lastSignInAt: new Date('2024-01-02T03:04:05.000Z'),
    suspended: false,
    userMetadata: { theme: 'dark', nested: { a: [1, 2] } },
    appMetadata: { plan: 'pro' },
    identities: [],
    passwordHash: null,
    warnings: [],
    ...over,
  };
}

for (const dialect of dialects()) {
  describe(`import users batch (${dialect})`, () => {
    let c: Container;
    let clock: FixedClock;
    let close: () => Promise<void>;
    let hash: string;
    before(async () => {
      const t = await testContainer(dialect);
      c = t.c;
      clock = t.clock;
      close = t.close;
      hash = await bcrypt.hash(PASSWORD, 10);
    });
    after(() => close());

    const count = async (table: 'users' | 'outbox' | 'audit_events' | 'import_records' | 'user_identities') =>
      Number(
        (
          await c.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const snapshot = async () => ({
      users: await count('users'),
      outbox: await count('outbox'),
      audit: await count('audit_events'),
      records: await count('import_records'),
      identities: await count('user_identities'),
    });

    it('creates users with their fields, dates, status and metadata; a re-run writes nothing', async () => {
      const a = ext();
      const b = ext({ suspended: true, createdAt: null, lastSignInAt: null, phoneNumber: '+15551234567' });
      const out = await importUsersBatch(c, SRC, [a, b], WRITE, CTX);
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'created'],
      );
      // Time-ordered (UUID v7) ids: the indexes on user ids grow at their right edge.
      assert.match(out[0]!.userId!, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ua = await users.findById(c.store.db, out[0]!.userId!);
      assert.ok(ua);
      assert.equal(ua.email, a.email);
      assert.equal(ua.emailVerified, true);
      assert.equal(ua.firstName, 'Ada');
      assert.equal(ua.displayName, 'Ada Lovelace');
      assert.equal(ua.profileImageUrl, a.pictureUrl);
      assert.equal(ua.status, 'active');
      assert.equal(ua.createdAt.toISOString(), '2019-03-04T05:06:07.000Z', 'created_at preserved');
      assert.equal(ua.lastSignInAt?.toISOString(), '2024-01-02T03:04:05.000Z');
      assert.deepEqual(ua.userMetadata, a.userMetadata);
      const row = await c.store.db
        .selectFrom('users')
        .select(['nickname', 'app_metadata'])
        .where('id', '=', ua.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.nickname, 'ada');
      assert.deepEqual(
        typeof row.app_metadata === 'string' ? JSON.parse(row.app_metadata) : row.app_metadata,
        {
          plan: 'pro',
        },
      );
      const ub = await users.findById(c.store.db, out[1]!.userId!);
      assert.equal(ub?.status, 'suspended');
      assert.equal(ub?.createdAt.getTime(), c.clock.now().getTime(), 'no created_at: now');
      assert.equal(ub?.phoneNumber, '+15551234567');
      const events = await c.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('aggregate_id', 'in', [ua.id, ub!.id])
        .execute();
      assert.equal(events.length, 2);
      assert.ok(events.every((e) => e.event_type === 'user.created'));
      const recs = await importRecords.findMany(c.store.db, SRC, 'user', [a.externalId, b.externalId]);
      assert.equal(recs.get(a.externalId)?.localId, ua.id);
      assert.equal(recs.get(a.externalId)?.needsPassword, true);

      const before = await snapshot();
      const updatedAt = ua.updatedAt.getTime();
      const again = await importUsersBatch(c, SRC, [{ ...a }, { ...b }], WRITE, CTX);
      assert.deepEqual(
        again.map((o) => [o.status, o.userId]),
        [
          ['unchanged', ua.id],
          ['unchanged', ub!.id],
        ],
      );
      assert.deepEqual(await snapshot(), before, 're-run: no row written anywhere');
      assert.equal((await users.findById(c.store.db, ua.id))?.updatedAt.getTime(), updatedAt);
    });

    it('a changed record updates the fields, keeps auth0_roles, emits user.updated; suspension revokes', async () => {
      const a = ext();
      const [created] = await importUsersBatch(c, SRC, [a], WRITE, CTX);
      const id = created!.userId!;
      await c.store.db
        .updateTable('users')
        .set({ app_metadata: JSON.stringify({ plan: 'pro', auth0_roles: ['admin'] }) as never })
        .where('id', '=', id)
        .execute();
      // A session opened since the import: the suspension below must end it.
      await passwordCredentials.set(c.store.db, id, hash, clock.now());
      const live = await signIn(c, { email: a.email, password: PASSWORD }, CTX);
      clock.advance(60_000);
      const changed = {
        ...a,
        email: `new-${a.email}`,
        firstName: 'Augusta',
        suspended: true,
        appMetadata: { plan: 'enterprise' },
      };
      const [o] = await importUsersBatch(c, SRC, [changed], WRITE, CTX);
      assert.equal(o?.status, 'updated');
      assert.equal(o?.userId, id);
      const u = await users.findById(c.store.db, id);
      assert.equal(u?.email, changed.email);
      assert.equal(u?.firstName, 'Augusta');
      assert.equal(u?.status, 'suspended');
      assert.equal(u?.createdAt.toISOString(), '2019-03-04T05:06:07.000Z');
      const row = await c.store.db
        .selectFrom('users')
        .select('app_metadata')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      const app = typeof row.app_metadata === 'string' ? JSON.parse(row.app_metadata) : row.app_metadata;
      assert.deepEqual(app, { plan: 'enterprise', auth0_roles: ['admin'] });
      const types = (
        await c.store.db.selectFrom('outbox').select('event_type').where('aggregate_id', '=', id).execute()
      ).map((e) => e.event_type);
      assert.deepEqual(types.sort(), ['user.created', 'user.suspended', 'user.updated']);
      assert.ok((await sessions.findById(c.store.db, live.session.id))?.revokedAt, 'session revoked');
      // Only the fields that changed are named in the event.
      const upd = await c.store.db
        .selectFrom('outbox')
        .select('payload')
        .where('aggregate_id', '=', id)
        .where('event_type', '=', 'user.updated')
        .executeTakeFirstOrThrow();
      const payload = typeof upd.payload === 'string' ? JSON.parse(upd.payload) : upd.payload;
      assert.deepEqual([...payload.fields].sort(), ['appMetadata', 'email', 'firstName', 'status']);
      assert.equal(payload.source, 'auth0');
    });

    it('an email held by a Janua account or by another external id fails; nothing is written for it', async () => {
      const existing = await users.insert(c.store.db, {
        id: randomUUID(),
        email: `janua-${randomUUID().slice(0, 8)}@example.com`,
        firstName: 'Grace',
        now: c.clock.now(),
      });
      const beforeRow = await users.findById(c.store.db, existing.id);
      const first = ext();
      const sameBatchDup = ext({ email: first.email });
      const taken = ext({ email: existing.email, firstName: 'Mallory' });
      const fine = ext();
      const before = await count('users');
      const out = await importUsersBatch(c, SRC, [first, sameBatchDup, taken, fine], WRITE, CTX);
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'failed', 'created'],
      );
      assert.match(
        out[1]!.reason!,
        new RegExp(`record ${first.index} \\(${first.externalId.replace('|', '\\|')}\\)`),
      );
      assert.match(out[2]!.reason!, /not imported from auth0; that account is left untouched/);
      assert.equal(await count('users'), before + 2);
      assert.deepEqual(
        await users.findById(c.store.db, existing.id),
        beforeRow,
        'the Janua user is untouched',
      );
      const recs = await importRecords.findMany(c.store.db, SRC, 'user', [
        sameBatchDup.externalId,
        taken.externalId,
      ]);
      assert.equal(recs.size, 0, 'no import record for a failed user');
      // Across batches: the email now belongs to the user imported as `first`.
      const later = ext({ email: first.email });
      const [o] = await importUsersBatch(c, SRC, [later], WRITE, CTX);
      assert.equal(o?.status, 'failed');
      assert.match(o!.reason!, new RegExp(`imported from auth0 as ${first.externalId.replace('|', '\\|')}`));
    });

    it('links identities; one linked to another user fails the record', async () => {
      const gid = `g${randomUUID().slice(0, 8)}`;
      const social = ext({
        externalId: `google-oauth2|${gid}`,
        identities: [
          { provider: 'google-oauth2', providerUserId: gid, connection: 'google-oauth2', isSocial: true },
          {
            provider: 'github',
            providerUserId: `${gid}-gh`,
            connection: 'github',
            isSocial: true,
            profile: { login: 'ada' },
          },
        ],
      });
      const [o] = await importUsersBatch(c, SRC, [social], WRITE, CTX);
      assert.equal(o?.status, 'created');
      const linked = await userIdentities.listForUser(c.store.db, o!.userId!);
      assert.deepEqual(linked.map((i) => [i.provider, i.providerUserId, i.isSocial]).sort(), [
        ['github', `${gid}-gh`, true],
        ['google-oauth2', gid, true],
      ]);
      assert.deepEqual(linked.find((i) => i.provider === 'github')?.profile, { login: 'ada' });
      const thief = ext({
        identities: [
          { provider: 'github', providerUserId: `${gid}-gh`, connection: 'github', isSocial: true },
        ],
      });
      const [t] = await importUsersBatch(c, SRC, [thief], WRITE, CTX);
      assert.equal(t?.status, 'failed');
      assert.match(t!.reason!, /identity github\|.* already belongs to the user imported from auth0/);
      assert.equal(await users.findByEmail(c.store.db, thief.email), undefined);
    });

    it('dry run: the outcomes a real run would give, and nothing written', async () => {
      const known = ext();
      await importUsersBatch(c, SRC, [known], WRITE, CTX);
      const before = await snapshot();
      const out = await importUsersBatch(
        c,
        SRC,
        [
          known,
          { ...known, index: 99, externalId: `${known.externalId}-2` },
          ext(),
          { ...known, firstName: 'X' },
        ],
        { dryRun: true },
        CTX,
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['unchanged', 'failed', 'created', 'failed'],
      );
      const changedOnly = await importUsersBatch(
        c,
        SRC,
        [{ ...known, firstName: 'X' }],
        { dryRun: true },
        CTX,
      );
      assert.equal(changedOnly[0]?.status, 'updated');
      assert.deepEqual(await snapshot(), before);
    });

    it('the checkpoint commits in the batch transaction, and rolls back with it', async () => {
      const run = await importRuns.insert(
        c.store.db,
        { id: randomUUID(), source: SRC, inputKey: 'k1', phase: 'users' },
        c.clock.now(),
      );
      let txs = 0;
      let seenInTx: { position: number; user: boolean } | undefined;
      const a = ext();
      const spying: Store = {
        ...c.store,
        transaction: (fn) =>
          c.store.transaction(async (tx) => {
            txs++;
            const r = await fn(tx);
            seenInTx = {
              position: (await importRuns.findById(tx, run.id))!.position,
              user: !!(await users.findByEmail(tx, a.email)),
            };
            return r;
          }),
      };
      const deps: ImportDeps = { store: spying, clock: c.clock };
      const cp = { runId: run.id, phase: 'users', position: 7, stats: { created: 1 } };
      const [o] = await importUsersBatch(deps, SRC, [a], { dryRun: false, checkpoint: cp }, CTX);
      assert.equal(o?.status, 'created');
      assert.equal(txs, 1, 'one transaction for the batch');
      assert.deepEqual(seenInTx, { position: 7, user: true });
      assert.equal((await importRuns.findById(c.store.db, run.id))?.position, 7);

      // A crash before COMMIT: neither the user nor the checkpoint is left.
      const b = ext();
      const crashing: Store = {
        ...c.store,
        transaction: (fn) =>
          c.store.transaction(async (tx) => {
            await fn(tx);
            throw new Error('simulated crash before commit');
          }),
      };
      const cp2 = { ...cp, position: 8 };
      const [f] = await importUsersBatch(
        { store: crashing, clock: c.clock },
        SRC,
        [b],
        { dryRun: false, checkpoint: cp2 },
        CTX,
      );
      assert.equal(f?.status, 'failed');
      assert.equal(await users.findByEmail(c.store.db, b.email), undefined);
      assert.equal((await importRuns.findById(c.store.db, run.id))?.position, 7);
    });

    it('a record the database refuses is isolated; the rest of the batch is written', async () => {
      const good1 = ext();
      const bad = ext({ userMetadata: { note: 'nul \u0000 inside' } });
      const good2 = ext();
      const out = await importUsersBatch(c, SRC, [good1, bad, good2], WRITE, CTX);
      assert.deepEqual(
        out.map((o) => o.status),
        ['created', 'failed', 'created'],
      );
      assert.match(out[1]!.reason!, /the database refused it/);
      assert.equal(await users.findByEmail(c.store.db, bad.email), undefined);
    });

    it('hashes: set for imported users only, unchanged on re-run; the user signs in with the original password', async () => {
      const a = ext();
      const b = ext();
      const withHash = ext({ passwordHash: hash });
      const created = await importUsersBatch(c, SRC, [a, b, withHash], WRITE, CTX);
      const [ida, idb, idh] = created.map((o) => o.userId!);
      assert.equal(
        await passwordCredentials.getHash(c.store.db, idh!),
        hash,
        'a hash in the user record is kept',
      );
      const needing = await usersNeedingPassword(c, SRC, null, 10_000);
      assert.ok(needing.some((n) => n.userId === ida && n.email === a.email));
      assert.ok(!needing.some((n) => n.userId === idh));

      const outsider = await users.insert(c.store.db, {
        id: randomUUID(),
        email: `out-${randomUUID().slice(0, 8)}@example.com`,
        now: c.clock.now(),
      });
      const outsiderHash = await bcrypt.hash('Outsider-Passw0rd!', 4);
      await passwordCredentials.set(c.store.db, outsider.id, outsiderHash, c.clock.now());
      const lines = [
        { index: 1, externalId: a.externalId, email: null, hash },
        { index: 2, externalId: null, email: b.email, hash },
        { index: 3, externalId: null, email: outsider.email, hash },
        { index: 4, externalId: 'auth0|nobody', email: 'nobody@example.com', hash },
        { index: 5, externalId: withHash.externalId, email: null, hash },
      ];
      const dry = await importPasswordHashesBatch(c, SRC, lines, { dryRun: true }, CTX);
      assert.deepEqual(
        dry.map((o) => o.status),
        ['set', 'set', 'unmatched', 'unmatched', 'unchanged'],
      );
      assert.equal(await passwordCredentials.getHash(c.store.db, ida!), undefined, 'dry run wrote nothing');
      const out = await importPasswordHashesBatch(c, SRC, lines, WRITE, CTX);
      assert.deepEqual(
        out.map((o) => o.status),
        ['set', 'set', 'unmatched', 'unmatched', 'unchanged'],
      );
      assert.match(out[2]!.reason!, /not imported from auth0; its password is left untouched/);
      assert.equal(await passwordCredentials.getHash(c.store.db, outsider.id), outsiderHash);
      assert.equal(
        (await importRecords.findMany(c.store.db, SRC, 'user', [a.externalId])).get(a.externalId)
          ?.needsPassword,
        false,
      );
      const needingAfter = await usersNeedingPassword(c, SRC, null, 10_000);
      assert.ok(!needingAfter.some((n) => n.userId === ida || n.userId === idb));

      const audits = await count('audit_events');
      const again = await importPasswordHashesBatch(c, SRC, lines, WRITE, CTX);
      assert.deepEqual(
        again.map((o) => o.status),
        ['unchanged', 'unchanged', 'unmatched', 'unmatched', 'unchanged'],
      );
      assert.equal(await count('audit_events'), audits, 're-run: no audit row, nothing written');

      const s = await signIn(c, { email: a.email, password: PASSWORD }, CTX);
      assert.equal(s.user.id, ida);
      const s2 = await signIn(c, { email: withHash.email, password: PASSWORD }, CTX);
      assert.equal(s2.user.id, idh);
      await assert.rejects(signIn(c, { email: b.email, password: 'Wrong-Passw0rd!' }, CTX));
    });

    it('usersNeedingPassword pages by user id', async () => {
      const batch = [ext(), ext(), ext(), ext(), ext()];
      await importUsersBatch(c, SRC, batch, WRITE, CTX);
      const all: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await usersNeedingPassword(c, SRC, after, 2);
        if (page.length === 0) break;
        all.push(...page.map((p) => p.userId));
        after = page.at(-1)!.userId;
      }
      assert.deepEqual(all, [...all].sort());
      assert.equal(new Set(all).size, all.length);
      for (const u of batch) assert.ok(all.includes((await users.findByEmail(c.store.db, u.email))!.id));
    });
  });
}
