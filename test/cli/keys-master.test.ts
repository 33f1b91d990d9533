/**
 * `janua keys rotate-master` on the real binary, with the master key kept in the data directory (the
 * zero-configuration install): --generate makes a new key and keeps the old one as previous, everything is
 * re-sealed, a second run is a no-op, a value no key opens exits 3, and usage errors exit 2 changing nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

interface Report {
  key_id: string;
  previous_key_ids: string[];
  resealed: number;
  failed: number;
  columns: Array<{ table: string; column: string; current: number; resealed: number }>;
}

for (const dialect of dialects()) {
  describe(`keys rotate-master (${dialect})`, () => {
    const dir = tempDir();
    const keyFile = join(dir.path, 'master.key');
    let db: TestDatabase;
    let env: Record<string, string>;
    const rotate = async (...args: string[]) => {
      const r = await runCli(['keys', 'rotate-master', '--json', ...args], { env });
      return { ...r, report: r.stdout ? (JSON.parse(r.stdout) as Report) : undefined };
    };

    before(async () => {
      db = await createTestDatabase(dialect);
      env = { DATABASE_URL: db.url, JANUA_DATA_DIR: dir.path, BCRYPT_ROUNDS: '4' };
      writeFileSync(keyFile, `${newMasterKey()}\n`, { mode: 0o600 });
      const made = await runCli(['keys', 'rotate', '--json'], { env });
      assert.equal(made.code, 0, made.stderr);
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('with one key there is nothing to re-seal', async () => {
      const r = await rotate('--dry-run');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.report!.resealed, 0);
      assert.deepEqual(r.report!.previous_key_ids, []);
      const keys = r.report!.columns.find((c) => c.table === 'signing_keys')!;
      assert.ok(keys.current >= 2, 'the active and next keys are sealed with the current key');
    });

    test('--generate: a new key in the file, the old one kept as previous, every secret re-sealed', async () => {
      const oldKey = readFileSync(keyFile, 'utf8').trim();
      const r = await rotate('--generate');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /generated a new master key/);
      const newKey = readFileSync(keyFile, 'utf8').trim();
      assert.notEqual(newKey, oldKey);
      assert.ok(readFileSync(`${keyFile}.previous`, 'utf8').includes(oldKey));
      assert.equal(r.report!.previous_key_ids.length, 1);
      assert.ok(r.report!.resealed >= 2);
      assert.equal(r.report!.failed, 0);
      assert.ok(!r.stdout.includes(oldKey) && !r.stdout.includes(newKey), 'no key material in the output');

      const again = await rotate();
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.report!.resealed, 0, 'a second run finds everything current');

      rmSync(`${keyFile}.previous`);
      const alone = await rotate('--dry-run');
      assert.equal(alone.code, 0, alone.stderr);
      assert.equal(alone.report!.failed, 0, 'the new key alone opens everything');
    });

    test('a secret no configured key opens: reported, exit 3; the human output says what to do', async () => {
      const current = readFileSync(keyFile, 'utf8');
      writeFileSync(keyFile, `${newMasterKey()}\n`);
      try {
        const r = await rotate();
        assert.equal(r.code, 3, r.stderr);
        assert.ok(r.report!.failed >= 2);
        const human = await runCli(['keys', 'rotate-master'], { env });
        assert.equal(human.code, 3);
        assert.match(human.stdout, /cannot open signing_keys\.private_key_enc/);
        assert.match(human.stdout, /JANUA_MASTER_KEY_PREVIOUS/);
      } finally {
        writeFileSync(keyFile, current);
      }
    });

    test('usage errors exit 2 and change nothing', async () => {
      const before = readFileSync(keyFile, 'utf8');
      const fromEnv = await runCli(['keys', 'rotate-master', '--generate'], {
        env: { ...env, JANUA_MASTER_KEY: before.trim() },
      });
      assert.equal(fromEnv.code, 2);
      assert.match(fromEnv.stderr, /JANUA_MASTER_KEY_PREVIOUS/);
      assert.equal((await runCli(['keys', 'rotate-master', '--batch-size', '0'], { env })).code, 2);
      assert.equal((await runCli(['keys', 'rotate-master', '--generate', '--dry-run'], { env })).code, 2);
      const missing = await runCli(['keys', 'rotate-master'], {
        env: { ...env, JANUA_MASTER_KEY_PREVIOUS_FILE: join(dir.path, 'nope') },
      });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /does not exist/);
      assert.equal(readFileSync(keyFile, 'utf8'), before);
      assert.ok(!existsSync(`${keyFile}.previous`));
    });
  });
}
