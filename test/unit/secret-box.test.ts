/** SecretBox: AES-256-GCM envelopes per purpose under the master key. */
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashToken, masterKeyId, randomToken, SecretBox, safeEqual } from '../../src/core/crypto/secrets.js';

/** A v1 envelope (before key ids) made the way the first SecretBox made them, to prove they still open. */
function sealV1(master: Buffer, purpose: string, text: string): string {
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `janua:${purpose}`, 32));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(purpose));
  const ct = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return ['v1', iv, c.getAuthTag(), ct]
    .map((x) => (typeof x === 'string' ? x : x.toString('base64url')))
    .join('.');
}

describe('SecretBox', () => {
  const master = randomBytes(32);
  const box = new SecretBox(master);

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
    assert.match(a, /^v2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
    assert.equal(a.split('.')[1], box.keyId, 'the envelope names the master key that sealed it');
    assert.ok(!a.includes('same'));
  });

  it('fails on any tampering: ciphertext, tag, IV, version or shape', () => {
    const sealed = box.seal('p', 'secret value');
    const [v, id, iv, tag, ct] = sealed.split('.') as [string, string, string, string, string];
    const flip = (s: string) => {
      const buf = Buffer.from(s, 'base64url');
      buf[0]! ^= 1;
      return buf.toString('base64url');
    };
    assert.throws(() => box.open('p', [v, id, iv, tag, flip(ct)].join('.')));
    assert.throws(() => box.open('p', [v, id, iv, flip(tag), ct].join('.')));
    assert.throws(() => box.open('p', [v, id, flip(iv), tag, ct].join('.')));
    assert.throws(() => box.open('p', [v, 'AAAAAAAA', iv, tag, ct].join('.')), /not configured/);
    assert.throws(() => box.open('p', ['v3', id, iv, tag, ct].join('.')), /unrecognised/);
    assert.throws(() => box.open('p', ['v1', id, iv, tag, ct].join('.')), /unrecognised/);
    assert.throws(() => box.open('p', [v, iv, tag, ct].join('.')), /unrecognised/);
    assert.throws(() => box.open('p', 'garbage'), /unrecognised/);
    assert.throws(() => box.open('p', [v, id, iv, tag, ct.slice(0, -2)].join('.')));
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

  it('key ids: stable per key, distinct across keys, and no part of the key', () => {
    assert.equal(masterKeyId(master), box.keyId);
    assert.equal(new SecretBox(Buffer.from(master)).keyId, box.keyId);
    assert.notEqual(masterKeyId(randomBytes(32)), box.keyId);
    assert.ok(!master.toString('base64url').includes(box.keyId));
  });

  it('rotation: a box with the old key as previous opens old envelopes and seals only with the new key', () => {
    const old = box.seal('p', 'under the old key');
    const legacy = sealV1(master, 'p', 'v1, no key id');
    const next = new SecretBox(randomBytes(32), [master]);
    assert.deepEqual(next.keyIds, [next.keyId, box.keyId]);
    assert.equal(next.open('p', old), 'under the old key');
    assert.equal(next.open('p', legacy), 'v1, no key id', 'v1 envelopes open by trying each key');
    assert.equal(box.open('p', legacy), 'v1, no key id');
    assert.equal(next.sealedWith(old), box.keyId);
    assert.equal(next.sealedWith(legacy), null);
    const fresh = next.seal('p', 'new');
    assert.equal(next.sealedWith(fresh), next.keyId);
    assert.throws(() => box.open('p', fresh), /not configured/, 'the old box does not know the new key');
    assert.throws(() => next.open('q', old), 'purposes stay separate under previous keys too');
    assert.throws(
      () => new SecretBox(randomBytes(32)).open('p', legacy),
      'a v1 envelope of an unknown key fails',
    );
  });

  it('an unavailable box fails every use with a message naming the setting', () => {
    const none = SecretBox.unavailable();
    assert.throws(() => none.seal('p', 'x'), /JANUA_MASTER_KEY/);
    assert.throws(() => none.open('p', 'v1.a.b.c'), /JANUA_MASTER_KEY/);
    assert.throws(() => none.sealedWith('v1.a.b.c'), /JANUA_MASTER_KEY/);
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
