/**
 * Every user id in id order, a keyset page at a time: a bulk export walks an installation of any size without
 * holding all ids in memory, and users created while it runs are picked up if their id sorts later.
 */
import type { Deps } from '../deps.js';

export const USER_PAGE_SIZE = 200;

export async function* userIdsInOrder(
  deps: Pick<Deps, 'store'>,
  pageSize = USER_PAGE_SIZE,
): AsyncGenerator<string> {
  let last: string | undefined;
  for (;;) {
    let q = deps.store.db.selectFrom('users').select('id').orderBy('id').limit(pageSize);
    if (last !== undefined) q = q.where('id', '>', last);
    const page = await q.execute();
    for (const r of page) yield r.id;
    if (page.length < pageSize) return;
    last = page[page.length - 1]!.id;
  }
}

/** How many users there are (the denominator of a progress display). */
export async function countUsers(deps: Pick<Deps, 'store'>): Promise<number> {
  const r = await deps.store.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
