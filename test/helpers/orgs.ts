/** Users with tokens and organizations set up through the core, for the organization API tests. */
import type { LightMyRequestResponse } from 'fastify';
import { signIn, signUp } from '../../src/core/auth/service.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { createUser } from '../../src/core/users/service.js';
import { GOOD_PASSWORD, type TestApp } from './app.js';

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

let n = 0;

/** A signed-up user (or platform admin) and an access token. */
export async function makeUser(t: TestApp, name: string, opts: { admin?: boolean } = {}): Promise<TestUser> {
  const email = `${name}-${++n}-${Date.now()}@example.com`;
  if (opts.admin) {
    const u = await createUser(t.c, { email, password: GOOD_PASSWORD, isAdmin: true }, CLI_CONTEXT);
    const s = await signIn(t.c, { email, password: GOOD_PASSWORD }, {});
    return { id: u.id, email, token: s.tokens.access_token };
  }
  const s = await signUp(t.c, { email, password: GOOD_PASSWORD }, {});
  return { id: s.user.id, email, token: s.tokens.access_token };
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
}

/** app.inject with a bearer token and a JSON body. */
export async function call(
  t: TestApp,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  opts: CallOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: response JSON, asserted field by field
): Promise<LightMyRequestResponse & { data: any }> {
  const res = await t.app.inject({
    method,
    url,
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
  });
  return Object.assign(res, { data: res.body ? JSON.parse(res.body) : undefined });
}

/** Row counts that a refused request must leave unchanged. */
export async function counts(t: TestApp): Promise<Record<string, number | string>> {
  const db = t.c.store.db;
  const out: Record<string, number | string> = {};
  for (const table of [
    'organizations',
    'organization_members',
    'organization_roles',
    'organization_invitations',
    'outbox',
  ] as const) {
    const r = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[table] = Number(r.n);
  }
  const roles = await db
    .selectFrom('organization_members')
    .select(['organization_id', 'user_id', 'role'])
    .execute();
  out['role_fingerprint'] = roles
    .map((r) => `${r.organization_id}/${r.user_id}/${r.role}`)
    .sort()
    .join(',');
  return out;
}

/** A new access token for the user, e.g. after the test clock moved past the old one's lifetime. */
export async function signInAgain(t: TestApp, user: TestUser): Promise<TestUser> {
  const s = await signIn(t.c, { email: user.email, password: GOOD_PASSWORD }, {});
  return { ...user, token: s.tokens.access_token };
}
