/** Sessions and rotating refresh tokens on every dialect: consume is atomic, revoke reports only its own work. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rotate } from '../../src/core/auth/rotation.js';
import { FixedClock } from '../../src/core/clock.js';
import { hashToken, randomToken } from '../../src/core/crypto/secrets.js';
import { rotations } from '../../src/core/store/repos/rotations.js';
import { refreshTokens, type Session, sessions } from '../../src/core/store/repos/sessions.js';
import { users } from '../../src/core/store/repos/users.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { at, DAY, MIN, type TestStore, testStore } from '../helpers/store.js';

async function newUser(store: Store): Promise<string> {
  const id = randomUUID();
  await users.insert(store.db, { id, email: `${id}@example.com`, now: at(0) });
  return id;
}

async function newSession(store: Store, userId: string, createdAt: Date, ttlMs = 7 * DAY): Promise<Session> {
  const s = {
    id: randomUUID(),
    userId,
    createdAt,
    lastUsedAt: createdAt,
    expiresAt: new Date(createdAt.getTime() + ttlMs),
    ip: '203.0.113.7',
    userAgent: 'contract-test',
  };
  await sessions.insert(store.db, s);
  return { ...s, revokedAt: null, revokeReason: null };
}

async function newToken(store: Store, sessionId: string, createdAt: Date, ttlMs = 7 * DAY): Promise<string> {
  const token = randomToken();
  await refreshTokens.insert(store.db, {
    id: randomUUID(),
    sessionId,
    tokenHash: hashToken(token),
    createdAt,
    expiresAt: new Date(createdAt.getTime() + ttlMs),
  });
  return token;
}

for (const dialect of dialects()) {
  describe(`sessions repository (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('insert / findById / findWithUser decode Dates and nulls', async () => {
      const userId = await newUser(t.store);
      const s = await newSession(t.store, userId, at(0));
      assert.deepEqual(await sessions.findById(t.store.db, s.id), s);
      const found = await sessions.findWithUser(t.store.db, s.id);
      assert.ok(found);
      assert.deepEqual(found.session, s);
      assert.equal(found.user.id, userId);
      assert.equal(typeof found.user.isAdmin, 'boolean');
      assert.ok(found.user.createdAt instanceof Date);
      assert.equal(await sessions.findById(t.store.db, randomUUID()), undefined);
      assert.equal(await sessions.findWithUser(t.store.db, randomUUID()), undefined);
    });

    it('listLive returns live sessions newest first, without revoked or expired ones', async () => {
      const userId = await newUser(t.store);
      const other = await newUser(t.store);
      const s1 = await newSession(t.store, userId, at(0));
      const s2 = await newSession(t.store, userId, at(MIN));
      const s3 = await newSession(t.store, userId, at(2 * MIN));
      const expired = await newSession(t.store, userId, at(3 * MIN), 10 * MIN);
      const revoked = await newSession(t.store, userId, at(4 * MIN));
      await newSession(t.store, other, at(5 * MIN));
      await sessions.revoke(t.store.db, [revoked.id], 'test', at(5 * MIN));
      const live = await sessions.listLive(t.store.db, userId, at(20 * MIN));
      assert.deepEqual(
        live.map((s) => s.id),
        [s3.id, s2.id, s1.id],
      );
      // Before the short session expires it is listed, in its place.
      const earlier = await sessions.listLive(t.store.db, userId, at(5 * MIN));
      assert.deepEqual(
        earlier.map((s) => s.id),
        [expired.id, s3.id, s2.id, s1.id],
      );
      // Expiry is exclusive: at exactly expires_at the session is gone.
      const atExpiry = await sessions.listLive(t.store.db, userId, at(13 * MIN));
      assert.ok(!atExpiry.some((s) => s.id === expired.id));
    });

    it('revoke returns only the ids it newly revoked and records when and why', async () => {
      const userId = await newUser(t.store);
      const a = await newSession(t.store, userId, at(0));
      const b = await newSession(t.store, userId, at(1));
      assert.deepEqual(await sessions.revoke(t.store.db, [], 'x', at(2)), []);
      assert.deepEqual(await sessions.revoke(t.store.db, [a.id], 'first', at(MIN)), [a.id]);
      const second = await sessions.revoke(t.store.db, [a.id, b.id, randomUUID()], 'second', at(2 * MIN));
      assert.deepEqual(second, [b.id], 'a was already revoked; the unknown id is ignored');
      const ra = await sessions.findById(t.store.db, a.id);
      assert.equal(ra?.revokeReason, 'first', 'a second revoke does not overwrite the first');
      assert.equal(ra?.revokedAt?.getTime(), at(MIN).getTime());
      assert.deepEqual(await sessions.revoke(t.store.db, [a.id, b.id], 'again', at(3 * MIN)), []);
    });

    it('revokeAllForUser revokes only that user’s live sessions', async () => {
      const userId = await newUser(t.store);
      const other = await newUser(t.store);
      const a = await newSession(t.store, userId, at(0));
      const b = await newSession(t.store, userId, at(1));
      const o = await newSession(t.store, other, at(2));
      await sessions.revoke(t.store.db, [a.id], 'earlier', at(3));
      assert.deepEqual(await sessions.revokeAllForUser(t.store.db, userId, 'all', at(4)), [b.id]);
      assert.equal((await sessions.findById(t.store.db, o.id))?.revokedAt, null);
    });

    it('touch moves last_used_at and expires_at', async () => {
      const userId = await newUser(t.store);
      const s = await newSession(t.store, userId, at(0));
      await sessions.touch(t.store.db, s.id, at(DAY), at(8 * DAY));
      const r = await sessions.findById(t.store.db, s.id);
      assert.equal(r?.lastUsedAt.getTime(), at(DAY).getTime());
      assert.equal(r?.expiresAt.getTime(), at(8 * DAY).getTime());
    });
  });

  describe(`refresh_tokens repository (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('consume spends a token once: ok, then reused', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0));
      assert.deepEqual(await refreshTokens.consume(t.store.db, hashToken(token), at(MIN)), {
        kind: 'ok',
        sessionId: s.id,
      });
      assert.deepEqual(await refreshTokens.consume(t.store.db, hashToken(token), at(2 * MIN)), {
        kind: 'reused',
        sessionId: s.id,
        usedAt: at(MIN),
      });
      const row = await t.store.db
        .selectFrom('refresh_tokens')
        .select('used_at')
        .where('token_hash', '=', hashToken(token))
        .executeTakeFirstOrThrow();
      assert.ok(row.used_at !== null);
    });

    it('10 concurrent consume() calls on one token: exactly one ok, the rest reused', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0));
      const results = await Promise.all(
        Array.from({ length: 10 }, () => refreshTokens.consume(t.store.db, hashToken(token), at(MIN))),
      );
      assert.equal(results.filter((r) => r.kind === 'ok').length, 1, JSON.stringify(results));
      assert.equal(results.filter((r) => r.kind === 'reused').length, 9, JSON.stringify(results));
      for (const r of results) assert.ok(r.kind !== 'invalid' && r.sessionId === s.id);
    });

    it('10 concurrent consume() calls, each in its own transaction: exactly one ok', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0));
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          t.store.transaction((tx) => refreshTokens.consume(tx, hashToken(token), at(MIN))),
        ),
      );
      assert.equal(results.filter((r) => r.kind === 'ok').length, 1, JSON.stringify(results));
      assert.equal(results.filter((r) => r.kind === 'reused').length, 9, JSON.stringify(results));
    });

    it('an expired or unknown token is invalid and stays unspent', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0), 10 * MIN);
      assert.deepEqual(await refreshTokens.consume(t.store.db, hashToken(token), at(10 * MIN)), {
        kind: 'invalid',
      });
      assert.deepEqual(await refreshTokens.consume(t.store.db, hashToken(token), at(DAY)), {
        kind: 'invalid',
      });
      assert.deepEqual(await refreshTokens.consume(t.store.db, hashToken(randomToken()), at(0)), {
        kind: 'invalid',
      });
      const row = await t.store.db
        .selectFrom('refresh_tokens')
        .select('used_at')
        .where('token_hash', '=', hashToken(token))
        .executeTakeFirstOrThrow();
      assert.equal(row.used_at, null);
    });

    it('sessionOf finds the session only for its own user', async () => {
      const userId = await newUser(t.store);
      const s = await newSession(t.store, userId, at(0));
      const token = await newToken(t.store, s.id, at(0));
      assert.equal(await refreshTokens.sessionOf(t.store.db, hashToken(token), userId), s.id);
      assert.equal(
        await refreshTokens.sessionOf(t.store.db, hashToken(token), await newUser(t.store)),
        undefined,
      );
    });

    it('rotations.apply: one batch rotates the live ones and changes nothing for the rest', async () => {
      const live = await newSession(t.store, await newUser(t.store), at(0));
      const liveToken = await newToken(t.store, live.id, at(0));
      const revoked = await newSession(t.store, await newUser(t.store), at(0));
      const revokedToken = await newToken(t.store, revoked.id, at(0));
      await sessions.revoke(t.store.db, [revoked.id], 'test', at(0));
      const suspendedUser = await newUser(t.store);
      await t.store.db
        .updateTable('users')
        .set({ status: 'suspended' })
        .where('id', '=', suspendedUser)
        .execute();
      const suspended = await newSession(t.store, suspendedUser, at(0));
      const suspendedToken = await newToken(t.store, suspended.id, at(0));
      const spentToken = await newToken(t.store, live.id, at(0));
      await refreshTokens.spend(t.store.db, hashToken(spentToken), at(0));
      const next = [randomToken(), randomToken(), randomToken(), randomToken(), randomToken(), randomToken()];
      const presented = [liveToken, revokedToken, suspendedToken, spentToken, randomToken(), liveToken];
      const results = await rotations.apply(
        t.store.db,
        dialect,
        presented.map((p, i) => ({ tokenHash: hashToken(p), nextHash: hashToken(next[i]!) })),
        at(MIN),
        at(8 * DAY),
      );
      // Only the first presentation of the live token rotates; its duplicate is left for the replay check.
      assert.deepEqual(
        results.map((r) => r?.session.id),
        [live.id, undefined, undefined, undefined, undefined, undefined],
      );
      // The answer is the session as stored after the statement, with its user as findWithUser reads them.
      assert.deepEqual(results[0], await sessions.findWithUser(t.store.db, live.id));
      assert.equal(results[0]!.session.expiresAt.getTime(), at(8 * DAY).getTime());
      assert.equal(results[0]!.session.lastUsedAt.getTime(), at(MIN).getTime());
      const state = async (token: string) => {
        const row = await t.store.db
          .selectFrom('refresh_tokens')
          .select('used_at')
          .where('token_hash', '=', hashToken(token))
          .executeTakeFirst();
        return row ? row.used_at : 'absent';
      };
      assert.notEqual(await state(liveToken), null, 'the live token is spent');
      assert.equal(await state(next[0]!), null, 'its successor is stored unspent');
      assert.equal(await state(revokedToken), null, 'the revoked session’s token is left unspent');
      assert.equal(await state(suspendedToken), null, 'the suspended user’s token is left unspent');
      for (const n of next.slice(1)) assert.equal(await state(n), 'absent');
      assert.equal(
        (await sessions.findById(t.store.db, revoked.id))?.expiresAt.getTime(),
        revoked.expiresAt.getTime(),
      );
      assert.deepEqual(await rotations.apply(t.store.db, dialect, [], at(MIN), at(DAY)), []);
      // An expired token is not rotated either, and a group of any size up to 64 is one statement.
      const expiring = await newToken(t.store, live.id, at(0), DAY);
      const batch = Array.from({ length: 64 }, (_, i) => ({
        tokenHash: hashToken(i === 63 ? expiring : randomToken()),
        nextHash: hashToken(randomToken()),
      }));
      assert.deepEqual(
        await rotations.apply(t.store.db, dialect, batch, at(2 * DAY), at(9 * DAY)),
        Array(64).fill(undefined),
      );
      assert.equal(await state(expiring), null);
    });

    it('findManyWithUser takes 1 to 64 ids (padded IN lists, one template per padded length)', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      for (const n of [1, 2, 3, 5, 17, 64]) {
        const ids = [s.id, ...Array.from({ length: n - 1 }, () => randomUUID())];
        const found = await sessions.findManyWithUser(t.store.db, ids);
        assert.deepEqual([...found.keys()], [s.id], `${n} ids`);
        assert.equal(found.get(s.id)?.session.userId, s.userId);
      }
      const found = await sessions.findManyWithUser(t.store.db, [s.id, randomUUID(), s.id]);
      assert.deepEqual([...found.keys()], [s.id]);
    });

    it('rotate does not fail beside another connection’s write transaction (SQLite: it waits)', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0));
      // A second connection to the same database: a CLI command or `janua cron` beside the daemon.
      const other = createStore(t.db.url);
      try {
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => {
          locked = r;
        });
        const writer = other.transaction(async (tx) => {
          await tx.updateTable('users').set({ locale: 'fr' }).where('id', '=', s.userId).execute();
          locked();
          await held;
        });
        await isLocked;
        const rotating = rotate(
          { store: t.store, clock: new FixedClock(at(MIN)) },
          { tokenHash: hashToken(token), nextHash: hashToken(randomToken()) },
          7 * DAY,
        );
        setTimeout(release, 300);
        await writer;
        const rotated = await rotating;
        assert.equal(rotated?.session.id, s.id);
        // SQLite has one writer: the statement took the write lock first, so it ran after the other
        // transaction and read its change. Postgres locks rows, and this rotation needed none of its.
        if (dialect === 'sqlite') assert.equal(rotated?.user.locale, 'fr');
      } finally {
        await other.destroy();
      }
    });

    it('token hashes are unique', async () => {
      const s = await newSession(t.store, await newUser(t.store), at(0));
      const token = await newToken(t.store, s.id, at(0));
      await assert.rejects(
        refreshTokens.insert(t.store.db, {
          id: randomUUID(),
          sessionId: s.id,
          tokenHash: hashToken(token),
          createdAt: at(0),
          expiresAt: at(DAY),
        }),
        /unique|duplicate/i,
      );
    });
  });
}
