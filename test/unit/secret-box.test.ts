/** SecretBox: AES-256-GCM envelopes per purpose under the master key. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashToken, randomToken, SecretBox, safeEqual } from '../../src/core/crypto/secrets.js';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips text, including empty and Unicode, with a fresh IV each time', () => {
    for (const text of [
      '',
      'hello',
      '-----BEGIN PRIVATE KEY-----\nabc\n',
      'Grüße 👋 漢字',
      'x'.repeat(100_000),
    ]) {
      assert.equal(box.open('purpose-a', box.seal('purpose-a', text)), text);
    }
    const a = box.seal('p', 'same');
    const b = box.seal('p', 'same');
    assert.notEqual(a, b, 'random IV: equal plaintexts give different envelopes');
    assert.match(a, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
    assert.ok(!a.includes('same'));
  });

  it('fails on any tampering: ciphertext, tag, IV, version or shape', () => {
    const sealed = box.seal('p', 'secret value');
    const [v, iv, tag, ct] = sealed.split('.') as [string, string, string, string];
    const flip = (s: string) => {
      const buf = Buffer.from(s, 'base64url');
      buf[0]! ^= 1;
      return buf.toString('base64url');
    };
    assert.throws(() => box.open('p', [v, iv, tag, flip(ct)].join('.')));
    assert.throws(() => box.open('p', [v, iv, flip(tag), ct].join('.')));
    assert.throws(() => box.open('p', [v, flip(iv), tag, ct].join('.')));
    assert.throws(() => box.open('p', ['v2', iv, tag, ct].join('.')), /unrecognised/);
    assert.throws(() => box.open('p', [v, iv, tag].join('.')), /unrecognised/);
    assert.throws(() => box.open('p', 'garbage'), /unrecognised/);
    assert.throws(() => box.open('p', [v, iv, tag, ct.slice(0, -2)].join('.')));
  });

  it('separates purposes: an envelope opens only under the purpose it was sealed for', () => {
    const sealed = box.seal('signing-key', 'private');
    assert.throws(() => box.open('totp-seed', sealed));
    assert.throws(() => box.open('signing-key ', sealed));
    assert.equal(box.open('signing-key', sealed), 'private');
  });

  it('another master key cannot open it; short master keys are refused', () => {
    const sealed = box.seal('p', 'x');
    assert.throws(() => new SecretBox(randomBytes(32)).open('p', sealed));
    assert.throws(() => new SecretBox(randomBytes(31)), /at least 32 bytes/);
  });

  it('an unavailable box fails every use with a message naming the setting', () => {
    const none = SecretBox.unavailable();
    assert.throws(() => none.seal('p', 'x'), /JANUA_MASTER_KEY/);
    assert.throws(() => none.open('p', 'v1.a.b.c'), /JANUA_MASTER_KEY/);
  });

  it('token helpers: random, URL-safe, hashed deterministically, compared safely', () => {
    const t = randomToken();
    assert.match(t, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    assert.notEqual(randomToken(), t);
    assert.equal(hashToken(t), hashToken(t));
    assert.notEqual(hashToken(t), t);
    assert.ok(safeEqual('abc', 'abc'));
    assert.ok(!safeEqual('abc', 'abd'));
    assert.ok(!safeEqual('abc', 'abcd'));
  });
});
