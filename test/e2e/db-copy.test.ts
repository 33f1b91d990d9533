/**
 * `janua db copy` as an operator moves an installation: a SQLite installation populated through the real
 * daemon and commands (users, sessions, refresh tokens, lockout counters, organizations, members, roles,
 * invitations, settings, keys, audit, outbox) is copied to a fresh database of each dialect by the real
 * binary, killed with SIGKILL half-way and re-run to completion; `janua serve` on the copy signs in a user and
 * honours a refresh token from the source; then the copy goes back to a fresh SQLite file.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcrypt';
import { sql } from 'kysely';
import type { CopyReport } from '../../src/core/store/copy/copy.js';
import { anyDb, MIGRATIONS_TABLE, PROGRESS_TABLE } from '../../src/core/store/introspect.js';
import type { Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { BIN, baseEnv, runCli, startDaemon } from '../helpers/janua.js';
import {
  AUTH,
  client,
  decodeJwt,
  eventually,
  openStore,
  PASSWORD,
  type Session,
  signIn,
  signUp,
  sleep,
  uniqueEmail,
} from './support.js';

/** Tables the population below writes; the copy must also name every other table of the schema. */
const POPULATED = [
  'audit_events',
  'organization_invitations',
  'organization_members',
  'organization_roles',
  'organizations',
  'outbox',
  'password_credentials',
  'refresh_tokens',
  'sessions',
  'settings',
  'sign_in_attempts',
  'signing_keys',
  'users',
];

type Report = CopyReport & { next_steps: string[] };

