import type { SelectQueryBuilder } from 'kysely';
import type { Database } from '../schema.js';
import type { Executor } from '../store.js';

/** A select over `T` that has picked nothing yet (Kysely's own starting shape). */
type From<T extends keyof Database> = SelectQueryBuilder<Database, T, Record<never, never>>;

/**
 * One bounded delete: the rows of `table` whose `key` the `pick` query selects (it adds the filter, order and
 * LIMIT). `DELETE … WHERE key IN (SELECT key … LIMIT n)` is the form both dialects accept for a limited delete
 * (neither Postgres nor a default SQLite build has DELETE … LIMIT). Returns how many rows went.
 */
export async function deletePicked<T extends keyof Database & string>(
  ex: Executor,
  table: T,
  key: keyof Database[T] & string,
  // biome-ignore lint/suspicious/noExplicitAny: the picked column's type is whatever `key` is in `table`.
  pick: (q: From<T>) => SelectQueryBuilder<Database, T, any>,
): Promise<number> {
  // Kysely cannot type a delete over a table chosen by a type parameter; the column and table are checked above.
  const from = ex.selectFrom(table as 'jobs') as unknown as From<T>;
  const keys = pick(from.select(key as never) as unknown as From<T>);
  const res = await ex
    .deleteFrom(table as 'jobs')
    .where(key as 'id', 'in', keys as never)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
