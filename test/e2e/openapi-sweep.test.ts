/**
 * What the API document promises, checked against the spawned daemon on each dialect:
 * - a NUL in each string body field (free JSON objects: a value and a key), each path parameter and each
 *   query parameter of every operation in `/openapi.json`, sent as a platform admin with everything else
 *   valid, is a 4xx in the documented format — never a 5xx — and changes nothing;
 * - an empty `application/json` body (Content-Length 0, or chunked with nothing) is no body: bodyless actions
 *   succeed, sign-up and sign-in answer 422 naming the fields they need;
 * - multi-line text keeps TAB, LF and CR, free JSON keeps anything but NUL, stored as sent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { before, describe, test } from 'node:test';
import { type Dispatcher, request } from 'undici';
import { ERROR_STATUS, type ErrorCode } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import type { Daemon } from '../helpers/janua.js';
import { ADMIN_ENV, type Fixtures, NUL, textFixtures } from './control-chars.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  PASSWORD,
  type Res,
  signUp,
  snapshot,
  uniqueEmail,
} from './support.js';

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema out of the OpenAPI document, read key by key.
type JsonSchema = Record<string, any>;
type Path = Array<string | number>;

interface Operation {
  method: Dispatcher.HttpMethod;
  path: string;
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

/** A request of the sweep: one operation with a NUL in one place. */
interface Probe {
  what: string;
  method: Dispatcher.HttpMethod;
  url: string;
  body?: unknown;
}

const VALUE = `sweep${NUL}value`;

/** A value the schema accepts, so that the NUL is the one flaw of a probe. */
function sample(schema: JsonSchema | undefined, name: string, fx: Fixtures): unknown {
  if (!schema) return 'sweep';
  if (schema['anyOf'])
    return sample(
      schema['anyOf'].find((s: JsonSchema) => s['type'] !== 'null'),
      name,
      fx,
    );
  if (schema['const'] !== undefined) return schema['const'];
  if (schema['enum']) return schema['enum'][0];
  switch (schema['type']) {
    case 'object':
      return Object.fromEntries(
        ((schema['required'] ?? []) as string[]).map((k) => [k, sample(schema['properties']?.[k], k, fx)]),
      );
    case 'array':
      return schema['minItems'] ? [sample(schema['items'], name, fx)] : [];
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return schema['minimum'] ?? 1;
    default:
      break;
  }
  if (schema['format'] === 'uuid')
    return name === 'organization_id' ? fx.org.id : name === 'user_id' ? fx.member.user.id : randomUUID();
  if (schema['format'] === 'uri') return 'https://example.com/logo.png';
  if (schema['format'] === 'date-time') return new Date().toISOString();
  if (name.includes('email')) return uniqueEmail('sweep');
  if (name.includes('password')) return PASSWORD;
  if (name === 'slug') return `sweep-${randomUUID().slice(0, 8)}`;
  if (name === 'role') return 'member';
  if (name.startsWith('permission')) return 'members:read';
  return 'sweep';
}

/** Where a body schema takes text: string leaves, and free JSON objects (no listed properties). */
function* textPlaces(schema: JsonSchema | undefined, path: Path): Generator<[Path, 'string' | 'free']> {
  if (!schema) return;
  for (const branch of schema['anyOf'] ?? []) yield* textPlaces(branch, path);
  if (schema['type'] === 'string' && schema['const'] === undefined && !schema['enum']) yield [path, 'string'];
  if (schema['type'] === 'object') {
    for (const [k, s] of Object.entries(schema['properties'] ?? {}))
      yield* textPlaces(s as JsonSchema, [...path, k]);
    if (!schema['properties'] || schema['additionalProperties']) yield [path, 'free'];
  }
  if (schema['type'] === 'array') yield* textPlaces(schema['items'], [...path, 0]);
}

/** `body` with `value` at `path`, creating the objects and arrays on the way. */
function setAt(body: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  const container = (
    typeof head === 'number' ? [...((body as unknown[]) ?? [])] : { ...((body as object) ?? {}) }
  ) as Record<string | number, unknown>;
  container[head] = setAt(container[head], rest, value);
  return container;
}

