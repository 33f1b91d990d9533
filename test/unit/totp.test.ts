/**
 * RFC 6238 Appendix B test vectors (the SHA-1 rows: seed "12345678901234567890", 8 digits, 30 s steps) through
 * the same functions the server uses, plus the window and the code shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeBackupCode } from '../../src/core/mfa/backup-codes.js';
import { matchTotp, otpauthUri, timeStep, totpCode } from '../../src/core/mfa/totp.js';

/** Base32 of the ASCII seed "12345678901234567890" (RFC 6238 Appendix B, SHA-1). */
const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it('matches the Appendix B SHA-1 vectors', async () => {
    for (const [t, expected] of VECTORS)
      assert.equal(await totpCode({ secret: SEED, digits: 8 }, new Date(t * 1000)), expected, `T=${t}`);
  });

  it('matches a vector inside the ±1 step window and reports its step', async () => {
    for (const [t, expected] of VECTORS) {
      const at = new Date(t * 1000);
      assert.equal(await matchTotp({ secret: SEED, digits: 8 }, expected, at), timeStep(at));
      assert.equal(
        await matchTotp({ secret: SEED, digits: 8 }, expected, new Date((t + 30) * 1000)),
        timeStep(at),
      );
      assert.equal(
        await matchTotp({ secret: SEED, digits: 8 }, expected, new Date((t - 30) * 1000)),
        timeStep(at),
      );
      assert.equal(
        await matchTotp({ secret: SEED, digits: 8 }, expected, new Date((t + 90) * 1000)),
        undefined,
      );
    }
  });

  it('six digits by default; anything not all digits of that length is no match', async () => {
    const at = new Date(1_700_000_000_000);
    const c = await totpCode({ secret: SEED }, at);
    assert.match(c, /^\d{6}$/);
    assert.equal(await matchTotp({ secret: SEED }, c, at), timeStep(at));
    for (const bad of ['', `${c}0`, c.slice(1), 'abcdef', ` ${c.slice(1)}`])
      assert.equal(await matchTotp({ secret: SEED }, bad, at), undefined, JSON.stringify(bad));
  });

  it('otpauth URI: issuer as label prefix and parameter, SHA1, 6 digits, 30 s', () => {
    const uri = otpauthUri('Acme Co', 'jane@example.com', SEED);
    assert.ok(uri.startsWith('otpauth://totp/Acme%20Co:jane%40example.com?'), uri);
    const q = new URL(uri).searchParams;
    assert.equal(q.get('secret'), SEED);
    assert.equal(q.get('issuer'), 'Acme Co');
    const expected: Array<[string, string]> = [
      ['algorithm', 'SHA1'],
      ['digits', '6'],
      ['period', '30'],
    ];
    for (const [k, v] of expected) if (q.has(k)) assert.equal(q.get(k), v);
  });

  it('backup codes normalize case, hyphen, spaces and look-alikes; refuse other shapes', () => {
    assert.equal(normalizeBackupCode('ab12-cd34'), 'AB12CD34');
    assert.equal(normalizeBackupCode(' AB12 CD34 '), 'AB12CD34');
    assert.equal(normalizeBackupCode('OOII-LL00'), '00111100');
    for (const bad of ['AB12-CD3', 'AB12-CD345', 'AB12-CD3U', 'AB12_CD34', ''])
      assert.equal(normalizeBackupCode(bad), undefined, bad);
  });
});
