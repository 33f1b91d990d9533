/**
 * The text rules (src/core/text.ts), their JSON Schema patterns, the store's NUL check of JSON text, and the
 * daemon plugin that applies them to every route (src/daemon/plugins/text-rules.ts) with the empty-JSON-body
 * parser (src/daemon/json-body.ts) — on a bare Fastify app with routes the plugin has never seen, and on the
 * real app's OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isJanuaError } from '../../src/core/errors.js';
import { refuseNulInJson } from '../../src/core/store/nul-guard.js';
import { breaksTextRule, nulPath, printable, TEXT_PATTERNS } from '../../src/core/text.js';
import { registerErrorHandling } from '../../src/daemon/errors.js';
import { acceptEmptyJsonBody } from '../../src/daemon/json-body.js';
import { textRules, withTextRules } from '../../src/daemon/plugins/text-rules.js';
import { MultilineText } from '../../src/daemon/schemas.js';
import { testApp } from '../helpers/app.js';

const chr = (n: number) => String.fromCodePoint(n);
const isCc = (n: number) => n <= 0x1f || (n >= 0x7f && n <= 0x9f);

describe('text rules', () => {
  it('single-line text refuses every control character (Cc); multi-line keeps TAB, LF and CR only', () => {
    for (let n = 0; n <= 0x2ff; n++) {
      const s = `a${chr(n)}b`;
      assert.equal(breaksTextRule(s, 'single-line'), isCc(n), `U+${n.toString(16)} single-line`);
      assert.equal(
        breaksTextRule(s, 'multi-line'),
        isCc(n) && ![9, 10, 13].includes(n),
        `U+${n.toString(16)}`,
      );
    }
    for (const s of ['Zoë Ångström', '中文', '🔑 key', 'a\u00a0b', 'x\u200dy', ''])
      assert.equal(breaksTextRule(s, 'single-line'), false, s);
  });

  it('the JSON Schema patterns accept exactly what the rules accept (as Ajv runs them, with the u flag)', () => {
    for (const kind of ['single-line', 'multi-line'] as const) {
      const re = new RegExp(TEXT_PATTERNS[kind], 'u');
      for (let n = 0; n <= 0x2ff; n++) {
        const s = `a${chr(n)}b`;
        assert.equal(re.test(s), !breaksTextRule(s, kind), `${kind} U+${n.toString(16)}`);
      }
      assert.equal(re.test('🔑\n'), kind === 'multi-line');
    }
  });

  it('nulPath finds a NUL in a string or a key at any depth and names the way there', () => {
    assert.equal(nulPath('a\u0000'), '');
    assert.equal(nulPath({ a: 'x', b: ['ok', { c: 'y\u0000' }] }), 'b.1.c');
    assert.equal(nulPath({ a: { 'k\u0000': 1 } }), 'a.k\\u0000');
    assert.equal(nulPath({ a: 'tab\t, esc \u001b, bell \u0007', n: 1, t: true, z: null }), undefined);
    assert.equal(nulPath([]), undefined);
    assert.equal(printable('a\u0000b\u001b'), 'a\\u0000b\\u001b');
  });

  it('nulPath walks a deeply nested value without a call stack (a 1 MB body can nest 250,000 deep)', () => {
    const depth = 250_000;
    const deep = JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`);
    const path = nulPath(deep);
    assert.equal(path?.split('.').length, depth);
    assert.equal(nulPath(JSON.parse(`${'['.repeat(depth)}"x"${']'.repeat(depth)}`)), undefined);
  });

  it('refuseNulInJson refuses the \\u0000 escape in JSON text, not an escaped backslash before "u0000"', () => {
    const refused = (v: unknown) =>
      assert.throws(
        () => refuseNulInJson(JSON.stringify(v)),
        (e: unknown) => isJanuaError(e) && e.code === 'VALIDATION_ERROR',
        JSON.stringify(v),
      );
    refused({ a: 'x\u0000' });
    refused({ 'k\u0000': 1 });
    refused(['\\\u0000']);
    refused('\u0000');
    for (const ok of [{ a: '\\u0000' }, { a: '\\\\u0000' }, { a: 'u0000' }, { a: '\u0001\t' }])
      refuseNulInJson(JSON.stringify(ok));
  });
});

describe('withTextRules', () => {
  const single = TEXT_PATTERNS['single-line'];
  const multi = TEXT_PATTERNS['multi-line'];
  const schema = Type.Object({
    name: Type.String({ maxLength: 10 }),
    nick: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    username: Type.String({ pattern: '^[a-z]+$' }),
    about: MultilineText({ maxLength: 100 }),
    id: Type.String({ format: 'uuid' }),
    since: Type.String({ format: 'date-time' }),
    status: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    tags: Type.Array(Type.String()),
    meta: Type.Record(Type.String(), Type.Unknown()),
    nested: Type.Object({ deep: Type.String() }),
  });

  it('puts the single-line rule on every string but UUIDs, literals and multi-line text, without changing the input', () => {
    const before = JSON.stringify(schema);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON Schema, read key by key.
    const s = withTextRules(schema) as any;
    assert.equal(JSON.stringify(schema), before, 'the input is not changed');
    const p = s.properties;
    assert.equal(p.name.pattern, single);
    assert.equal(p.name.maxLength, 10);
    assert.equal(p.nick.anyOf[0].pattern, single);
    assert.equal(p.username.pattern, '^[a-z]+$', 'its own pattern stays');
    assert.deepEqual(p.username.allOf, [{ pattern: single }], 'and the rule is added beside it');
    assert.equal(p.about.pattern, multi);
    assert.equal(p.about.allOf, undefined);
    assert.equal(p.id.pattern, undefined);
    assert.equal(p.since.pattern, single, 'date-time: ajv-formats takes any whitespace as the separator');
    for (const b of p.status.anyOf ?? [p.status]) assert.equal(b.pattern, undefined);
    assert.equal(p.tags.items.pattern, single);
    assert.equal(p.nested.properties.deep.pattern, single);
    assert.equal(JSON.stringify(p.meta).includes(single), false, 'free JSON has no schema to carry it');
    assert.equal(withTextRules(schema), s, 'a schema shared by several routes is copied once');
  });
});

describe('text rules plugin and empty JSON bodies on a bare app', () => {
  let app: FastifyInstance;
  before(async () => {
    app = Fastify();
    registerErrorHandling(app);
    acceptEmptyJsonBody(app);
    await app.register(textRules);
    // Routes the plugin knows nothing about: no schema at all, and a schema in an encapsulated plugin.
    app.post('/raw/:p', async (request) => ({ body: request.body ?? null, query: request.query }));
    await app.register(async (child) => {
      child.post(
        '/typed',
        { schema: { body: Type.Object({ a: Type.String(), b: Type.Optional(Type.String()) }) } },
        async (request) => request.body,
      );
    });
    await app.ready();
  });
  after(() => app.close());

  const post = (url: string, payload?: string) =>
    app.inject({
      method: 'POST',
      url,
      ...(payload === undefined ? {} : { payload, headers: { 'content-type': 'application/json' } }),
    });

  it('refuses control characters in path and query parameters of a route without schemas', async () => {
    for (const url of ['/raw/a%00b', '/raw/a%0Ab', '/raw/x?q=%1B', '/raw/x?q=ok&q=%00', '/raw/x?k%01=1']) {
      const res = await post(url);
      assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
      assert.equal(res.json().error_code, 'VALIDATION_ERROR');
      assert.match(
        res.json().detail,
        /^Invalid (params|querystring): .+ must not contain control characters/,
      );
    }
    assert.equal((await post('/raw/a%20b?q=caf%C3%A9')).statusCode, 200);
  });

  it('refuses a NUL anywhere in a body without a schema, and lets other characters through there', async () => {
    for (const [payload, field] of [
      ['"a\\u0000"', 'body'],
      ['{"a":{"b":["x","\\u0000"]}}', 'a.b.1'],
      ['{"a\\u0000":1}', 'a\\u0000'],
    ] as const) {
      const res = await post('/raw/x', payload);
      assert.equal(res.statusCode, 422, payload);
      assert.equal(res.json().detail, `Invalid body: ${field} must not contain the NUL character (U+0000)`);
    }
    const free = await post('/raw/x', '{"a":"tab\\t esc \\u001b"}');
    assert.equal(free.statusCode, 200);
    assert.deepEqual(free.json().body, { a: 'tab\t esc \u001b' });
  });

  it('applies the single-line rule to a schema registered after it, in an encapsulated plugin', async () => {
    const res = await post('/typed', '{"a":"x\\u0007"}');
    assert.equal(res.statusCode, 422);
    assert.equal(
      res.json().detail,
      'Invalid body: a must not contain control characters (U+0000–U+001F, U+007F–U+009F)',
    );
    assert.equal((await post('/typed', '{"a":"ok"}')).statusCode, 200);
  });

  it('takes an empty JSON body as no body; a route that needs one answers 422 as for no body', async () => {
    const raw = await post('/raw/x', '');
    assert.equal(raw.statusCode, 200, raw.body);
    assert.equal(raw.json().body, null);
    const typed = await post('/typed', '');
    assert.equal(typed.statusCode, 422);
    // (The daemon's body validator is verbose, so there the detail also names the fields: the e2e suites.)
    assert.equal(typed.json().detail, 'Invalid body: must be object');
    assert.deepEqual((await post('/typed')).json(), typed.json(), 'the same answer as no body at all');
    // Prototype poisoning is still refused by Fastify's own parser behind ours.
    assert.equal((await post('/raw/x', '{"__proto__":{"x":1}}')).statusCode, 400);
    assert.equal((await post('/raw/x', '{bad')).statusCode, 400);
  });
});

interface Operation {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  parameters?: Array<{ name: string; schema?: unknown }>;
}

describe('the real app: every request string in /openapi.json carries a text rule', () => {
  it('body, path and query strings of every operation', async () => {
    const t = await testApp('sqlite');
    try {
      const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, Operation>>;
      };
      const rules = new Set(Object.values(TEXT_PATTERNS));
      let strings = 0;
      // biome-ignore lint/suspicious/noExplicitAny: JSON Schemas out of the OpenAPI document.
      const check = (s: any, where: string) => {
        if (!s || typeof s !== 'object') return;
        for (const b of s.anyOf ?? []) check(b, where);
        for (const [k, v] of Object.entries(s.properties ?? {})) check(v, `${where}.${k}`);
        if (s.items) check(s.items, `${where}[]`);
        if (s.type !== 'string' || s.const !== undefined || s.enum || s.format === 'uuid') return;
        strings++;
        const patterns = [s.pattern, ...(s.allOf ?? []).map((a: { pattern?: string }) => a.pattern)];
        assert.ok(
          patterns.some((p) => rules.has(p)),
          `${where} carries a text rule: ${JSON.stringify(s)}`,
        );
      };
      for (const [path, ops] of Object.entries(doc.paths))
        for (const [method, op] of Object.entries(ops)) {
          const where = `${method.toUpperCase()} ${path}`;
          check(op.requestBody?.content?.['application/json']?.schema, `${where} body`);
          for (const p of op.parameters ?? []) check(p.schema, `${where} ${p.name}`);
        }
      assert.ok(strings > 50, `${strings} request strings`);
    } finally {
      await t.close();
    }
  });
});
