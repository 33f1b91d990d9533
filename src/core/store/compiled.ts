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