/** Every probe of one operation: each path parameter, each query parameter, each text place of the body. */
function probes(op: Operation, fx: Fixtures): Probe[] {
  const ids: Record<string, string> = {
    org_id: fx.org.id,
    user_id: fx.member.user.id,
    invite_id: fx.inviteId,
    session_id: fx.sessionId,
    id: fx.roleId,
    slug: fx.org.slug,
  };
  const params = op.parameters ?? [];
  const schema = op.requestBody?.content?.['application/json']?.schema;
  const body = schema ? sample(schema, 'body', fx) : undefined;
  const url = (path: Record<string, string>, query: Record<string, string>) => {
    const p = op.path.replace(/\{(\w+)\}/g, (_, n: string) =>
      encodeURIComponent(path[n] ?? ids[n] ?? randomUUID()),
    );
    const qs = new URLSearchParams(query).toString();
    return qs ? `${p}?${qs}` : p;
  };
  const required = Object.fromEntries(
    params
      .filter((p) => p.in === 'query' && p.required)
      .map((p) => [p.name, String(sample(p.schema, p.name, fx))]),
  );
  const out: Probe[] = [];
  const name = `${op.method} ${op.path}`;
  for (const p of params) {
    if (p.in === 'path')
      out.push({
        what: `${name} path ${p.name}`,
        method: op.method,
        url: url({ [p.name]: VALUE }, required),
        body,
      });
    if (p.in === 'query')
      out.push({
        what: `${name} query ${p.name}`,
        method: op.method,
        url: url({}, { ...required, [p.name]: VALUE }),
        body,
      });
  }
  const seen = new Set<string>();
  for (const [path, kind] of textPlaces(schema, [])) {
    const key = `${path.join('.')} ${kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const values = kind === 'string' ? [VALUE] : [{ note: VALUE }, { [`k${NUL}`]: 'v' }];
    for (const v of values)
      out.push({
        what: `${name} body ${path.join('.') || '(root)'} (${kind})`,
        method: op.method,
        url: url({}, required),
        body: setAt(body, path, v),
      });
  }
  return out;
}

/** A 4xx in the management API's one error format (any code, but the code must match the status). */
function assertDocumented4xx(res: Res, what: string): void {
  const where = `${what} → ${res.status} ${res.text.slice(0, 200)}`;
  assert.ok(res.status >= 400 && res.status < 500, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  assert.deepEqual(Object.keys(res.body ?? {}).sort(), ['detail', 'error_code', 'status_code'], where);
  assert.equal(res.body.status_code, res.status, where);
  assert.equal(ERROR_STATUS[res.body.error_code as ErrorCode], res.status, where);
}

for (const dialect of dialects()) {
  describe(`e2e API sweep and bodies (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    let store: Store;
    let fx: Fixtures;

    e2eDaemon(dialect, ADMIN_ENV, (f) => {
      ({ d, call, store } = f);
    });
    before(async () => {
      fx = await textFixtures(call);
    });

    test('a NUL in every body field, path and query parameter of /openapi.json: a documented 4xx, nothing changed', async (t) => {
      const doc = (await call('GET', '/openapi.json')).body as {
        paths: Record<string, Record<string, Operation>>;
      };
      const all = Object.entries(doc.paths)
        .flatMap(([path, ops]) =>
          Object.entries(ops).flatMap(([method, op]) =>
            probes({ ...op, method: method.toUpperCase() as Dispatcher.HttpMethod, path }, fx),
          ),
        )
        // Sign-out last: were a probe of it let through, it would end the admin's session for the rest.
        .sort((a, b) => Number(a.url.includes('/signout')) - Number(b.url.includes('/signout')));
      assert.ok(all.length > 100, `${all.length} probes`);
      const before = await snapshot(store);
      const statuses = new Map<number, number>();
      for (const p of all) {
        const res = await call(p.method, p.url, {
          token: fx.admin.access_token,
          ...(p.body === undefined ? {} : { body: p.body }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assertDocumented4xx(res, p.what);
      }
      t.diagnostic(`${all.length} probes: ${[...statuses].map(([s, n]) => `${n} × ${s}`).join(', ')}`);
      assert.deepEqual(await snapshot(store), before, 'the sweep changed nothing');
      // The admin and the fixtures are all still there and usable.
      assert.equal((await call('GET', `${AUTH}/me`, { token: fx.admin.access_token })).status, 200);
    });

    /** A POST with `Content-Type: application/json` and an empty body, sized (Content-Length 0) or chunked. */
    async function emptyJson(path: string, token: string | undefined, chunked: boolean) {
      const res = await request(`${d.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        // A stream of unknown length goes out chunked (Transfer-Encoding: chunked, only the last chunk).
        body: chunked ? Readable.from([]) : '',
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        text,
        body: text ? JSON.parse(text) : undefined,
      };
    }

    test('an empty JSON body is no body: bodyless actions succeed, sign-in and sign-up name their fields', async () => {
      const admin = fx.admin.access_token;
      const target = await signUp(call, uniqueEmail('bodyless'));
      const users = `/api/v1/users/${target.user.id}`;
      for (const chunked of [false, true]) {
        const how = chunked ? 'chunked' : 'Content-Length 0';
        for (const [action, status] of [
          ['suspend', 'suspended'],
          ['reactivate', 'active'],
        ] as const) {
          const res = await emptyJson(`${users}/${action}`, admin, chunked);
          assert.equal(res.status, 200, `${action} (${how}): ${res.text}`);
          assert.equal(res.body.status, status);
        }
        const lock = await emptyJson(`${users}/lock`, admin, chunked);
        assert.equal(lock.status, 200, `lock (${how}): ${lock.text}`);
        assert.ok(Date.parse(lock.body.locked_until) > Date.now());
        const unlock = await emptyJson(`${users}/unlock`, admin, chunked);
        assert.equal(unlock.status, 200, unlock.text);
        assert.equal(unlock.body.was_locked, true);
        const resend = await emptyJson(
          `/api/v1/organizations/${fx.org.id}/invitations/${fx.inviteId}/resend`,
          admin,
          chunked,
        );
        assert.equal(resend.status, 200, `resend (${how}): ${resend.text}`);

        for (const path of [`${AUTH}/signin`, `${AUTH}/signup`]) {
          const res = await emptyJson(path, undefined, chunked);
          assertError(res as Res, 422, 'VALIDATION_ERROR', `${path} (${how})`);
          assert.match(res.body.detail, /email, password/, `${path} names its fields`);
        }
        const session = await signUp(call, uniqueEmail('signout'));
        const out = await emptyJson(`${AUTH}/signout`, session.access_token, chunked);
        assert.equal(out.status, 200, `signout (${how}): ${out.text}`);
        assert.equal(out.body.sessions_revoked, 1);
        assert.equal((await call('GET', `${AUTH}/me`, { token: session.access_token })).status, 401);
      }
      // A body that is there but not JSON is still refused as such.
      assertError(
        await call('POST', `${users}/suspend`, { token: admin, body: ' ' }),
        400,
        'BAD_REQUEST',
        'whitespace body',
      );
    });

    test('multi-line text keeps TAB, LF and CR; free JSON keeps any character but NUL; stored as sent', async () => {
      const admin = fx.admin.access_token;
      const description = 'Line one\nLine two\r\n\tindented';
      const org = await call('PATCH', `/api/v1/organizations/${fx.org.id}`, {
        token: admin,
        body: { description },
      });
      assert.equal(org.status, 200, org.text);
      assert.equal(org.body.description, description);
      const row = await store.db
        .selectFrom('organizations')
        .select('description')
        .where('id', '=', fx.org.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.description, description);

      const metadata = {
        note: 'tab\there, bell\u0007, escape \u001b[0m',
        lines: ['a\nb'],
        [`key\twith tab`]: 1,
      };
      const me = await call('PATCH', `${AUTH}/profile`, {
        token: fx.member.access_token,
        body: { user_metadata: metadata },
      });
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(me.body.user_metadata, metadata);
      const user = await store.db
        .selectFrom('users')
        .select('user_metadata')
        .where('id', '=', fx.member.user.id)
        .executeTakeFirstOrThrow();
      const stored = user.user_metadata;
      assert.deepEqual(typeof stored === 'string' ? JSON.parse(stored) : stored, metadata);

      // Last in this suite: maintenance is on for a moment (the admin is let through), then off again.
      const message = 'Upgrading the database.\nBack at 14:00 UTC.';
      const m = await call('POST', '/api/v1/admin/maintenance', {
        token: admin,
        body: { enabled: true, message },
      });
      assert.equal(m.status, 200, m.text);
      assert.equal(m.body.message, message);
      const off = await call('POST', '/api/v1/admin/maintenance', { token: admin, body: { enabled: false } });
      assert.equal(off.status, 200, off.text);
    });
  });
}
