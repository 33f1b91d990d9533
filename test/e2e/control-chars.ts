/**
 * Control characters sent where they can never be meant, for the bad-input and sweep suites: the objects they
 * are aimed at (an organization with a member, an invitation and a custom role, made through the API by a
 * platform admin) and the table of cases. Every case must be answered 422 VALIDATION_ERROR and change nothing.
 */
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { AUTH, type Call, PASSWORD, type Session, signUp, uniqueEmail } from './support.js';

export const NUL = '\u0000';
/** The C0 controls and DEL other than NUL, TAB, LF and CR, plus those three (refused in single-line text). */
export const C0 = ['\u0001', '\u0007', '\u0008', '\u001b', '\u001f', '\u007f', '\t', '\n', '\r'];

/** The daemon's bootstrap admin (ADMIN_BOOTSTRAP_EMAIL / ADMIN_BOOTSTRAP_PASSWORD). */
export const ADMIN_EMAIL = 'root@example.com';
export const ADMIN_ENV = { ADMIN_BOOTSTRAP_EMAIL: ADMIN_EMAIL, ADMIN_BOOTSTRAP_PASSWORD: PASSWORD };

export interface Fixtures {
  admin: Session;
  member: Session;
  org: { id: string; slug: string };
  inviteId: string;
  inviteToken: string;
  roleId: string;
  sessionId: string;
}

