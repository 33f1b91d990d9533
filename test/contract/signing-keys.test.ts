/** The signing-key service on every dialect: ensure, rotate, retire and prune, with explicit times. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { SecretBox } from '../../src/core/crypto/secrets.js';
import { isJanuaError } from '../../src/core/errors.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { KeyRing } from '../../src/core/keys/keyring.js';
import { ensureKeys, type KeyDeps, pruneKeys, retireKey, rotateKeys } from '../../src/core/keys/keys.js';
import { type SigningKeyRow, signingKeys } from '../../src/core/store/repos/signing-keys.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { at, MIN, type TestStore, testStore } from '../helpers/store.js';

const ACCESS_MINUTES = 30;
const RELOAD_SECONDS = 30;
const CLOCK_SKEW_SECONDS = 120;
/** A retired key outlives its tokens by a reload interval and three clock skews (keys.ts retirementMarginMs). */
const MARGIN_MS = (RELOAD_SECONDS + 3 * CLOCK_SKEW_SECONDS) * 1000;

function byState(keys: SigningKeyRow[]) {
  return {
    active: keys.filter((k) => k.state === 'active'),
    next: keys.filter((k) => k.state === 'next'),
    retired: keys.filter((k) => k.state === 'retired'),
  };
}

async function auditActions(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('audit_events').select('action').orderBy('occurred_at').execute();
  return rows.map((r) => r.action);
}

