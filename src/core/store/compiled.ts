import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './store.js';

/**
 * A query built and compiled once per dialect, then run with new values: for statements on hot paths
 * (every refresh, every authenticated request), where building the Kysely tree and compiling it again each
 * time cost more than running it. `build` is called once with placeholder values, and the placeholders are
 * found among the compiled parameters; every other parameter (a literal such as `'active'`) is kept as it
 * is. A value the builder turns into SQL text instead of a parameter cannot be a placeholder: that throws
 * on first use.
 */
export function compiledOnce<A extends unknown[], R>(
  arity: A['length'],
  build: (ex: Executor, ...args: A) => Compilable<R>,
): (ex: Executor, ...args: A) => CompiledQuery<R> {
  const byAdapter = new WeakMap<object, { sql: CompiledQuery<R>; slots: Array<number | undefined> }>();
  return (ex, ...args) => {
    const adapter = ex.getExecutor().adapter;
    let t = byAdapter.get(adapter);
    if (!t) {
      const placeholders = Array.from({ length: arity }, (_, i) => `\u0000janua-placeholder-${i}\u0000`);
      const sql = build(ex, ...(placeholders as unknown as A)).compile();
      const slots = sql.parameters.map((p) => {
        const i = placeholders.indexOf(p as string);
        return i >= 0 ? i : undefined;
      });
      for (let i = 0; i < arity; i++)
        if (!slots.includes(i)) throw new Error(`compiledOnce: argument ${i} is not a query parameter`);
      t = { sql, slots };
      byAdapter.set(adapter, t);
    }
    const { sql, slots } = t;
    return {
      ...sql,
      parameters: sql.parameters.map((p, i) => {
        const slot = slots[i];
        return slot === undefined ? p : args[slot];
      }),
    };
  };
}

/**
 * compiledOnce for a query over a list — an IN list, a multi-row insert — whose SQL text depends on the
 * list's length: one template per length, made on first use of that length. Each element of `rows` is a
 * tuple of `width` values (one value for an IN list, one per column for a row); `extra` more arguments follow.
 */
export function compiledPerLength<A extends unknown[], R>(
  width: number,
  extra: A['length'],
  build: (ex: Executor, rows: unknown[][], ...args: A) => Compilable<R>,
): (ex: Executor, rows: unknown[][], ...args: A) => CompiledQuery<R> {
  const byLength = new Map<number, (ex: Executor, ...flat: unknown[]) => CompiledQuery<R>>();
  return (ex, rows, ...args) => {
    const n = rows.length;
    let query = byLength.get(n);
    if (!query) {
      query = compiledOnce(n * width + extra, (ex2, ...flat: unknown[]) => {
        const tuples = Array.from({ length: n }, (_, i) => flat.slice(i * width, (i + 1) * width));
        return build(ex2, tuples, ...(flat.slice(n * width) as A));
      });
      byLength.set(n, query);
    }
    return query(ex, ...rows.flat(), ...args);
  };
}

/**
 * An IN list padded to the next power of two by repeating its last value (which changes nothing an IN
 * matches), so a query over lists of 1 to 64 values needs 7 templates and 7 prepared statements, not 64.
 */
export function padded<T>(values: T[]): T[] {
  if (values.length === 0) return values;
  let size = 1;
  while (size < values.length) size *= 2;
  const out = values.slice();
  while (out.length < size) out.push(values[values.length - 1]!);
  return out;
}

/** The row type of a compiled query factory's result. */
// biome-ignore lint/suspicious/noExplicitAny: matches any factory signature.
export type RowOf<F> = F extends (...args: any[]) => CompiledQuery<infer R> ? R : never;