/** Signs in the bootstrap admin, signs up a member and gives them an organization to be refused about. */
export async function textFixtures(call: Call): Promise<Fixtures> {
  const ok = async (method: Dispatcher.HttpMethod, path: string, token: string, body?: unknown) => {
    const res = await call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path} → ${res.status} ${res.text}`);
    return res.body;
  };
  const signin = await call('POST', `${AUTH}/signin`, { body: { email: ADMIN_EMAIL, password: PASSWORD } });
  assert.equal(signin.status, 200, signin.text);
  const admin = signin.body as Session;
  const member = await signUp(call, uniqueEmail('member'));
  const slug = `org-${Math.random().toString(36).slice(2, 10)}`;
  const org = await ok('POST', '/api/v1/organizations', admin.access_token, { name: 'Acme', slug });
  const orgPath = `/api/v1/organizations/${org.id}`;
  await ok('POST', `${orgPath}/members`, admin.access_token, { user_id: member.user.id });
  const invite = await ok('POST', `${orgPath}/invitations`, admin.access_token, {
    email: uniqueEmail('invitee'),
  });
  const role = await ok('POST', `${orgPath}/roles`, admin.access_token, {
    name: 'auditor',
    permissions: ['members:read'],
  });
  const sessions = await ok('GET', `/api/v1/users/${member.user.id}/sessions`, admin.access_token);
  return {
    admin,
    member,
    org: { id: org.id, slug },
    inviteId: invite.id,
    inviteToken: invite.token,
    roleId: role.id,
    sessionId: sessions[0].id,
  };
}

export interface TextCase {
  name: string;
  method: Dispatcher.HttpMethod;
  path: string;
  body?: unknown;
  token?: string | undefined;
}

const q = encodeURIComponent;

/**
 * NUL in body fields, nested JSON, object keys, path and query parameters of each area, and the other C0
 * controls in single-line fields, multi-line text (BEL, ESC) and parameters.
 */
export function controlCharCases(fx: Fixtures): TextCase[] {
  const admin = fx.admin.access_token;
  const user = fx.member.access_token;
  const orgs = '/api/v1/organizations';
  const org = `${orgs}/${fx.org.id}`;
  const users = '/api/v1/users';
  const uid = fx.member.user.id;
  const cases: TextCase[] = [];
  /** One request per [field, value]: `base` with that field set (a body case). */
  const fields = (
    method: Dispatcher.HttpMethod,
    path: string,
    token: string | undefined,
    base: Record<string, unknown>,
    list: Array<[string, unknown]>,
  ) => {
    for (const [field, value] of list) {
      const name = `${method} ${path} ${JSON.stringify(field)}: ${JSON.stringify(value)}`;
      cases.push({ name, method, path, token, body: { ...base, [field]: value } });
    }
  };
  /** One request per URL (a path or query parameter case). */
  const urls = (method: Dispatcher.HttpMethod, token: string, list: string[], body?: unknown) => {
    for (const path of list) cases.push({ name: `${method} ${path}`, method, path, token, body });
  };

  const signup = { email: uniqueEmail('cc'), password: PASSWORD };
  const profile = `${AUTH}/profile`;
  fields('POST', `${AUTH}/signup`, undefined, signup, [
    ['email', `a${NUL}b@example.com`],
    ['first_name', `Ann${NUL}`],
    ['last_name', NUL],
    ['username', `ann${NUL}`],
    ['password', `${PASSWORD}${NUL}`],
    [`x${NUL}`, 1],
  ]);
  fields('POST', `${AUTH}/signin`, undefined, { email: fx.member.user.email, password: PASSWORD }, [
    ['email', `${fx.member.user.email}${NUL}`],
    ['password', `${PASSWORD}${NUL}`],
  ]);
  fields('POST', `${AUTH}/token/refresh`, undefined, {}, [
    ['refresh_token', `${fx.member.refresh_token}${NUL}`],
  ]);

  // Every other C0 control (and DEL; TAB, LF and CR too) in single-line fields and parameters.
  for (const c of C0) {
    fields('POST', `${AUTH}/signup`, undefined, signup, [
      ['email', `a${c}b@example.com`],
      ['first_name', `Ann${c}Lee`],
    ]);
    fields('POST', `${AUTH}/signin`, undefined, { password: PASSWORD }, [
      ['email', `${c}${fx.member.user.email}`],
    ]);
    fields('PATCH', profile, user, {}, [['timezone', `Europe/Paris${c}`]]);
    fields('PATCH', org, admin, {}, [['slug', `acme${c}`]]);
    urls('GET', admin, [
      `${orgs}/by-slug/${q(`${fx.org.slug}${c}`)}`,
      `${users}?search=${q(`a${c}`)}`,
      `/api/v1/rbac/check?permission=${q(`members:read${c}`)}`,
    ]);
  }

  // Profile (/auth/profile and /users): names, phone, locale, user_metadata values and keys at any depth.
  fields('PATCH', profile, user, {}, [
    ['first_name', `A${NUL}`],
    ['display_name', NUL],
    ['phone_number', `+331234${NUL}`],
    ['locale', `fr${NUL}`],
    ['user_metadata', { team: `a${NUL}` }],
    ['user_metadata', { [`te${NUL}am`]: 'a' }],
    ['user_metadata', { a: [{ b: ['ok', { c: NUL }] }] }],
    ['first_name', 'Ann\u0007'],
  ]);
  fields('PATCH', `${users}/me`, user, {}, [['last_name', NUL]]);
  fields('PATCH', `${users}/${uid}`, admin, {}, [
    ['email', `x${NUL}@example.com`],
    ['username', 'ann\u001b[31m'],
    ['user_metadata', { [NUL]: NUL }],
  ]);
  urls('GET', admin, [
    `${users}?search=${q(`a${NUL}`)}`,
    `${users}?sort=${q(`email${NUL}`)}`,
    `${users}?created_after=${q(`2024-01-01T00:00:00Z${NUL}`)}`,
    `${users}?created_after=${q('2024-01-01\t00:00:00Z')}`,
    `${users}?${q(`x${NUL}`)}=1`,
    `${users}/${q(`${uid}${NUL}`)}`,
    `${users}/${q(NUL)}`,
  ]);
  urls('POST', admin, [`${users}/${q(`${NUL}${uid}`)}/suspend`]);
  urls('DELETE', admin, [
    `${users}/${uid}?hard=${q(`true${NUL}`)}`,
    `${users}/${uid}/sessions/${q(`${fx.sessionId}${NUL}`)}`,
  ]);

  // Organizations: body fields, metadata, description (multi-line: NUL, BEL and ESC refused), path params.
  fields('POST', orgs, user, { name: 'Acme', slug: 'acme-cc' }, [
    ['name', `Acme${NUL}`],
    ['slug', `acme${NUL}`],
    ['description', `a${NUL}`],
    ['name', '\u001b]0;owned\u0007'],
    ['metadata', { tags: ['x', NUL] }],
    ['logo_url', `https://example.com/${NUL}.png`],
  ]);
  fields('PATCH', org, admin, {}, [
    ['name', NUL],
    ['description', 'ring\u0007'],
    ['description', 'red \u001b[31m'],
    ['metadata', { [`k${NUL}`]: 1 }],
  ]);
  urls('GET', admin, [`${orgs}/${q(`${fx.org.id}${NUL}`)}`, `${orgs}/by-slug/${q(`${fx.org.slug}${NUL}`)}`]);
  urls('GET', user, [`${orgs}/by-slug/${q(NUL)}`]);
  urls('DELETE', admin, [`${orgs}/${q(`${fx.org.id}${NUL}`)}`]);
  fields('POST', `${AUTH}/switch-organization`, user, {}, [['organization_id', `${fx.org.id}${NUL}`]]);

  // Members.
  fields('POST', `${org}/members`, admin, { email: fx.admin.user.email }, [
    ['email', `${fx.admin.user.email}${NUL}`],
    ['role', `admin${NUL}`],
    ['role', 'admin\u001b'],
  ]);
  fields('PUT', `${org}/members/${uid}/role`, admin, {}, [['role', `admin${NUL}`]]);
  urls('PUT', admin, [`${org}/members/${q(`${uid}${NUL}`)}/role`], { role: 'admin' });
  urls('DELETE', admin, [`${org}/members/${q(`${uid}${NUL}`)}`]);
  fields('POST', `${org}/transfer-ownership`, admin, {}, [['user_id', `${uid}${NUL}`]]);

  // Invitations.
  fields('POST', `${org}/invitations`, admin, {}, [
    ['email', `new${NUL}@example.com`],
    ['email', 'new\u0001@example.com'],
  ]);
  fields('POST', `${org}/invites`, admin, { email: uniqueEmail('inv') }, [['role', `member${NUL}`]]);
  urls('GET', admin, [`${org}/invitations?status=${q(`pending${NUL}`)}`]);
  urls('DELETE', admin, [`${org}/invitations/${q(`${fx.inviteId}${NUL}`)}`]);
  urls('POST', admin, [`${org}/invitations/${q(`${fx.inviteId}${NUL}`)}/resend`]);
  fields('POST', `${orgs}/invitations/accept`, user, {}, [['token', `${fx.inviteToken}${NUL}`]]);

  // Maintenance and the audit log (platform admins): the message is multi-line text.
  fields('POST', '/api/v1/admin/maintenance', admin, { enabled: false }, [
    ['message', `back soon${NUL}`],
    ['message', '\u001b[2J'],
  ]);
  urls('GET', admin, [
    `/api/v1/audit-logs?action=${q(`auth.${NUL}`)}`,
    `/api/v1/admin/activity?actor_id=${q('\u0001')}`,
  ]);

  // Roles and RBAC.
  const role = { name: 'r2', permissions: ['members:read'] };
  fields('POST', '/api/v1/roles', admin, { ...role, organization_id: fx.org.id }, [
    ['name', `r${NUL}`],
    ['permissions', [`members:read${NUL}`]],
  ]);
  fields('POST', `${org}/roles`, admin, role, [
    ['permissions', ['members:read\n*']],
    ['description', NUL],
  ]);
  fields('PATCH', `/api/v1/roles/${fx.roleId}`, admin, {}, [['description', `x${NUL}`]]);
  urls('PATCH', admin, [`/api/v1/roles/${q(`${fx.roleId}${NUL}`)}`], { name: 'x' });
  urls('DELETE', admin, [`/api/v1/roles/${q(`${fx.roleId}${NUL}`)}`]);
  urls('GET', admin, [
    `/api/v1/roles?organization_id=${q(`${fx.org.id}${NUL}`)}`,
    `/api/v1/rbac/check?permission=${q(`members:read${NUL}`)}`,
    `/api/v1/rbac/check?permission=members:read&resource_id=${q(`${fx.org.id}${NUL}`)}`,
    `/api/v1/rbac/check?permission=members:read&user_id=${q(`${uid}${NUL}`)}`,
  ]);

  // Sign-out: a NUL in its query or optional body ends nothing.
  urls('POST', user, [`${AUTH}/signout?all=${q(`true${NUL}`)}`]);
  fields('POST', `${AUTH}/signout`, user, {}, [['refresh_token', NUL]]);
  return cases;
}