for (const dialect of dialects()) {
  describe(`signing keys service (${dialect})`, () => {
    const open: TestStore[] = [];
    const extra: Store[] = [];
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.destroy();
      for (const t of open.splice(0)) await t.close();
    });

    async function setup(): Promise<{ deps: KeyDeps; clock: FixedClock; store: Store; url: string }> {
      const t = await testStore(dialect);
      open.push(t);
      const clock = new FixedClock(at(0));
      const box = new SecretBox(randomBytes(32));
      return {
        deps: {
          store: t.store,
          clock,
          box,
          config: {
            accessTokenMinutes: ACCESS_MINUTES,
            keysReloadSeconds: RELOAD_SECONDS,
            clockSkewSeconds: CLOCK_SKEW_SECONDS,
          },
        },
        clock,
        store: t.store,
        url: t.db.url,
      };
    }

    it('ensureKeys creates one active and one next key, then does nothing', async () => {
      const { deps, store } = await setup();
      assert.equal(await ensureKeys(deps), true);
      const keys = await signingKeys.list(store.db);
      const s = byState(keys);
      assert.equal(s.active.length, 1);
      assert.equal(s.next.length, 1);
      assert.equal(s.retired.length, 0);
      assert.equal(s.active[0]!.activatedAt?.getTime(), at(0).getTime());
      assert.equal(s.next[0]!.activatedAt, null);
      assert.equal(s.active[0]!.publicJwk['kid'], s.active[0]!.kid);
      assert.equal(s.active[0]!.publicJwk['alg'], 'RS256');
      assert.ok(!('d' in s.active[0]!.publicJwk), 'the public JWK has no private part');
      assert.match(s.active[0]!.privateKeyEnc, /^v2\./, 'the private key is sealed');
      assert.equal(await ensureKeys(deps), false);
      assert.equal((await signingKeys.list(store.db)).length, 2);
      assert.deepEqual(await auditActions(store), ['keys.created']);
    });

    it('two concurrent ensureKeys (two nodes) leave exactly one active and one next key', async () => {
      const { deps, store, url } = await setup();
      const other = createStore(url);
      extra.push(other);
      const results = await Promise.all([ensureKeys(deps), ensureKeys({ ...deps, store: other })]);
      assert.ok(results.includes(true));
      const s = byState(await signingKeys.list(store.db));
      assert.equal(s.active.length, 1, 'one active key');
      assert.equal(s.next.length, 1, 'one next key');
      assert.equal(s.retired.length, 0);
    });

    it('ensureKeys promotes an existing next key when there is no active one', async () => {
      const { deps, store, clock } = await setup();
      await ensureKeys(deps);
      const before = byState(await signingKeys.list(store.db));
      clock.set(at(MIN));
      await store.db.deleteFrom('signing_keys').where('kid', '=', before.active[0]!.kid).execute();
      assert.equal(await ensureKeys(deps), true);
      const after = byState(await signingKeys.list(store.db));
      assert.equal(after.active[0]!.kid, before.next[0]!.kid);
      assert.equal(after.active[0]!.activatedAt?.getTime(), at(MIN).getTime());
      assert.equal(after.next.length, 1);
      assert.notEqual(after.next[0]!.kid, before.next[0]!.kid);
    });

    it('rotateKeys: next → active, old active → retired until now + access lifetime + skew, a new next', async () => {
      const { deps, store, clock } = await setup();
      await ensureKeys(deps);
      const before = byState(await signingKeys.list(store.db));
      clock.set(at(10 * MIN));
      const r = await rotateKeys(deps, CLI_CONTEXT);
      assert.equal(r.activated, before.next[0]!.kid);
      assert.deepEqual(r.retired, [before.active[0]!.kid]);
      const keys = await signingKeys.list(store.db);
      const s = byState(keys);
      assert.deepEqual(
        s.active.map((k) => k.kid),
        [before.next[0]!.kid],
      );
      assert.deepEqual(
        s.next.map((k) => k.kid),
        [r.next],
      );
      assert.deepEqual(
        s.retired.map((k) => k.kid),
        [before.active[0]!.kid],
      );
      const retired = s.retired[0]!;
      assert.equal(retired.retiredAt?.getTime(), at(10 * MIN).getTime());
      assert.equal(retired.expiresAt?.getTime(), at(10 * MIN).getTime() + ACCESS_MINUTES * MIN + MARGIN_MS);
      assert.equal(s.active[0]!.activatedAt?.getTime(), at(10 * MIN).getTime());
      assert.deepEqual(await auditActions(store), ['keys.created', 'keys.rotated']);

      // A key ring loaded afterwards signs with the new active key and publishes all three.
      const ring = new KeyRing(store, deps.box);
      await ring.load();
      assert.equal(ring.signer().kid, r.activated);
      assert.deepEqual(
        ring
          .jwks()
          .keys.map((k) => k.kid)
          .sort(),
        keys.map((k) => k.kid).sort(),
      );
    });

    it('retireKey of the active key rotates first, so there is always a signer', async () => {
      const { deps, store, clock } = await setup();
      await ensureKeys(deps);
      const before = byState(await signingKeys.list(store.db));
      const oldActive = before.active[0]!.kid;
      clock.set(at(5 * MIN));
      const retired = await retireKey(deps, oldActive, CLI_CONTEXT);
      assert.equal(retired.kid, oldActive);
      assert.equal(retired.state, 'retired');
      assert.equal(retired.expiresAt?.getTime(), at(5 * MIN).getTime() + ACCESS_MINUTES * MIN + MARGIN_MS);
      const s = byState(await signingKeys.list(store.db));
      assert.deepEqual(
        s.active.map((k) => k.kid),
        [before.next[0]!.kid],
      );
      assert.equal(s.next.length, 1);
      // rotated and retired share one instant, so compare them as a set.
      assert.deepEqual((await auditActions(store)).sort(), ['keys.created', 'keys.retired', 'keys.rotated']);
    });

    it('retireKey of the next key replaces it; immediately=true makes it prunable at once', async () => {
      const { deps, store, clock } = await setup();
      await ensureKeys(deps);
      const before = byState(await signingKeys.list(store.db));
      clock.set(at(MIN));
      const r = await retireKey(deps, before.next[0]!.kid, CLI_CONTEXT, true);
      assert.equal(r.state, 'retired');
      assert.equal(r.expiresAt?.getTime(), at(MIN).getTime());
      const s = byState(await signingKeys.list(store.db));
      assert.deepEqual(
        s.active.map((k) => k.kid),
        [before.active[0]!.kid],
      );
      assert.equal(s.next.length, 1);
      assert.notEqual(s.next[0]!.kid, before.next[0]!.kid);
      assert.deepEqual(await pruneKeys(deps, CLI_CONTEXT), [before.next[0]!.kid]);
    });

    it('retireKey of an unknown kid is NOT_FOUND_ERROR', async () => {
      const { deps } = await setup();
      await ensureKeys(deps);
      await assert.rejects(retireKey(deps, 'no-such-kid', CLI_CONTEXT), (e: unknown) => {
        return isJanuaError(e) && e.code === 'NOT_FOUND_ERROR';
      });
    });

    it('pruneKeys removes only retired keys whose expiry has passed', async () => {
      const { deps, store, clock } = await setup();
      await ensureKeys(deps);
      const first = byState(await signingKeys.list(store.db)).active[0]!.kid;
      clock.set(at(MIN));
      await rotateKeys(deps, CLI_CONTEXT); // first retired until MIN + 30 min + skew
      const second = byState(await signingKeys.list(store.db)).active[0]!.kid;
      clock.set(at(20 * MIN));
      await rotateKeys(deps, CLI_CONTEXT); // second retired until 20 min + 30 min + skew
      const firstExpiry = at(MIN).getTime() + ACCESS_MINUTES * MIN + MARGIN_MS;

      clock.set(new Date(firstExpiry - 1));
      assert.deepEqual(await pruneKeys(deps, CLI_CONTEXT), [], 'nothing has expired yet');
      clock.set(new Date(firstExpiry));
      assert.deepEqual(await pruneKeys(deps, CLI_CONTEXT), [first]);
      const s = byState(await signingKeys.list(store.db));
      assert.deepEqual(
        s.retired.map((k) => k.kid),
        [second],
      );
      assert.equal(s.active.length, 1);
      assert.equal(s.next.length, 1);
      clock.set(at(10 * 24 * 60 * MIN));
      assert.deepEqual(await pruneKeys(deps, CLI_CONTEXT), [second]);
      assert.equal((await signingKeys.list(store.db)).length, 2, 'active and next are never pruned');
      assert.equal((await auditActions(store)).filter((a) => a === 'keys.pruned').length, 2);
    });

    it('a node finds a key activated since its last reload, however recent that reload, and two in a row', async () => {
      const { deps, url } = await setup();
      await ensureKeys(deps);
      // Node B: its own connection and key ring, freshly loaded (as a periodic reload had just run).
      const other = createStore(url);
      extra.push(other);
      const ring = new KeyRing(other, deps.box);
      await ring.load();
      // Two rotations elsewhere, each activating a key node B has never seen (the second one's `next` was made
      // by the first rotation, after B loaded).
      await rotateKeys(deps, CLI_CONTEXT);
      await rotateKeys(deps, CLI_CONTEXT);
      const first = byState(await signingKeys.list(deps.store.db)).active[0]!.kid;
      assert.ok(await ring.verifier(first), 'found by a reload the unknown kid triggered');
      await rotateKeys(deps, CLI_CONTEXT);
      const second = byState(await signingKeys.list(deps.store.db)).active[0]!.kid;
      assert.notEqual(second, first);
      assert.ok(await ring.verifier(second), 'the next unknown kid waits for the next allowed reload');
      assert.equal(await ring.verifier('no-such-kid'), undefined, 'a kid no one published stays unknown');
    });
  });
}
