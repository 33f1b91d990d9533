/**
 * Webhook subscriptions against the real `janua serve` binary on each dialect: every route with the original
 * SDK's spellings and shapes (trailing slash, PUT, regenerate-secret, bare arrays, X-Total-Count, empty JSON
 * bodies), the secret shown once and masked after, who may do what (org owner/admin vs member vs another org
 * vs platform admin), a bad-input table that changes nothing, verify-signature in both schemes.
 * `janua webhooks` is in ./webhooks-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { newMasterKey } from '../helpers/janua.js';
import { ADMIN_EMAIL, ADMIN_ENV } from './control-chars.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  ISO_RE,
  PASSWORD,
  type Session,
  signUp,
  UUID_RE,
  uniqueEmail,
} from './support.js';

const W = '/api/v1/webhooks';
const CODE: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND_ERROR',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'VALIDATION_ERROR',
};
const ENDPOINT_KEYS = [
  'created_at',
  'description',
  'disabled_at',
  'disabled_reason',
  'events',
  'failing_since',
  'headers',
  'id',
  'is_active',
  'organization_id',
  'previous_secret_expires_at',
  'secret',
  'status',
  'updated_at',
  'url',
];

async function count(store: Store, table: 'webhook_endpoints' | 'webhook_deliveries' | 'audit_events') {
  const r = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Standard Webhooks verification written from the spec (not our signing code). */
function standardSig(secret: string, id: string, ts: string, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
}

