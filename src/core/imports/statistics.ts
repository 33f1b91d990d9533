/**
 * When the importers refresh the database's planner statistics (see importedUsers.analyze): after the first
 * 5,000 rows an import writes through a store, then each time the count doubles — about ten times for a million
 * users, each a bounded sample.
 */
import { importedUsers } from '../store/repos/imported-users.js';
import type { Store } from '../store/store.js';

const FIRST_ANALYZE = 5_000;
const written = new WeakMap<Store, { rows: number; next: number }>();

/** Counts `rows` written through `store` and analyzes when a threshold is crossed. Never throws. */
export async function noteWritten(store: Store, rows: number): Promise<void> {
  if (rows === 0 || store.dialect !== 'postgres') return;
  const w = written.get(store) ?? { rows: 0, next: FIRST_ANALYZE };
  w.rows += rows;
  written.set(store, w);
  if (w.rows < w.next) return;
  w.next = w.rows * 2;
  // Statistics only steer plans: an import must not fail for want of them.
  await importedUsers.analyze(store.db, store.dialect).catch(() => {});
}
