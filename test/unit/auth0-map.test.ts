/**
 * Auth0 users and password-hash lines mapped to the core's import records (src/migrate/auth0/map-user.ts),
 * and the file readers (src/migrate/auth0/files.ts): plain and gzipped, NDJSON and JSON arrays, bad lines.
 */
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ExternalUser } from '../../src/core/imports/types.js';
import { fileInputKey, readPasswordHashesFile, readUsersFile } from '../../src/migrate/auth0/files.js';
import { mapAuth0PasswordHash, mapAuth0User } from '../../src/migrate/auth0/map-user.js';
import type { SourceRecord } from '../../src/migrate/auth0/types.js';
import { tempDir } from '../helpers/db.js';

const HASH = `$2b$10$${'a'.repeat(53)}`;

const FULL = {
  user_id: 'auth0|64f1a2b3c4d5e6f7a8b9c0d1',
  email: '  Ada.Lovelace@Example.COM ',
  email_verified: true,
  username: 'ada',
  given_name: 'Ada',
  family_name: 'Lovelace',
  name: 'Ada Lovelace',
  nickname: 'ada.lovelace',
  picture: 'https://s.gravatar.com/avatar/abc.png',
  phone_number: '+15551234567',
  phone_verified: true,
  created_at: '2019-03-04T05:06:07.890Z',
  updated_at: '2024-01-01T00:00:00.000Z',
  last_login: '2024-02-03T04:05:06.000Z',
  logins_count: 42,
  blocked: true,
  user_metadata: { theme: 'dark' },
  app_metadata: { plan: 'pro', tags: ['a'] },
  identities: [
    {
      provider: 'auth0',
      user_id: '64f1a2b3c4d5e6f7a8b9c0d1',
      connection: 'Username-Password-Authentication',
      isSocial: false,
    },
    {
      provider: 'google-oauth2',
      user_id: '1234567890',
      connection: 'google-oauth2',
      isSocial: true,
      profileData: { locale: 'en' },
    },
    { provider: 'github', user_id: 987654, connection: 'github', isSocial: true },
    { provider: 'windowslive', user_id: 'abc', connection: 'windowslive', isSocial: true },
    { provider: 'apple', user_id: '000.abc.111', connection: 'apple', isSocial: true },
  ],
  multifactor: ['guardian'],
};

function user(v: unknown): ExternalUser {
  const r = mapAuth0User(v, 7);
  if ('error' in r) assert.fail(`unexpected error: ${r.error}`);
  return r.user;
}
function error(v: unknown): string {
  const r = mapAuth0User(v, 1);
  assert.ok('error' in r, 'expected an error');
  return r.error;
}

