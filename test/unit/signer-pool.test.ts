/** The signer pool: batches of signatures made in worker threads verify like any RS256 JWS. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactVerify } from 'jose';
import { SignerPool } from '../../src/core/auth/signer-pool.js';

const header = (kid: string) => Buffer.from(JSON.stringify({ alg: 'RS256', kid })).toString('base64url');
const payload = (i: number) => Buffer.from(JSON.stringify({ i })).toString('base64url');

describe('SignerPool', () => {
  it('signs a burst with two keys in batches; every signature verifies under its own key only', async () => {
    const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pool = new SignerPool(2);
    const jobs = Array.from({ length: 40 }, (_, i) => {
      const [kid, key] = i % 3 === 0 ? ['b', b.privateKey] : ['a', a.privateKey];
      const input = `${header(kid)}.${payload(i)}`;
      return pool.sign(kid, key, input).then((sig) => ({ kid, jws: `${input}.${sig}`, i }));
    });
    for (const { kid, jws, i } of await Promise.all(jobs)) {
      const [right, wrong] = kid === 'a' ? [a, b] : [b, a];
      const { payload: p } = await compactVerify(jws, right.publicKey);
      assert.deepEqual(JSON.parse(Buffer.from(p).toString()), { i });
      await assert.rejects(compactVerify(jws, wrong.publicKey));
    }
  });

  it('a key the workers cannot use fails its requests with an error, and the pool keeps working', async () => {
    const pool = new SignerPool(1);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // An EC key signs with sha256 too, but a public key cannot sign at all.
    await assert.rejects(pool.sign('pub', ec.publicKey, 'x.y'), /signing failed/);
    const sig = await pool.sign('ok', rsa.privateKey, `${header('ok')}.${payload(1)}`);
    await compactVerify(`${header('ok')}.${payload(1)}.${sig}`, rsa.publicKey);
  });
});
