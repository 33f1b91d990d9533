/**
 * Auth0 tenant data for tests and the benchmark, shaped like Auth0's users export (NDJSON) and its
 * password-hash export: deterministic users (`auth0|…` ids, some social identities, a blocked one, metadata,
 * an MFA enrolment), and writers for the two files, gzipped or not.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import type { Auth0User } from '../../src/migrate/auth0/types.js';

export function oid(i: number): string {
  return (0x5f00000000 + i).toString(16).padStart(24, '0');
}

export function auth0User(i: number, domain = 'example.test'): Auth0User {
  const id = `auth0|${oid(i)}`;
  const u: Auth0User = {
    user_id: id,
    email: `User.${i}@${domain}`,
    email_verified: i % 3 !== 0,
    given_name: `Given${i}`,
    family_name: `Family${i}`,
    name: `Given${i} Family${i}`,
    nickname: `user${i}`,
    picture: `https://cdn.example.test/p/${i}.png`,
    created_at: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
    updated_at: new Date(Date.UTC(2021, 0, 1) + i * 60_000).toISOString(),
    last_login: new Date(Date.UTC(2022, 0, 1) + i * 60_000).toISOString(),
    user_metadata: { theme: i % 2 ? 'dark' : 'light' },
    app_metadata: { plan: i % 5 ? 'free' : 'pro' },
    identities: [
      { provider: 'auth0', user_id: oid(i), connection: 'Username-Password-Authentication', isSocial: false },
    ],
  };
  if (i % 10 === 1)
    u.identities!.push({
      provider: 'google-oauth2',
      user_id: `10${i}`,
      connection: 'google-oauth2',
      isSocial: true,
    });
  if (i % 50 === 7) u.blocked = true;
  if (i % 40 === 3) u.multifactor = ['guardian'];
  if (i % 20 === 9) u.phone_number = `+1555000${String(i).padStart(4, '0')}`.slice(0, 15);
  return u;
}

/** Writes NDJSON lines (raw strings are written as they are: invalid lines for tests), gzipped when `gzip`. */
export async function writeNdjson(
  path: string,
  lines: Iterable<unknown> | AsyncIterable<unknown>,
  gzip = false,
): Promise<void> {
  const file = createWriteStream(path);
  const out = gzip ? createGzip({ level: 1 }) : file;
  if (gzip) (out as NodeJS.ReadWriteStream).pipe(file);
  for await (const l of lines) {
    const text = typeof l === 'string' ? l : JSON.stringify(l);
    if (!out.write(`${text}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(file, 'close');
}

/** One line of Auth0's password-hash export for user `i`. */
export function hashLine(i: number, hash: string, domain = 'example.test') {
  return {
    _id: { $oid: oid(i) },
    email: `user.${i}@${domain}`,
    email_verified: true,
    passwordHash: hash,
    connection: 'Username-Password-Authentication',
  };
}
