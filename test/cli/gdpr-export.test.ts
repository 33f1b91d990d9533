/**
 * `janua gdpr export` through the built binary on every dialect: one user to a zip whose manifest checksums
 * recompute and which holds no other user's data, audited; json to stdout; the documented usage/not-found exit
 * codes; and `--all-users` into a directory, resumed after an interruption by skipping the files already there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import { pino } from 'pino';
import { signUp } from '../../src/core/auth/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { userIdsInOrder } from '../../src/core/gdpr/all-users.js';
import { ensureKeys } from '../../src/core/keys/keys.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

const PASSWORD = 'SecurePass123!x';
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

for (const dialect of dialects()) {
  describe(`janua gdpr export (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let c: Container;
    let annId: string;
    const ids: string[] = [];
    const dir = tempDir();
    const cli = (args: string[]) => runCli(['gdpr', 'export', ...args], { env });
    const exportAudits = (userId?: string) => {
      let q = c.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'gdpr.export.completed');
      if (userId) q = q.where('target_id', '=', userId);
      return q.execute();
    };

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      c = createContainer(loadConfig({ env }), { logger: pino({ level: 'silent' }) });
      await ensureKeys(c);
      await c.keys.load();
      annId = (await signUp(c, { email: 'ann@example.com', password: PASSWORD, firstName: 'Ann' }, {})).user
        .id;
      ids.push(annId);
      for (const email of ['ben@example.com', 'cat@example.com'])
        ids.push((await signUp(c, { email, password: PASSWORD }, {})).user.id);
      ids.sort();
    });
    after(async () => {
      await c.close();
      await db.drop();
      dir.remove();
    });

    test('one user to a zip: checksums recompute, only their data, --json summary, audited', async () => {
      const file = join(dir.path, 'ann.zip');
      const r = await cli(['ann@example.com', '--out', file, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      const bytes = readFileSync(file);
      assert.deepEqual(summary, {
        user_id: annId,
        file,
        format: 'zip',
        bytes: bytes.length,
        sha256: sha256(bytes),
      });
      assert.deepEqual(
        readdirSync(dir.path).filter((f) => f.includes('.tmp-')),
        [],
        'no temporary file left behind',
      );
      const entries = unzipSync(new Uint8Array(bytes));
      const manifest = JSON.parse(strFromU8(entries['manifest.json']!));
      assert.equal(manifest.user_id, annId);
      assert.ok(manifest.files.length > 5);
      for (const f of manifest.files) {
        const entry = entries[f.name];
        assert.ok(entry, `${f.name} is in the zip`);
        assert.equal(sha256(entry), f.sha256, f.name);
        assert.equal(entry.length, f.bytes, f.name);
      }
      assert.deepEqual(
        Object.keys(entries).sort(),
        ['manifest.json', ...manifest.files.map((f: { name: string }) => f.name)].sort(),
      );
      assert.equal(JSON.parse(strFromU8(entries['profile.json']!)).email, 'ann@example.com');
      const everything =
        Object.values(entries)
          .map((e) => strFromU8(e))
          .join('\n') + bytes.toString('latin1');
      for (const other of ['ben@example.com', 'cat@example.com'])
        assert.ok(!everything.includes(other), other);
      const audits = await exportAudits(annId);
      assert.equal(audits.length, 1);
      assert.equal(audits[0]!.actor_type, 'cli');
      assert.equal(audits[0]!.target_type, 'user');
      const meta =
        typeof audits[0]!.metadata === 'string' ? JSON.parse(audits[0]!.metadata) : audits[0]!.metadata;
      assert.deepEqual(meta, { format: 'zip', sha256: summary.sha256, bytes: summary.bytes, via: 'cli' });
    });

    test('json without --out goes to stdout', async () => {
      const r = await cli([annId, '--format', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.manifest.user_id, annId);
      assert.equal(doc.data.profile.email, 'ann@example.com');
      assert.equal((await exportAudits(annId)).length, 2, 'a stdout export is audited too');
    });

    test('bad input exits with the documented codes and writes nothing', async () => {
      const before = (await exportAudits()).length;
      const unknown = await cli(['nobody@example.com', '--format', 'json']);
      assert.equal(unknown.code, 4, unknown.stderr);
      const zip = await cli(['ann@example.com']);
      assert.equal(zip.code, 2, zip.stderr);
      assert.match(zip.stderr, /--out FILE is required for zip/);
      const both = await cli(['ann@example.com', '--all-users', '--out', join(dir.path, 'x')]);
      assert.equal(both.code, 2, both.stderr);
      assert.equal((await cli([])).code, 2, 'neither USER nor --all-users');
      assert.equal((await cli(['ann@example.com', '--format', 'tar'])).code, 2);
      assert.equal((await exportAudits()).length, before);
    });

    test('--all-users writes one file per user and resumes by skipping existing files', async () => {
      const out = join(dir.path, 'all', 'nested');
      const first = await cli(['--all-users', '--out', out, '--json']);
      assert.equal(first.code, 0, first.stderr);
      const s1 = JSON.parse(first.stdout);
      assert.equal(s1.exported, 3);
      assert.equal(s1.skipped, 0);
      assert.equal(s1.failed, 0);
      assert.equal(s1.dir, out);
      assert.deepEqual(
        s1.items.map((i: { user_id: string }) => i.user_id),
        ids,
        'in id order',
      );
      assert.deepEqual(
        readdirSync(out).sort(),
        ids.map((id) => `${id}.zip`),
      );
      for (const it of s1.items) assert.equal(sha256(readFileSync(it.file)), it.sha256);

      // An interrupted run: one file missing; another's mtime marks it so a rewrite would show.
      unlinkSync(join(out, `${ids[0]}.zip`));
      const past = new Date('2020-01-01T00:00:00Z');
      utimesSync(join(out, `${ids[1]}.zip`), past, past);
      const untouched = statSync(join(out, `${ids[2]}.zip`)).mtimeMs;
      const second = await cli(['--all-users', '--out', out]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`^exported ${ids[0]}$`, 'm'));
      assert.match(second.stdout, new RegExp(`^skipped ${ids[1]} \\(exists\\)$`, 'm'));
      assert.match(second.stdout, new RegExp(`^skipped ${ids[2]} \\(exists\\)$`, 'm'));
      assert.match(second.stdout, /1 exported, 2 skipped, 0 failed/);
      assert.ok(statSync(join(out, `${ids[0]}.zip`)).isFile(), 'the deleted file is rewritten');
      assert.equal(statSync(join(out, `${ids[1]}.zip`)).mtimeMs, past.getTime());
      assert.equal(statSync(join(out, `${ids[2]}.zip`)).mtimeMs, untouched);
      assert.equal((await exportAudits(ids[0])).length, ids[0] === annId ? 4 : 2);
    });

    test('--all-users goes on past a failed user, exits 3, and a re-run retries it', async () => {
      const out = join(dir.path, 'all', 'nested');
      const bad = join(out, `${ids[1]}.zip`);
      unlinkSync(bad);
      symlinkSync(bad, bad); // a loop: stat fails with ELOOP, neither "exists" nor writable
      const r = await cli(['--all-users', '--out', out]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, new RegExp(`^failed ${ids[1]}: .*ELOOP`, 'm'));
      assert.match(r.stdout, new RegExp(`^skipped ${ids[2]} \\(exists\\)$`, 'm'), 'went on after it');
      assert.match(r.stdout, /0 exported, 2 skipped, 1 failed/);
      assert.match(r.stderr, /1 user\(s\) failed/);
      unlinkSync(bad);
      const retry = await cli(['--all-users', '--out', out, '--json']);
      assert.equal(retry.code, 0, retry.stderr);
      const s = JSON.parse(retry.stdout);
      assert.deepEqual([s.exported, s.skipped, s.failed], [1, 2, 0]);
      assert.equal(s.items.find((i: { outcome: string }) => i.outcome === 'exported').user_id, ids[1]);
    });

    test('userIdsInOrder pages by keyset across page boundaries', async () => {
      const seen: string[] = [];
      for await (const id of userIdsInOrder(c, 2)) seen.push(id);
      assert.deepEqual(seen, ids);
      const exact: string[] = [];
      for await (const id of userIdsInOrder(c, 3)) exact.push(id);
      assert.deepEqual(exact, ids, 'a last page exactly full ends with an empty page');
    });
  });
}