async function schemaTables(store: Store): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from sqlite_master
      where type = 'table' and name not like 'sqlite_%' order by name`.execute(anyDb(store.db));
  return rows.map((r) => r.name).filter((n) => n !== MIGRATIONS_TABLE);
}

async function counts(store: Store, tables: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const r = await anyDb(store.db)
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[t] = Number(r.n);
  }
  return out;
}

/** Rows the copy's progress record says are committed, or undefined while it does not exist yet. */
async function progressRows(store: Store): Promise<number | undefined> {
  try {
    const r = await anyDb(store.db)
      .selectFrom(PROGRESS_TABLE)
      .select((eb) => eb.fn.sum<number>('rows_copied').as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  } catch {
    return undefined;
  }
}

for (const dialect of dialects()) {
  describe(`janua db copy: a populated SQLite installation to ${dialect} and back`, () => {
    const home = tempDir('janua-copy-');
    /** The source installation as an operator has it: the embedded default in its data directory. */
    // One issuer for the daemons on the source and on the copy, as when the same deployment moves.
    const shared = { BCRYPT_ROUNDS: '4', LOG_LEVEL: 'warn', JANUA_BASE_URL: 'https://auth.example.test' };
    const env = { ...shared, JANUA_DATA_DIR: home.path };
    const sourceUrl = `sqlite:${join(home.path, 'janua.db')}`;
    let source: Store;
    let target: TestDatabase;
    let back: TestDatabase;
    let tables: string[];
    let sourceCounts: Record<string, number>;
    let owner: Session & { email: string };
    let sourceKids: string[];
    let first: Report;

    before(async () => {
      target = await createTestDatabase(dialect);
      back = await createTestDatabase('sqlite');
      const d = await startDaemon({ databaseUrl: sourceUrl, env });
      try {
        const call = client(d);
        const email = uniqueEmail('owner');
        owner = { ...(await signUp(call, email, { first_name: 'Ada' })), email };
        const people: Session[] = [];
        for (let i = 0; i < 4; i++) people.push(await signUp(call, uniqueEmail('person')));
        // A spent refresh token (rotated) and a failed sign-in (a lockout counter).
        const rotated = await call('POST', `${AUTH}/token/refresh`, {
          body: { refresh_token: people[0]!.refresh_token },
        });
        assert.equal(rotated.status, 200, rotated.text);
        owner = { ...(await signIn(call, email)), email };
        const wrong = await call('POST', `${AUTH}/signin`, {
          body: { email: people[2]!.user.email, password: 'Wrong-password-1!' },
        });
        assert.equal(wrong.status, 401);
        const org = await call('POST', '/api/v1/organizations', {
          token: owner.access_token,
          body: { name: 'Acme', slug: 'acme', metadata: { plan: 'pro', seats: [1, 2, 3] } },
        });
        assert.equal(org.status, 201, org.text);
        const orgId = org.body.id as string;
        const member = await call('POST', `/api/v1/organizations/${orgId}/members`, {
          token: owner.access_token,
          body: { user_id: people[1]!.user.id, role: 'member' },
        });
        assert.equal(member.status, 201, member.text);
        const invite = await call('POST', `/api/v1/organizations/${orgId}/invitations`, {
          token: owner.access_token,
          body: { email: 'invited@example.com' },
        });
        assert.equal(invite.status, 201, invite.text);
        const role = await call('POST', '/api/v1/roles', {
          token: owner.access_token,
          body: { organization_id: orgId, name: 'auditor', permissions: ['users:read'] },
        });
        assert.equal(role.status, 201, role.text);
        for (const state of ['on', 'off']) {
          const m = await runCli(['admin', 'maintenance', state, '--message', 'moving house'], { env });
          assert.equal(m.code, 0, m.stderr);
        }
        const jwks = await call('GET', '/.well-known/jwks.json');
        sourceKids = (jwks.body.keys as Array<{ kid: string }>).map((k) => k.kid);
      } finally {
        await d.stop();
      }
      // Enough rows that a copy one row per transaction is still running when it is killed.
      const hash = bcrypt.hashSync(PASSWORD, 4);
      const file = join(home.path, 'import.ndjson');
      writeFileSync(
        file,
        Array.from({ length: 300 }, (_, i) =>
          JSON.stringify({ email: `bulk-${i}@example.com`, password_hash: hash, user_metadata: { i } }),
        ).join('\n'),
      );
      const imported = await runCli(['users', 'import', file, '--json'], { env });
      assert.equal(imported.code, 0, imported.stderr);

      source = openStore(sourceUrl);
      tables = await schemaTables(source);
      sourceCounts = await counts(source, tables);
      for (const t of POPULATED) assert.ok(sourceCounts[t]! > 0, `the population wrote ${t}`);
    });
    after(async () => {
      await source?.destroy();
      await target?.drop();
      await back?.drop();
      home.remove();
    });

    /**
     * Runs `janua db copy` one row per batch until the target's progress record counts `rows`, then sends
     * `signal`; checks that the target holds exactly what the record says (no page half-written).
     */
    async function interrupt(rows: number, signal: NodeJS.Signals) {
      const child: ChildProcess = spawn(
        process.execPath,
        [BIN, 'db', 'copy', '--to', target.url, '--batch-size', '1'],
        { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
      const watch = openStore(target.url);
      try {
        await eventually(`the copy has committed ${rows} rows`, 120_000, async () => {
          if (child.exitCode !== null) assert.fail(`the copy ended before it was stopped:\n${stderr}`);
          const n = await progressRows(watch);
          return n !== undefined && n >= rows ? n : undefined;
        });
        child.kill(signal);
        const [code, killed] = await exited;
        await sleep(100);
        const progress = (await anyDb(watch.db).selectFrom(PROGRESS_TABLE).selectAll().execute()) as Array<{
          table_name: string;
          rows_copied: number;
          done: number;
        }>;
        const there = await counts(watch, tables);
        for (const p of progress) assert.equal(there[p.table_name], Number(p.rows_copied), p.table_name);
        assert.ok(
          progress.some((p) => !Number(p.done)),
          'the copy was interrupted before the end',
        );
        return { code, killed, stderr, rows: (await progressRows(watch))! };
      } finally {
        await watch.destroy();
      }
    }

    test('stopped (SIGINT) then killed (SIGKILL) half-way, the same command resumes without duplicates', async () => {
      const stopped = await interrupt(20, 'SIGINT');
      assert.equal(stopped.code, 1, stopped.stderr);
      assert.match(
        stopped.stderr,
        /db copy stopped after \d+ rows in this run: run the same command again to resume/,
      );
      const killed = await interrupt(stopped.rows + 30, 'SIGKILL');
      assert.equal(killed.killed, 'SIGKILL');
      assert.match(killed.stderr, /resuming an interrupted copy/);

      const r = await runCli(['db', 'copy', '--to', target.url, '--batch-size', '100', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      first = JSON.parse(r.stdout) as Report;
      assert.equal(first.resumed, true);
      assert.equal(first.verified, true);
      assert.deepEqual(
        first.tables.map((t) => t.table).sort(),
        tables,
        'every table of the schema is copied',
      );
      for (const t of first.tables) {
        assert.equal(t.target_rows, sourceCounts[t.table], t.table);
        assert.equal(t.target_checksum, t.source_checksum, t.table);
      }
      assert.match(r.stderr, /resuming an interrupted copy/);
      const steps = first.next_steps.join('\n');
      assert.ok(steps.includes(`DATABASE_URL=${target.url}`), steps);
      assert.ok(
        steps.includes(join(home.path, 'master.key')),
        'the generated master key must be carried over',
      );

      const copy = openStore(target.url);
      try {
        assert.deepEqual(await counts(copy, tables), sourceCounts, 'no duplicates, nothing missing');
        const left = await copy.db.introspection.getTables();
        assert.ok(!left.some((t) => t.name === PROGRESS_TABLE), 'the progress record is gone');
      } finally {
        await copy.destroy();
      }
    });

    test('janua serve on the copy: a source user signs in, a source refresh token rotates, new writes work', async () => {
      const d = await startDaemon({
        databaseUrl: target.url,
        env: { ...shared, JANUA_MASTER_KEY_FILE: join(home.path, 'master.key') },
      });
      try {
        const call = client(d);
        const s = await signIn(call, owner.email);
        assert.ok(
          sourceKids.includes(String(decodeJwt(s.access_token).header['kid'])),
          'signed by a copied key',
        );
        const me = await call('GET', `${AUTH}/me`, { token: owner.access_token });
        assert.equal(me.status, 200, 'a token issued by the source is still valid');
        const rotated = await call('POST', `${AUTH}/token/refresh`, {
          body: { refresh_token: owner.refresh_token },
        });
        assert.equal(rotated.status, 200, rotated.text);
        await signUp(call, uniqueEmail('after-the-move'));
        const bulk = await signIn(call, 'bulk-299@example.com');
        assert.equal(bulk.user.email, 'bulk-299@example.com');
      } finally {
        await d.stop();
      }
    });

    test('back to a fresh SQLite file: verified, and untouched tables checksum as they did at the source', async () => {
      const r = await runCli(['db', 'copy', '--to', back.url, '--json'], {
        env: { ...env, DATABASE_URL: target.url },
      });
      assert.equal(r.code, 0, r.stderr);
      const home2 = JSON.parse(r.stdout) as Report;
      assert.equal(home2.verified, true);
      assert.equal(home2.resumed, false);
      for (const t of ['organizations', 'organization_members', 'organization_roles', 'settings'])
        assert.equal(
          home2.tables.find((x) => x.table === t)?.target_checksum,
          first.tables.find((x) => x.table === t)?.source_checksum,
          t,
        );
    });

    test('a target that holds data: exit 5 and nothing changes without --force; with it, copied again', async () => {
      const copy = openStore(target.url);
      try {
        const before = await counts(copy, tables);
        const r = await runCli(['db', 'copy', '--to', target.url], { env });
        assert.equal(r.code, 5, r.stderr);
        assert.match(r.stderr, /not empty .*--force/);
        assert.equal(r.stdout, '');
        assert.deepEqual(await counts(copy, tables), before);

        const forced = await runCli(['db', 'copy', '--to', target.url, '--force', '--json'], { env });
        assert.equal(forced.code, 0, forced.stderr);
        const doc = JSON.parse(forced.stdout) as Report;
        assert.equal(doc.emptied, true);
        assert.equal(doc.verified, true);
        assert.deepEqual(await counts(copy, tables), sourceCounts);
      } finally {
        await copy.destroy();
      }
    });

    test('usage: the source itself, a bad --to, a missing source', async () => {
      const self = await runCli(['db', 'copy', '--to', sourceUrl], { env });
      assert.equal(self.code, 2);
      assert.match(self.stderr, /the target is the source database itself/);
      const bad = await runCli(['db', 'copy', '--to', 'mysql://u:hunter22@h/db'], { env });
      assert.equal(bad.code, 2);
      assert.doesNotMatch(bad.stderr, /hunter22/);
      const nowhere = tempDir();
      try {
        const missing = await runCli(['db', 'copy', '--to', back.url], {
          env: { JANUA_DATA_DIR: nowhere.path },
        });
        assert.equal(missing.code, 4, missing.stderr);
        assert.match(missing.stderr, /no source database/);
      } finally {
        nowhere.remove();
      }
    });
  });
}