describe('mapAuth0User', () => {
  it('maps every field Auth0 exports', () => {
    const u = user(FULL);
    assert.equal(u.index, 7);
    assert.equal(u.externalId, 'auth0|64f1a2b3c4d5e6f7a8b9c0d1');
    assert.equal(u.email, 'ada.lovelace@example.com', 'normalized');
    assert.equal(u.emailVerified, true);
    assert.equal(u.username, 'ada');
    assert.equal(u.firstName, 'Ada');
    assert.equal(u.lastName, 'Lovelace');
    assert.equal(u.displayName, 'Ada Lovelace');
    assert.equal(u.nickname, 'ada.lovelace');
    assert.equal(u.pictureUrl, FULL.picture);
    assert.equal(u.phoneNumber, '+15551234567');
    assert.equal(u.phoneVerified, true);
    assert.equal(u.createdAt?.toISOString(), '2019-03-04T05:06:07.890Z');
    assert.equal(u.lastSignInAt?.toISOString(), '2024-02-03T04:05:06.000Z');
    assert.equal(u.suspended, true);
    assert.deepEqual(u.userMetadata, { theme: 'dark' });
    assert.deepEqual(u.appMetadata, { plan: 'pro', tags: ['a'] });
    assert.equal(u.passwordHash, null);
    assert.deepEqual(
      u.identities.map((i) => [i.provider, i.providerUserId, i.isSocial]),
      [
        ['google-oauth2', '1234567890', true],
        ['github', '987654', true],
        ['windowslive', 'abc', true],
        ['apple', '000.abc.111', true],
      ],
      'the auth0 database identity of the user itself is not a linked account',
    );
    assert.deepEqual(u.identities[0]!.profile, { locale: 'en' });
    assert.deepEqual(u.warnings, ['MFA enrolment (guardian) not carried: Auth0 does not export it']);
  });

  it('a minimal user: defaults, and no warnings', () => {
    const u = user({ user_id: 'auth0|1', email: 'a@example.com' });
    assert.equal(u.emailVerified, false);
    assert.equal(u.suspended, false);
    assert.equal(u.createdAt, null);
    assert.deepEqual(u.identities, []);
    assert.deepEqual(u.userMetadata, {});
    assert.deepEqual(u.warnings, []);
  });

  it('invalid dates, pictures and unknown hash formats are warnings; bcrypt hashes are carried', () => {
    const u = user({
      user_id: 'auth0|1',
      email: 'a@example.com',
      created_at: 'yesterday',
      last_login: '2024-13-45T99:00:00Z',
      picture: 'javascript:alert(1)',
      password_hash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    });
    assert.equal(u.createdAt, null);
    assert.equal(u.lastSignInAt, null);
    assert.equal(u.pictureUrl, null);
    assert.equal(u.passwordHash, null);
    assert.equal(u.warnings.length, 4);
    assert.ok(u.warnings.some((w) => /created_at is not an ISO 8601 date/.test(w)));
    assert.ok(u.warnings.some((w) => /unknown hash format/.test(w)));
    assert.ok(!u.warnings.join(' ').includes('argon2'), 'the hash is not echoed');
    assert.equal(user({ user_id: 'auth0|1', email: 'a@example.com', passwordHash: HASH }).passwordHash, HASH);
    assert.equal(
      user({ user_id: 'auth0|1', email: 'a@example.com', passwordHash: HASH.replace('$2b$', '$2a$') })
        .passwordHash,
      HASH.replace('$2b$', '$2a$'),
    );
  });

  it('refuses broken records with a clear reason', () => {
    assert.match(error('a string'), /must be a JSON object/);
    assert.match(error(null), /must be a JSON object/);
    assert.match(error([1]), /must be a JSON object/);
    assert.match(error({ email: 'a@example.com' }), /user_id is required/);
    assert.match(error({ user_id: 5, email: 'a@example.com' }), /user_id must be a string/);
    assert.match(error({ user_id: 'auth0|1' }), /email is required/);
    assert.match(error({ user_id: 'auth0|1', email: 'not-an-email' }), /email is not a valid address/);
    assert.match(error({ user_id: 'auth0|1', email: 'a\u001b@example.com' }), /email is not a valid address/);
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', email_verified: 'yes' }),
      /email_verified must be true or false/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', blocked: 1 }),
      /blocked must be true or false/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', given_name: 'A\u001b[31m' }),
      /given_name must not contain control characters/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', name: 'x'.repeat(301) }),
      /name is longer than 300/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', user_metadata: [1] }),
      /user_metadata must be an object/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', app_metadata: { a: { b: 'x\u0000y' } } }),
      /app_metadata\.a\.b must not contain the NUL character/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', user_metadata: { big: 'x'.repeat(70_000) } }),
      /user_metadata is larger than 64 KiB/,
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', user_metadata: deep }),
      /nested deeper than/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', identities: {} }),
      /identities must be an array/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', identities: [{ provider: 'github' }] }),
      /identities\[0\]\.user_id must be a string or an integer/,
    );
    assert.match(
      error({ user_id: 'auth0|1', email: 'a@example.com', multifactor: 'guardian' }),
      /multifactor must be an array/,
    );
  });
});

describe('mapAuth0PasswordHash', () => {
  it('maps _id.$oid, email and a bcrypt hash', () => {
    const r = mapAuth0PasswordHash(
      {
        _id: { $oid: '64f1a2b3c4d5e6f7a8b9c0d1' },
        email: 'Ada@Example.com',
        passwordHash: HASH,
        email_verified: true,
      },
      3,
    );
    assert.deepEqual(r, {
      hash: { index: 3, externalId: 'auth0|64f1a2b3c4d5e6f7a8b9c0d1', email: 'ada@example.com', hash: HASH },
    });
    const byEmail = mapAuth0PasswordHash({ email: 'b@example.com', passwordHash: HASH }, 4);
    assert.ok('hash' in byEmail && byEmail.hash.externalId === null);
  });

  it('refuses unknown formats without echoing the hash, and lines that name no user', () => {
    for (const h of ['$argon2id$v=19$secretstuff', `$2y$10$${'a'.repeat(53)}`, 'plaintext-secret', 5]) {
      const r = mapAuth0PasswordHash({ _id: { $oid: 'abc' }, passwordHash: h }, 1);
      assert.ok('error' in r);
      assert.match(r.error, /unknown hash format/);
      assert.ok(!r.error.includes(String(h)), 'hash not echoed');
    }
    const none = mapAuth0PasswordHash({ passwordHash: HASH }, 1);
    assert.ok('error' in none && /names no user/.test(none.error));
    const missing = mapAuth0PasswordHash({ _id: { $oid: 'abc' } }, 1);
    assert.ok('error' in missing && /passwordHash is missing/.test(missing.error));
    const bad = mapAuth0PasswordHash('x', 1);
    assert.ok('error' in bad && /JSON object/.test(bad.error));
  });
});

