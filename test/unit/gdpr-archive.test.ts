/** The export archive: every section present, manifest checksums recompute, the zip unzips with fflate. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import { buildArchive, sectionText, sha256Hex } from '../../src/core/gdpr/archive.js';
import type { UserData } from '../../src/core/gdpr/registry.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const userData = {
  subject: { userId: 'u1', email: 'a@example.com', identifiers: [], ips: [], pseudonym: 'p' },
  sections: [
    { name: 'profile', description: 'The account', data: { id: 'u1', email: 'a@example.com' } },
    { name: 'sessions', description: 'Sessions', data: [{ id: 's1' }] },
  ],
} as unknown as UserData;

describe('gdpr archive', () => {
  it('zip: manifest plus one pretty JSON file per section, checksums verifiable', () => {
    const a = buildArchive(userData, 'zip', now);
    assert.equal(a.contentType, 'application/zip');
    assert.equal(a.sha256, sha256Hex(a.bytes));
    const files = unzipSync(new Uint8Array(a.bytes));
    assert.deepEqual(Object.keys(files).sort(), ['manifest.json', 'profile.json', 'sessions.json']);
    const manifest = JSON.parse(strFromU8(files['manifest.json'] as Uint8Array));
    assert.equal(manifest.format, 'janua-data-export');
    assert.equal(manifest.user_id, 'u1');
    assert.equal(manifest.generated_at, now.toISOString());
    for (const f of manifest.files) {
      const body = files[f.name] as Uint8Array;
      assert.equal(sha256Hex(body), f.sha256);
      assert.equal(body.length, f.bytes);
    }
    assert.deepEqual(JSON.parse(strFromU8(files['sessions.json'] as Uint8Array)), [{ id: 's1' }]);
  });

  it('json: one document whose manifest checksums recompute over each section', () => {
    const a = buildArchive(userData, 'json', now);
    assert.equal(a.contentType, 'application/json');
    const doc = JSON.parse(a.bytes.toString('utf8'));
    assert.deepEqual(doc.data.profile, { id: 'u1', email: 'a@example.com' });
    for (const f of doc.manifest.files) assert.equal(sha256Hex(sectionText(doc.data[f.name])), f.sha256);
  });
});
