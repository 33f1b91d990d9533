/**
 * Fault 6: the clocks of two nodes differ by 2 minutes. Node A runs 2 minutes ahead (libfaketime preloaded
 * into the spawned daemon: Debian package `faketime`), node B on the real clock, both on one Postgres and one
 * Redis, with 1-minute access tokens so that the skew is larger than a token's whole life. Tokens minted on
 * either node are accepted by the other (access tokens on /auth/me, refresh tokens across nodes): a token from
 * B is already past its `exp` by A's clock and is accepted within the leeway (JWT_CLOCK_SKEW_SECONDS, 120 s
 * by default); a token from A carries an `iat` in B's future and is accepted. Node C, also 2 minutes ahead
 * but with the old 30 s leeway, refuses B's tokens: the leeway is what makes the difference.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase } from '../../helpers/db.js';
import type { Daemon } from '../../helpers/janua.js';
import { AUTH, assertError, type Call, client, decodeJwt, signIn, signUp, uniqueEmail } from '../support.js';
import { clusterEnv, startNodes } from './support.js';

/** libfaketime's preload library; a loud error naming the package when it is not installed. */
function libfaketime(): string {
  const candidates = ['/usr/lib', '/usr/lib64', '/usr/local/lib'].flatMap((root) => {
    if (!existsSync(root)) return [];
    const dirs = [root, ...readdirSync(root).map((d) => join(root, d))];
    return dirs.map((d) => join(d, 'faketime', 'libfaketime.so.1'));
  });
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      'The clock-skew test runs a daemon on a shifted clock with libfaketime, which is not installed: `apt-get install faketime` (.ci/run does).',
    );
  return found;
}

/** The environment that runs a daemon `offset` ahead ("+2m") of the real clock. */
function shifted(offset: string): Record<string, string> {
  return {
    LD_PRELOAD: libfaketime(),
    FAKETIME: offset,
    // Timers run on the monotonic clock: leave it alone, shift only the time of day (Date.now()).
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

describe('fault: clock skew of 2 minutes between nodes', {
  skip: dialects().includes('postgres')
    ? false
    : 'Postgres suites not selected (set JANUA_TEST_DATABASE_URL)',
}, () => {
  let db: TestDatabase;
  let nodes: Daemon[] = [];
  let a: Call;
  let b: Call;
  let c: Call;
  before(async () => {
    db = await createTestDatabase('postgres');
    const env = { ...clusterEnv('postgres'), JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '1' };
    nodes = await startNodes(3, db.url, env, (i) =>
      i === 0 ? shifted('+2m') : i === 2 ? { ...shifted('+2m'), JWT_CLOCK_SKEW_SECONDS: '30' } : {},
    );
    [a, b, c] = nodes.map((d) => client(d)) as [Call, Call, Call];
  });
  after(async () => {
    for (const d of nodes) await d.stop();
    await db?.drop();
  });

  test('node A really runs 2 minutes ahead of node B', async () => {
    const email = uniqueEmail('skew-clock');
    const onA = await signUp(a, email);
    const onB = await signIn(b, email);
    const iatA = Number(decodeJwt(onA.access_token).payload['iat']);
    const iatB = Number(decodeJwt(onB.access_token).payload['iat']);
    // Minted a moment apart, A's token first: its iat is ahead by the skew (give or take that moment).
    assert.ok(iatA - iatB >= 100 && iatA - iatB <= 140, `iat on A ${iatA}, on B ${iatB}`);
  });

  test('access tokens minted on either node are accepted by the other', async () => {
    const email = uniqueEmail('skew-access');
    const fromB = await signUp(b, email);
    const fromA = await signIn(a, email);
    const now = Math.floor(Date.now() / 1000);
    // B's token ends within a minute of the real time: by A's clock it expired a minute ago.
    assert.ok(Number(decodeJwt(fromB.access_token).payload['exp']) <= now + 61);
    // A's token was issued two minutes in B's future.
    assert.ok(Number(decodeJwt(fromA.access_token).payload['iat']) >= now + 100);
    for (const [who, call, token] of [
      ['B → A', a, fromB.access_token],
      ['A → B', b, fromA.access_token],
      ['A → A', a, fromA.access_token],
      ['B → B', b, fromB.access_token],
    ] as const) {
      const me = await call('GET', `${AUTH}/me`, { token });
      assert.equal(me.status, 200, `${who}: ${me.text}`);
      assert.equal(me.body.email, email);
    }
  });

  test('refresh tokens rotate across the nodes, and each new access token is accepted on the other', async () => {
    const email = uniqueEmail('skew-refresh');
    let s = await signUp(a, email);
    const hops: Array<[Call, Call, string]> = [
      [b, a, 'refresh on B, use on A'],
      [a, b, 'refresh on A, use on B'],
      [b, a, 'refresh on B, use on A'],
      [a, b, 'refresh on A, use on B'],
    ];
    for (const [refreshOn, verifyOn, what] of hops) {
      const r = await refreshOn('POST', `${AUTH}/refresh`, { body: { refresh_token: s.refresh_token } });
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      s = r.body;
      const me = await verifyOn('GET', `${AUTH}/me`, { token: s.access_token });
      assert.equal(me.status, 200, `${what}: ${me.text}`);
    }
  });

  test('a node with the old 30 s leeway refuses the slower node’s short-lived tokens', async () => {
    const fromB = await signUp(b, uniqueEmail('skew-leeway'));
    const me = await c('GET', `${AUTH}/me`, { token: fromB.access_token });
    assertError(me, 401, 'TOKEN_ERROR', 'B’s token on C');
    assert.match(me.body.detail, /expired/);
  });
});