for (const dialect of dialects()) {
  describe(`webhooks API (${dialect}, real binary)`, () => {
    let call: Call;
    let store: Store;
    const masterKey = newMasterKey();
    e2eDaemon(dialect, { ...ADMIN_ENV, JANUA_MASTER_KEY: masterKey }, (f) => {
      call = f.call;
      store = f.store;
    });
    let admin: Session;
    let owner: Session;
    let member: Session;
    let outsider: Session;
    let orgId: string;
    let hookId: string;
    let secret: string;

    test('setup: platform admin, an organization with an owner and a member, an outsider', async () => {
      const s = await call('POST', `${AUTH}/signin`, { body: { email: ADMIN_EMAIL, password: PASSWORD } });
      assert.equal(s.status, 200, s.text);
      admin = s.body;
      [owner, member, outsider] = [
        await signUp(call, uniqueEmail('owner')),
        await signUp(call, uniqueEmail('member')),
        await signUp(call, uniqueEmail('outsider')),
      ];
      const org = await call('POST', '/api/v1/organizations', {
        token: owner.access_token,
        body: { name: 'Hooks', slug: `hooks-${Date.now().toString(36)}` },
      });
      assert.equal(org.status, 201, org.text);
      orgId = org.body.id;
      const add = await call('POST', `/api/v1/organizations/${orgId}/members`, {
        token: owner.access_token,
        body: { user_id: member.user.id, role: 'member' },
      });
      assert.equal(add.status, 201, add.text);
    });

    test('POST /webhooks/ (SDK trailing slash): 201, the endpoint object with its secret, once', async () => {
      const res = await call('POST', `${W}/`, {
        token: owner.access_token,
        body: {
          url: 'https://hooks.example.com/janua',
          events: ['user.created', 'user.signed_in', 'organization.*'],
          description: 'CRM',
          headers: { 'X-Api-Key': 'k1' },
          organization_id: orgId,
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ENDPOINT_KEYS);
      assert.match(res.body.id, UUID_RE);
      assert.match(res.body.secret, /^whsec_/);
      assert.match(res.body.created_at, ISO_RE);
      assert.deepEqual(res.body.events, ['user.created', 'session.created', 'organization.*']);
      assert.equal(res.body.is_active, true);
      assert.equal(res.headers['cache-control'], 'no-store');
      hookId = res.body.id;
      secret = res.body.secret;
      const got = await call('GET', `${W}/${hookId}`, { token: owner.access_token });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.body.secret, `whsec_…${secret.slice(-4)}`);
      assert.ok(!got.text.includes(secret.slice(6)), 'never again');
    });

    test('list: {endpoints, total} on both spellings, scoped to the caller', async () => {
      for (const path of [W, `${W}/`]) {
        const res = await call('GET', path, { token: owner.access_token });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(Object.keys(res.body).sort(), ['endpoints', 'page', 'per_page', 'total']);
        assert.deepEqual(
          res.body.endpoints.map((e: { id: string }) => e.id),
          [hookId],
        );
        assert.equal(res.body.total, 1);
        assert.ok(!res.text.includes(secret.slice(6)));
      }
      const mine = await call('GET', `${W}?organization_id=${orgId}`, { token: owner.access_token });
      assert.equal(mine.body.total, 1);
      const inactive = await call('GET', `${W}/?is_active=false`, { token: owner.access_token });
      assert.equal(inactive.body.total, 0, "the SDK's is_active filter");
      for (const who of [member, outsider]) {
        const res = await call('GET', W, { token: who.access_token });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.endpoints, [], 'members and outsiders manage none');
      }
      assertError(
        await call('GET', `${W}?organization_id=${orgId}`, { token: outsider.access_token }),
        404,
        'NOT_FOUND_ERROR',
      );
      assertError(
        await call('GET', `${W}?organization_id=${orgId}`, { token: member.access_token }),
        403,
        'AUTHORIZATION_ERROR',
      );
      assertError(
        await call('GET', `${W}?organization_id=platform`, { token: owner.access_token }),
        403,
        'AUTHORIZATION_ERROR',
      );
      const all = await call('GET', W, { token: admin.access_token });
      assert.ok(all.body.endpoints.some((e: { id: string }) => e.id === hookId));
      assertError(await call('GET', W), 401, 'AUTHENTICATION_ERROR');
    });

    test('who may: another org → 404, a member → 403, platform endpoints are for platform admins', async () => {
      const before = await count(store, 'webhook_endpoints');
      for (const [method, suffix] of [
        ['GET', ''],
        ['PATCH', ''],
        ['DELETE', ''],
        ['POST', '/rotate-secret'],
        ['POST', '/test'],
        ['GET', '/deliveries'],
        ['GET', '/stats'],
      ] as const) {
        const body = method === 'PATCH' ? { description: 'mine now' } : undefined;
        assertError(
          await call(method, `${W}/${hookId}${suffix}`, {
            token: outsider.access_token,
            ...(body ? { body } : {}),
          }),
          404,
          'NOT_FOUND_ERROR',
          `outsider ${method} ${suffix}`,
        );
        assertError(
          await call(method, `${W}/${hookId}${suffix}`, {
            token: member.access_token,
            ...(body ? { body } : {}),
          }),
          403,
          'AUTHORIZATION_ERROR',
          `member ${method} ${suffix}`,
        );
      }
      assertError(
        await call('POST', W, {
          token: owner.access_token,
          body: { url: 'https://p.example.com/', events: ['*'] },
        }),
        403,
        'AUTHORIZATION_ERROR',
      );
      assertError(
        await call('POST', W, {
          token: outsider.access_token,
          body: { url: 'https://p.example.com/', events: ['*'], organization_id: orgId },
        }),
        404,
        'NOT_FOUND_ERROR',
      );
      const p = await call('POST', W, {
        token: admin.access_token,
        body: { url: 'https://platform.example.com/', events: ['*'] },
      });
      assert.equal(p.status, 201, p.text);
      assert.equal(p.body.organization_id, null);
      assertError(
        await call('GET', `${W}/${p.body.id}`, { token: owner.access_token }),
        404,
        'NOT_FOUND_ERROR',
      );
      assert.equal((await call('GET', `${W}/${hookId}`, { token: admin.access_token })).status, 200);
      assert.equal(await count(store, 'webhook_endpoints'), before + 1);
      assert.equal(
        (await call('GET', `${W}/${hookId}`, { token: owner.access_token })).body.description,
        'CRM',
      );
    });

    test('bad input: 422 (or 401/404) in the one error format, nothing changes', async () => {
      const before = [await count(store, 'webhook_endpoints'), await count(store, 'audit_events')];
      const ok = { url: 'https://x.example.com/', events: ['*'], organization_id: orgId };
      const cases: Array<[string, unknown, number]> = [
        ['url a number', { ...ok, url: 42 }, 422],
        ['events a string', { ...ok, events: 'user.created' }, 422],
        ['events empty', { ...ok, events: [] }, 422],
        ['unknown event', { ...ok, events: ['user.teleported'] }, 422],
        ['url too long', { ...ok, url: `https://x.example.com/${'a'.repeat(2100)}` }, 422],
        ['url not http', { ...ok, url: 'javascript:alert(1)' }, 422],
        ['url with credentials', { ...ok, url: 'https://a:b@x.example.com/' }, 422],
        ['loopback', { ...ok, url: 'http://127.0.0.1:8080/hook' }, 422],
        ['localhost', { ...ok, url: 'http://localhost/hook' }, 422],
        ['metadata', { ...ok, url: 'http://169.254.169.254/latest/meta-data' }, 422],
        ['private v6', { ...ok, url: 'http://[fd00::1]/' }, 422],
        ['NUL in url', { ...ok, url: 'https://x.example.com/\u0000' }, 422],
        ['ESC in description', { ...ok, description: 'a\u001b[31mred' }, 422],
        ['description too long', { ...ok, description: 'd'.repeat(501) }, 422],
        ['header a number', { ...ok, headers: { 'X-A': 1 } }, 422],
        ['header CRLF', { ...ok, headers: { 'X-A': 'a\r\nInjected: 1' } }, 422],
        ['reserved header', { ...ok, headers: { 'webhook-signature': 'v1,forged' } }, 422],
        [
          'too many headers',
          { ...ok, headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-${i}`, 'v'])) },
          422,
        ],
        ['org id not a uuid', { ...ok, organization_id: 'acme' }, 422],
        ['unknown org', { ...ok, organization_id: '00000000-0000-4000-8000-000000000000' }, 404],
        ['malformed JSON', '{"url": ', 400],
        ['body over the size limit', { ...ok, description: 'x'.repeat(2_000_000) }, 413],
      ];
      for (const [name, body, status] of cases) {
        const res = await call('POST', W, { token: owner.access_token, body });
        assertError(res, status, CODE[status]!, name);
      }
      assertError(
        await call('GET', `${W}/not-a-uuid`, { token: owner.access_token }),
        422,
        'VALIDATION_ERROR',
      );
      assertError(
        await call('GET', `${W}/00000000-0000-4000-8000-000000000000`, { token: owner.access_token }),
        404,
        'NOT_FOUND_ERROR',
      );
      assertError(
        await call('PATCH', `${W}/${hookId}`, { token: owner.access_token, body: { is_active: 'yes' } }),
        422,
        'VALIDATION_ERROR',
      );
      assertError(
        await call('PATCH', `${W}/${hookId}`, {
          token: owner.access_token,
          body: { url: 'http://10.0.0.1/' },
        }),
        422,
        'VALIDATION_ERROR',
      );
      assert.deepEqual([await count(store, 'webhook_endpoints'), await count(store, 'audit_events')], before);
    });

    test('PATCH and PUT are partial updates; is_active toggles the status', async () => {
      const p = await call('PATCH', `${W}/${hookId}`, {
        token: owner.access_token,
        body: { events: ['user.*'], is_active: false },
      });
      assert.equal(p.status, 200, p.text);
      assert.deepEqual(p.body.events, ['user.*']);
      assert.equal(p.body.is_active, false);
      assert.equal(p.body.disabled_reason, 'manual');
      assert.equal(p.body.url, 'https://hooks.example.com/janua');
      assertError(
        await call('POST', `${W}/${hookId}/test`, { token: owner.access_token }),
        409,
        'CONFLICT_ERROR',
      );
      const put = await call('PUT', `${W}/${hookId}`, {
        token: owner.access_token,
        body: { is_active: true, description: null },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.is_active, true);
      assert.equal(put.body.disabled_reason, null);
      assert.equal(put.body.description, null);
      assert.deepEqual(put.body.events, ['user.*']);
    });

    test('test (empty JSON body): one delivery; deliveries as a bare array with X-Total-Count; one delivery; stats', async () => {
      const t = await call('POST', `${W}/${hookId}/test`, { token: owner.access_token, body: '' });
      assert.equal(t.status, 200, t.text);
      assert.match(t.body.delivery_id, UUID_RE);
      const list = await call('GET', `${W}/${hookId}/deliveries?page=1&per_page=10`, {
        token: owner.access_token,
      });
      assert.equal(list.status, 200, list.text);
      assert.ok(Array.isArray(list.body));
      assert.equal(list.headers['x-total-count'], '1');
      assert.equal(list.body[0].id, t.body.delivery_id);
      assert.equal(list.body[0].event_type, 'webhook.test');
      assert.ok(!('body' in list.body[0]));
      const none = await call('GET', `${W}/${hookId}/deliveries?status=succeeded&limit=5&offset=0`, {
        token: owner.access_token,
      });
      assert.deepEqual(none.body, []);
      assert.equal(none.headers['x-total-count'], '0');
      const filtered = await call(
        'GET',
        `${W}/${hookId}/deliveries?event_type=webhook.test&since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
        { token: owner.access_token },
      );
      assert.equal(filtered.body.length, 1);
      assertError(
        await call('GET', `${W}/${hookId}/deliveries?status=lost`, { token: owner.access_token }),
        422,
        'VALIDATION_ERROR',
      );
      const one = await call('GET', `${W}/deliveries/${t.body.delivery_id}`, { token: owner.access_token });
      assert.equal(one.status, 200, one.text);
      assert.equal(JSON.parse(one.body.body).type, 'webhook.test');
      assert.equal(JSON.parse(one.body.body).id, t.body.event_id);
      assertError(
        await call('GET', `${W}/deliveries/${t.body.delivery_id}`, { token: outsider.access_token }),
        404,
        'NOT_FOUND_ERROR',
      );
      const stats = await call('GET', `${W}/${hookId}/stats?days=7`, { token: owner.access_token });
      assert.equal(stats.status, 200, stats.text);
      assert.equal(stats.body.total, 1);
      assert.equal(stats.body.total_deliveries, 1, 'the SDK name');
      assert.equal(stats.body.period_days, 7);
    });

    test('rotate-secret and regenerate-secret (empty JSON body): a new secret each, shown once', async () => {
      let last = secret;
      for (const path of ['rotate-secret', 'regenerate-secret']) {
        const r = await call('POST', `${W}/${hookId}/${path}`, { token: owner.access_token, body: '' });
        assert.equal(r.status, 200, r.text);
        assert.match(r.body.secret, /^whsec_/);
        assert.notEqual(r.body.secret, last);
        assert.match(r.body.previous_secret_expires_at, ISO_RE);
        last = r.body.secret;
      }
      const got = await call('GET', `${W}/${hookId}`, { token: owner.access_token });
      assert.equal(got.body.secret, `whsec_…${last.slice(-4)}`);
      secret = last;
    });

    test('events catalogue and types; static paths are not taken for ids', async () => {
      const cat = await call('GET', `${W}/events`, { token: member.access_token });
      assert.equal(cat.status, 200, cat.text);
      const types = cat.body.events.map((e: { type: string }) => e.type);
      for (const t of [
        'user.created',
        'session.created',
        'organization.member.added',
        'webhook.test',
        'webhook.endpoint.disabled',
      ])
        assert.ok(types.includes(t), t);
      for (const e of cat.body.events) assert.ok(e.description.length > 0);
      const bare = await call('GET', `${W}/events/types`, { token: member.access_token });
      assert.deepEqual(bare.body, types);
    });

    test('verify-signature: both schemes, by secret or by webhook_id; true and false', async () => {
      const payload = '{"id":"e1","type":"user.created"}';
      const hex = createHmac('sha256', secret).update(payload).digest('hex');
      const v = (body: object, token = owner.access_token) =>
        call('POST', `${W}/verify-signature`, { token, body });
      assert.equal((await v({ payload, signature: hex, secret })).body.valid, true);
      assert.equal((await v({ payload: `${payload} `, signature: hex, secret })).body.valid, false);
      assert.equal((await v({ payload, signature: hex, webhook_id: hookId })).body.valid, true);
      const ts = String(Math.floor(Date.now() / 1000));
      const std = standardSig(secret, 'msg_1', ts, payload);
      const s = await v({
        payload,
        signature: `v1,bogus ${std}`,
        secret,
        message_id: 'msg_1',
        timestamp: ts,
      });
      assert.deepEqual(s.body, { valid: true, scheme: 'standard' });
      assert.equal(
        (await v({ payload, signature: std, secret, message_id: 'msg_2', timestamp: ts })).body.valid,
        false,
      );
      assertError(
        await v({ payload, signature: hex, webhook_id: hookId }, outsider.access_token),
        404,
        'NOT_FOUND_ERROR',
      );
      assertError(await v({ payload, signature: hex }), 422, 'VALIDATION_ERROR');
    });

    test('DELETE removes the endpoint', async () => {
      const d = await call('DELETE', `${W}/${hookId}`, { token: owner.access_token });
      assert.equal(d.status, 200, d.text);
      assertError(await call('GET', `${W}/${hookId}`, { token: owner.access_token }), 404, 'NOT_FOUND_ERROR');
    });
  });
}