describe('Auth0 files', () => {
  const dir = tempDir('janua-auth0-files-');
  after(() => dir.remove());
  const users = [
    { user_id: 'auth0|1', email: 'a@example.com', user_metadata: { note: 'has ] and } and \n' } },
    { user_id: 'auth0|2', email: 'b@example.com' },
  ];
  const collect = async (it: AsyncIterable<SourceRecord<unknown>>) => {
    const out: SourceRecord<unknown>[] = [];
    for await (const r of it) out.push(r);
    return out;
  };

  it('reads NDJSON and JSON arrays, plain or gzipped (told by the magic bytes, not the name)', async () => {
    const ndjson = `${users.map((u) => JSON.stringify(u)).join('\n')}\n`;
    const array = JSON.stringify(users, null, 2);
    const files = {
      'plain.ndjson': ndjson,
      'array.json': array,
      'gz.ndjson.gz': gzipSync(ndjson),
      'renamed.json': gzipSync(array),
    };
    for (const [name, content] of Object.entries(files)) {
      const p = join(dir.path, name);
      writeFileSync(p, content);
      const got = await collect(readUsersFile(p));
      assert.deepEqual(
        got,
        users.map((value, i) => ({ index: i + 1, value })),
        name,
      );
    }
  });

  it('invalid lines are error records, and reading goes on', async () => {
    const p = join(dir.path, 'bad.ndjson.gz');
    writeFileSync(p, gzipSync(`${JSON.stringify(users[0])}\n{not json\n\n${JSON.stringify(users[1])}\n`));
    const got = await collect(readUsersFile(p));
    assert.equal(got.length, 3);
    assert.deepEqual(got[0], { index: 1, value: users[0] });
    assert.equal(got[1]!.index, 2);
    assert.match(got[1]!.error!, /invalid JSON on line 2/);
    assert.deepEqual(got[2], { index: 3, value: users[1] });
  });

  it('a corrupt gzip file ends the reading with an error naming the file', async () => {
    const p = join(dir.path, 'corrupt.gz');
    const gz = gzipSync(JSON.stringify(users[0]).repeat(1000));
    writeFileSync(p, Buffer.concat([gz.subarray(0, 20), Buffer.alloc(200, 7)]));
    await assert.rejects(collect(readUsersFile(p)), /corrupt\.gz/);
  });

  it('reads the password-hash export', async () => {
    const p = join(dir.path, 'hashes.json');
    writeFileSync(p, gzipSync(`{"_id":{"$oid":"abc"},"email":"a@example.com","passwordHash":"${HASH}"}\n`));
    const [r] = await collect(readPasswordHashesFile(p));
    assert.ok(r && 'value' in r);
    const m = mapAuth0PasswordHash(r.value, r.index);
    assert.ok('hash' in m && m.hash.externalId === 'auth0|abc');
  });

  it('fileInputKey: the same files give the same key; a touched or changed file another', async () => {
    const a = join(dir.path, 'key-a.ndjson');
    const b = join(dir.path, 'key-b.ndjson');
    writeFileSync(a, 'one\n');
    writeFileSync(b, 'two\n');
    const k1 = await fileInputKey([a, b]);
    assert.equal(await fileInputKey([a, b]), k1);
    assert.notEqual(await fileInputKey([b, a]), k1);
    assert.notEqual(await fileInputKey([a]), k1);
    utimesSync(a, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const k2 = await fileInputKey([a, b]);
    assert.notEqual(k2, k1);
    writeFileSync(a, 'ONE\n');
    utimesSync(a, new Date(2020, 0, 1), new Date(2020, 0, 1));
    assert.notEqual(await fileInputKey([a, b]), k2, 'same size and mtime, other content');
  });
});
