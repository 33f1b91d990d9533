/**
 * The live Auth0 source against the fake tenant (real HTTPS, a generated CA, the real `auth0` client): the users
 * export round trip with its gzipped download, paging of every list, rate limits, 5xx, token expiry and
 * revocation, read-only traffic, a failed export job, and no secret in any error. No database involved.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Auth0Error } from '../../src/migrate/auth0/client.js';
import { EXPORT_FIELDS } from '../../src/migrate/auth0/export-job.js';
import {
  type LiveSourceEvent,
  type LiveSourceOptions,
  liveSource,
} from '../../src/migrate/auth0/live-source.js';
import { tempDir } from '../helpers/db.js';
import { FakeAuth0 as Fake, type FakeAuth0, type FakeAuth0Data } from '../helpers/fake-auth0.js';

const N_USERS = 30;
const N_ROLES = 23;
const N_ORGS = 21;
const N_MEMBERS = 17;

function tenant(): FakeAuth0Data {
  const users = Array.from({ length: N_USERS }, (_, i) => ({
    user_id: `auth0|u${i}`,
    email: `u${i}@example.com`,
    email_verified: i % 2 === 0,
    name: `User ${i}`,
    given_name: 'User',
    family_name: String(i),
    nickname: `u${i}`,
    created_at: '2020-01-02T03:04:05.000Z',
    last_login: '2024-05-06T07:08:09.000Z',
    blocked: i === 3,
    user_metadata: { theme: 'dark' },
    app_metadata: { plan: 'pro' },
    identities: [
      {
        provider: 'auth0',
        user_id: `u${i}`,
        connection: 'Username-Password-Authentication',
        isSocial: false,
      },
    ],
    multifactor: i === 4 ? ['guardian'] : undefined,
    password: `Plain-pass-${i}!`,
  }));
  const roles = Array.from({ length: N_ROLES }, (_, i) => ({
    id: `rol_${i}`,
    name: `role-${i}`,
    description: `Role ${i}`,
    permissions: Array.from({ length: i === 0 ? 25 : 1 }, (_, j) => ({
      permission_name: `perm:${i}:${j}`,
      resource_server_identifier: 'https://api.example.com',
    })),
    users: i === 0 ? users.map((u) => u.user_id) : [],
  }));
  const organizations = Array.from({ length: N_ORGS }, (_, i) => ({
    id: `org_${i}`,
    name: `org-${i}`,
    display_name: `Org ${i}`,
    members:
      i === 0
        ? users
            .slice(0, N_MEMBERS)
            .map((u, j) => ({ user_id: u.user_id, roles: j === 0 ? ['rol_1', 'rol_2'] : [] }))
        : [],
  }));
  return { users, roles, organizations, extraExportLines: ['{"user_id": broken'] };
}

describe('Auth0 live source against the fake tenant', () => {
  let fake: FakeAuth0;
  const dir = tempDir('auth0-client-');
  const events: LiveSourceEvent[] = [];

  before(async () => {
    fake = await Fake.start({ data: tenant(), exportPolls: 2 });
  });
  after(async () => {
    await fake.stop();
    dir.remove();
  });

  const source = (extra: Partial<LiveSourceOptions> = {}) =>
    liveSource({
      domain: fake.domain,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      ca: fake.caPem,
      dataDir: dir.path,
      pollMs: 5,
      pageSize: 10,
      retry: { baseMs: 5, maxMs: 20 },
      onEvent: (e) => events.push(e),
      ...extra,
    });

  test('users come through an export job: every field asked for, polled, downloaded gzipped, parsed line by line', async () => {
    const src = source();
    const before = fake.requests.length;
    const got = [];
    for await (const r of src.users()) got.push(r);
    await src.close();
    assert.equal(got.length, N_USERS + 1);
    assert.deepEqual(
      got.map((r) => r.index),
      Array.from({ length: N_USERS + 1 }, (_, i) => i + 1),
    );
    const u4 = got[4]!.value!;
    assert.equal(u4.user_id, 'auth0|u4');
    assert.equal(u4.email, 'u4@example.com');
    assert.deepEqual(u4.multifactor, ['guardian']);
    assert.deepEqual(u4.app_metadata, { plan: 'pro' });
    assert.equal(u4.identities?.[0]?.provider, 'auth0');
    assert.equal(got[3]!.value!.blocked, true);
    assert.ok(!('password' in u4), 'a plain password never leaves the fake');
    assert.match(got[N_USERS]!.error ?? '', /invalid JSON/);
    const job = [...fake.jobs.values()].at(-1)!;
    assert.deepEqual(job.fields, [...EXPORT_FIELDS]);
    assert.equal(job.format, 'json');
    assert.ok(job.polls >= 3, 'polled until completed');
    const state = src.exportState();
    assert.match(state.jobId ?? '', /^job_/);
    assert.equal(state.file, join(dir.path, 'migrate', `auth0-${state.jobId}.ndjson.gz`));
    assert.ok(existsSync(state.file!));
    assert.deepEqual(
      readdirSync(join(dir.path, 'migrate')).filter((f) => f.endsWith('.part')),
      [],
    );
    const mine = fake.requests.slice(before);
    assert.ok(
      mine.some((r) => r.path.startsWith('/exports/') && r.status === 200),
      'downloaded',
    );
    const states = events.flatMap((e) => (e.type === 'export' ? [e.state] : []));
    for (const s of ['created', 'processing', 'completed', 'downloading', 'downloaded'])
      assert.ok(states.includes(s as never), s);
  });

  test('a resumed source reads the same download again without a new job', async () => {
    const first = source();
    for await (const _ of first.users());
    const state = first.exportState();
    await first.close();
    const jobs = fake.jobs.size;
    const before = fake.requests.length;
    const again = source();
    again.resumeExport(state);
    let n = 0;
    for await (const r of again.users()) if (r.value) n++;
    await again.close();
    assert.equal(n, N_USERS);
    assert.equal(fake.jobs.size, jobs, 'no new export job');
    assert.equal(fake.requests.slice(before).filter((r) => r.path.startsWith('/api/v2/jobs')).length, 0);
    // Same tenant, same key: the runner finds the checkpoint before it knows the file.
    assert.equal(await again.inputKey(), await first.inputKey());

    // The download gone but the job still known: it is fetched again from the same job, no new export.
    rmSync(state.file!);
    const byJob = source({ exportJobId: state.jobId });
    let m = 0;
    for await (const r of byJob.users()) if (r.value) m++;
    await byJob.close();
    assert.equal(m, N_USERS);
    assert.equal(fake.jobs.size, jobs, 'still no new export job');
    assert.deepEqual(byJob.exportState(), state);
  });

  test('every list is paged to the end: roles with permissions, organizations, members with roles, role users', async () => {
    const src = source();
    const before = fake.requests.length;
    const roles = [];
    for await (const r of src.roles()) roles.push(r);
    const orgs = [];
    for await (const o of src.organizations()) orgs.push(o);
    const members = [];
    for await (const m of src.members('org_0')) members.push(m);
    const roleUsers = [];
    for await (const u of src.roleUsers('rol_0')) roleUsers.push(u);
    await src.close();
    assert.equal(roles.length, N_ROLES);
    assert.equal(new Set(roles.map((r) => r.id)).size, N_ROLES);
    assert.equal(roles[0]!.permissions.length, 25);
    assert.equal(roles[0]!.description, 'Role 0');
    assert.equal(orgs.length, N_ORGS);
    assert.equal(orgs[5]!.display_name, 'Org 5');
    assert.equal(members.length, N_MEMBERS);
    assert.deepEqual(members[0]!.roles, [
      { id: 'rol_1', name: 'role-1' },
      { id: 'rol_2', name: 'role-2' },
    ]);
    assert.equal(roleUsers.length, N_USERS);
    const mine = fake.requests.slice(before);
    const count = (re: RegExp) => mine.filter((r) => re.test(r.path)).length;
    assert.equal(count(/^\/api\/v2\/roles$/), 3, '23 roles in pages of 10');
    assert.equal(count(/^\/api\/v2\/roles\/rol_0\/permissions$/), 3);
    assert.equal(count(/^\/api\/v2\/organizations$/), 3);
    assert.equal(count(/^\/api\/v2\/organizations\/org_0\/members$/), 2);
    assert.equal(count(/^\/api\/v2\/roles\/rol_0\/users$/), 3);
    const memberCalls = mine.filter((r) => r.path.endsWith('/members'));
    assert.ok(memberCalls.every((r) => r.query['fields']?.split(',').includes('roles')));
  });

  test('a 429 waits for Retry-After before the retry; a 503 is retried with backoff', async () => {
    const src = source();
    const before = fake.requests.length;
    fake.rateLimitNext(1, 1, /^\/api\/v2\/organizations$/);
    fake.failNext(2, 503, /^\/api\/v2\/roles$/);
    let orgs = 0;
    for await (const _ of src.organizations()) orgs++;
    let roles = 0;
    for await (const _ of src.roles()) roles++;
    await src.close();
    assert.equal(orgs, N_ORGS);
    assert.equal(roles, N_ROLES);
    const mine = fake.requests.slice(before);
    const limited = mine.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0);
    const retry = mine.slice(limited + 1).find((r) => r.path === '/api/v2/organizations')!;
    assert.ok(
      retry.at - mine[limited]!.at >= 950,
      `waited ${retry.at - mine[limited]!.at} ms for Retry-After: 1`,
    );
    assert.equal(mine.filter((r) => r.status === 503).length, 2);
    assert.ok(events.some((e) => e.type === 'retry' && e.reason === 'rate_limited' && e.waitMs >= 900));
    assert.ok(events.some((e) => e.type === 'retry' && e.reason === 'server_error' && e.status === 503));
  });

  test('a revoked token (401) and an expired one are replaced; the run goes on', async () => {
    const src = source();
    let n = 0;
    const tokens = fake.tokensIssued;
    for await (const _ of src.organizations()) {
      if (++n === 5) fake.revokeTokens();
    }
    assert.equal(n, N_ORGS);
    assert.equal(fake.tokensIssued, tokens + 2, 'the first token, then one after the 401');
    assert.ok(fake.requests.some((r) => r.status === 401));
    await src.close();

    // A short-lived token is renewed ahead of expiry, without a 401.
    const shortFake = await Fake.start({ data: tenant(), tokenTtlSeconds: 1 });
    try {
      const s2 = liveSource({
        domain: shortFake.domain,
        clientId: shortFake.clientId,
        clientSecret: shortFake.clientSecret,
        ca: shortFake.caPem,
        dataDir: dir.path,
        pageSize: 10,
      });
      for await (const _ of s2.roles()) await new Promise((r) => setTimeout(r, 60));
      await s2.close();
      assert.ok(shortFake.tokensIssued >= 2, `tokens: ${shortFake.tokensIssued}`);
      assert.equal(shortFake.requests.filter((r) => r.status === 401).length, 0);
    } finally {
      await shortFake.stop();
    }
  });

  test('nothing is written to the tenant: only GETs, the token and the export job creation', () => {
    const writes = fake.requests.filter((r) => r.method !== 'GET');
    assert.ok(writes.length > 0);
    for (const w of writes)
      assert.ok(
        (w.method === 'POST' && w.path === '/oauth/token') ||
          (w.method === 'POST' && w.path === '/api/v2/jobs/users-exports'),
        `${w.method} ${w.path}`,
      );
  });

  test('a failed export job is reported clearly', async () => {
    const failing = await Fake.start({ data: tenant(), exportFails: true });
    try {
      const src = liveSource({
        domain: failing.domain,
        clientId: failing.clientId,
        clientSecret: failing.clientSecret,
        ca: failing.caPem,
        dataDir: dir.path,
        pollMs: 5,
      });
      await assert.rejects(
        async () => {
          for await (const _ of src.users());
        },
        (err: Error) => err instanceof Auth0Error && /users export job job_\w+ failed/.test(err.message),
      );
      await src.close();
    } finally {
      await failing.stop();
    }
  });

  test('an untrusted certificate fails at once with a TLS error, not after retries', async () => {
    const src = liveSource({
      domain: fake.domain,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      dataDir: dir.path,
      retry: { baseMs: 5, maxMs: 10 },
    });
    const err = await collect(src.roles());
    await src.close();
    assert.ok(err instanceof Auth0Error);
    assert.match(err.message, /TLS error \(\w+\)/);
    assert.doesNotMatch(err.message, /after \d+ attempts/);
  });

  test('secrets are absent from errors: wrong credentials, a persisting 503, an unreachable tenant', async () => {
    const secret = 'super-secret-value-123456';
    const wrong = liveSource({
      domain: fake.domain,
      clientId: fake.clientId,
      clientSecret: secret,
      ca: fake.caPem,
      dataDir: dir.path,
      retry: { baseMs: 5, maxMs: 20 },
    });
    const err1 = await collect(wrong.roles());
    await wrong.close();
    assert.ok(err1 instanceof Auth0Error);
    assert.match(err1.message, /token endpoint answered 401/);
    assert.doesNotMatch(`${err1.message} ${err1.stack}`, new RegExp(secret));

    const src = source({ retry: { attempts: 3, baseMs: 5, maxMs: 10 } });
    fake.failNext(3, 503, /^\/api\/v2\/organizations$/);
    const err2 = await collect(src.organizations());
    await src.close();
    assert.match(err2.message, /GET \/organizations failed after 3 attempts: 503/);
    assert.doesNotMatch(err2.message, new RegExp(fake.clientSecret));

    const down = liveSource({
      domain: '127.0.0.1:1',
      clientId: 'x',
      clientSecret: secret,
      dataDir: dir.path,
      retry: { attempts: 2, baseMs: 5, maxMs: 10 },
    });
    const err3 = await collect(down.roles());
    await down.close();
    assert.match(err3.message, /network error/);
    assert.doesNotMatch(err3.message, new RegExp(secret));
  });
});

async function collect(it: AsyncIterable<unknown>): Promise<Error> {
  try {
    for await (const _ of it);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}
