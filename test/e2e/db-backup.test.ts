/**
 * `janua db backup FILE` on the embedded database while the daemon keeps writing: the copy passes
 * `PRAGMA integrity_check`, is one self-contained file, and is one moment of the database — every user in it
 * has the credential, session and `user.created` event written in the same transaction — and janua can open
 * it. An existing file is kept without --force; on PostgreSQL the command points at pg_dump and exits 2.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sqlite3 from 'sqlite3';
import { tempDir } from '../helpers/db.js';
import { type Daemon, runCli, startDaemon } from '../helpers/janua.js';
import { client, eventually, signUp, uniqueEmail } from './support.js';

function query<R>(file: string, sql: string): Promise<R[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all(sql, (e, rows) => db.close(() => (e ? reject(e) : resolve(rows as R[]))));
    });
  });
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('janua db backup (SQLite)', () => {
  const home = tempDir('janua-backup-');
  const env = { JANUA_DATA_DIR: home.path, BCRYPT_ROUNDS: '4', LOG_LEVEL: 'warn' };
  const file = join(home.path, 'backups', 'janua-backup.db');
  let d: Daemon;

  before(async () => {
    d = await startDaemon({ databaseUrl: `sqlite:${join(home.path, 'janua.db')}`, env });
    const dir = await runCli(['db', 'backup', file], { env });
    assert.equal(dir.code, 2, 'a directory that does not exist is a usage error');
    assert.match(dir.stderr, /does not exist/);
    mkdirSync(join(home.path, 'backups'));
  });
  after(async () => {
    await d?.stop();
    home.remove();
  });

  test('while three clients keep signing up: one consistent moment, integrity_check ok, usable by janua', async () => {
    const call = client(d);
    let stop = false;
    let made = 0;
    const writers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        await signUp(call, uniqueEmail('writer'));
        made++;
      }
    });
    try {
      await eventually('the writers are writing', 60_000, async () => (made >= 10 ? true : undefined));
      const during = made;
      const r = await runCli(['db', 'backup', file, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { file: string; bytes: number; pages: number; check: string };
      assert.equal(doc.file, file);
      assert.equal(doc.check, 'ok');
      assert.ok(doc.bytes > 0 && doc.pages > 0);
      await eventually('writes after the backup', 60_000, async () =>
        made >= during + 5 ? true : undefined,
      );

      assert.deepEqual(await query(file, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(await query(file, 'PRAGMA foreign_key_check'), []);
      assert.deepEqual(await query(file, 'PRAGMA journal_mode'), [{ journal_mode: 'delete' }], 'one file');
      assert.equal(existsSync(`${file}-wal`), false);
      const n = (await query<{ n: number }>(file, 'select count(*) as n from users'))[0]!.n;
      assert.ok(n >= during, `${n} users in the backup, ${during} signed up before it started`);
      const orphans = await query<{ id: string }>(
        file,
        `select id from users u
          where not exists (select 1 from password_credentials p where p.user_id = u.id)
             or not exists (select 1 from sessions s where s.user_id = u.id)
             or not exists (select 1 from outbox o where o.event_type = 'user.created' and o.aggregate_id = u.id)`,
      );
      assert.deepEqual(orphans, [], 'every user comes with what its signup transaction wrote');
      const live = await query<{ n: number }>(join(home.path, 'janua.db'), 'select count(*) as n from users');
      assert.ok(live[0]!.n > n, 'the daemon kept writing past the backup');
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    const [someone] = await query<{ email: string }>(file, 'select email from users limit 1');
    const opened = await runCli(['users', 'get', someone!.email, '--json'], {
      env: { ...env, DATABASE_URL: `sqlite:${file}` },
    });
    assert.equal(opened.code, 0, opened.stderr);
  });

  test('an existing file is kept (exit 5) unless --force replaces it', async () => {
    const before = sha(file);
    const r = await runCli(['db', 'backup', file], { env });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /already exists.*--force/);
    assert.equal(sha(file), before);
    const forced = await runCli(['db', 'backup', file, '--force'], { env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /backed up .* quick_check ok/);
    assert.notEqual(sha(file), before);
    assert.deepEqual(
      readdirSync(join(home.path, 'backups')).filter((f) => f.includes('partial')),
      [],
      'no partial file left behind',
    );
  });

  test('on PostgreSQL it points at pg_dump and exits 2, writing nothing', async () => {
    const target = join(home.path, 'backups', 'pg.db');
    const r = await runCli(['db', 'backup', target], {
      env: { ...env, DATABASE_URL: 'postgres://janua:secret@127.0.0.1:1/janua' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pg_dump/);
    assert.doesNotMatch(r.stderr, /secret/);
    assert.equal(existsSync(target), false);
  });
});
