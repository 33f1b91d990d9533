/**
 * Control characters in requests (the rules are in core/text.ts): refused with 422 VALIDATION_ERROR before
 * any handler or database work, the same on SQLite and Postgres (Postgres cannot store NUL at all).
 *
 * Two parts, both registered once on the root instance so that they apply to every route, present and future,
 * without a route having to opt in — a rule that each route must remember is a rule some route forgets:
 *
 * 1. `onRoute`: every string in a route's body, querystring and params schema gets its kind's rule as a JSON
 *    Schema `pattern`, so Ajv enforces it at validation (naming the field) and the OpenAPI document states it.
 *    Strings are single-line unless their schema already says multi-line (`MultilineText` in ../schemas.ts).
 *    A string with a pattern of its own keeps it and gets the rule beside it in `allOf`; fixed values
 *    (`const`/`enum`) and UUIDs (their format admits no control character) need none.
 * 2. `preValidation` (the safety net, independent of schemas): NUL anywhere in a body — nested objects and
 *    arrays, object keys too, and the free JSON objects (`user_metadata`, `metadata`) no schema looks into —
 *    and any control character in a path or query parameter (always single-line), also on routes that
 *    declare no schema for them.
 *
 * Register this plugin before any route: `onRoute` only sees routes added after it.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { JanuaError } from '../../core/errors.js';
import { breaksTextRule, nulPath, printable, TEXT_PATTERNS, textRuleError } from '../../core/text.js';

type Schema = Record<string, unknown>;

const OUR_PATTERNS = new Set(Object.values(TEXT_PATTERNS));
/** Formats whose own check leaves no room for a control character. Not date-time: ajv-formats takes any
 * whitespace, TAB and LF included, between the date and the time. */
const STRICT_FORMATS = new Set(['uuid']);
/** Keywords holding one subschema whose strings are request values. `not`, `if` and `contains` are left
 * alone: a pattern added there would change what they mean. */
const ONE = ['items', 'additionalProperties', 'propertyNames', 'then', 'else', 'additionalItems'];
const LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function isString(s: Schema): boolean {
  return s['type'] === 'string' || (Array.isArray(s['type']) && s['type'].includes('string'));
}

const done = new WeakMap<object, unknown>();

/** A copy of `schema` in which every string carries its text rule (the input is never changed). */
export function withTextRules(schema: unknown): unknown {
  if (!isObject(schema) && !Array.isArray(schema)) return schema;
  const cached = done.get(schema);
  if (cached) return cached;
  let out: unknown;
  if (Array.isArray(schema)) out = schema.map(withTextRules);
  else {
    const s: Schema = { ...schema };
    for (const k of ONE) if (k in s) s[k] = withTextRules(s[k]);
    for (const k of LISTS) if (Array.isArray(s[k])) s[k] = (s[k] as unknown[]).map(withTextRules);
    for (const k of MAPS)
      if (isObject(s[k]))
        s[k] = Object.fromEntries(Object.entries(s[k] as Schema).map(([n, v]) => [n, withTextRules(v)]));
    if (isString(s) && !('const' in s) && !('enum' in s) && !STRICT_FORMATS.has(String(s['format']))) {
      const own = s['pattern'];
      if (own === undefined) s['pattern'] = TEXT_PATTERNS['single-line'];
      else if (!OUR_PATTERNS.has(String(own)))
        s['allOf'] = [...((s['allOf'] as unknown[]) ?? []), { pattern: TEXT_PATTERNS['single-line'] }];
    }
    out = s;
  }
  done.set(schema, out);
  return out;
}

/** The first path or query parameter (name or value) holding a control character. */
function badParameter(part: 'params' | 'querystring', values: unknown): JanuaError | undefined {
  if (!isObject(values)) return undefined;
  for (const [name, value] of Object.entries(values)) {
    if (breaksTextRule(name, 'single-line')) return textRuleError(printable(name), 'single-line', part);
    for (const v of Array.isArray(value) ? value : [value])
      if (typeof v === 'string' && breaksTextRule(v, 'single-line'))
        return textRuleError(name, 'single-line', part);
  }
  return undefined;
}

/** The first NUL in a parsed body, as an error naming where it is. */
function nulInBody(body: unknown): JanuaError | undefined {
  const path = nulPath(body);
  return path === undefined ? undefined : textRuleError(path || 'body', 'nul', 'body');
}

export function badText(request: FastifyRequest): JanuaError | undefined {
  return (
    badParameter('params', request.params) ??
    badParameter('querystring', request.query) ??
    (request.body === undefined ? undefined : nulInBody(request.body))
  );
}

export const textRules = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRoute', (route: RouteOptions) => {
      const schema = route.schema;
      if (!schema) return;
      route.schema = {
        ...schema,
        ...(schema.body === undefined ? {} : { body: withTextRules(schema.body) }),
        ...(schema.querystring === undefined ? {} : { querystring: withTextRules(schema.querystring) }),
        ...(schema.params === undefined ? {} : { params: withTextRules(schema.params) }),
      };
    });
    app.addHook('preValidation', (request, _reply, next) => {
      const err = badText(request);
      if (err) next(err);
      else next();
    });
  },
  { name: 'janua-text-rules' },
);
