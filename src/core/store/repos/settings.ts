import { json, toDate, toJson } from '../codec.js';
import type { Executor } from '../store.js';

export interface Setting<T> {
  value: T;
  updatedAt: Date;
}

/** Platform-wide settings (key → JSON value), shared by every node through the database. */
export const settings = {
  async get<T>(ex: Executor, key: string): Promise<Setting<T> | undefined> {
    const row = await ex
      .selectFrom('settings')
      .select(['value', 'updated_at'])
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { value: toJson<T>(row.value), updatedAt: toDate(row.updated_at) };
  },

  async put(ex: Executor, key: string, value: unknown, now: Date): Promise<void> {
    await ex
      .insertInto('settings')
      .values({ key, value: json(value), updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: json(value), updated_at: now }))
      .execute();
  },

  /** Stores `value` unless the key exists (first writer wins; the caller reads back the winner). */
  async insertIfAbsent(ex: Executor, key: string, value: unknown, now: Date): Promise<void> {
    await ex
      .insertInto('settings')
      .values({ key, value: json(value), updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  },
};
