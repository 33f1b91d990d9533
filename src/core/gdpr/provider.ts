/**
 * The contract every module that stores personal data fulfils (issue 15): export what it holds about a user,
 * erase it. A provider names the columns it answers for (`table.column`); test/unit/gdpr-registry.test.ts
 * fails when a column that names a user, or carries an email, an IP or a name, is answered for by no provider,
 * so a new table cannot slip past export and erasure.
 */
import type { Deps } from '../deps.js';
import type { Executor } from '../store/store.js';
import type { DataSubject } from './subject.js';

export type ProviderDeps = Pick<Deps, 'store' | 'clock' | 'peppers' | 'config'>;

export interface PersonalDataProvider {
  /** The file name in an export archive (`<name>.json`) and the key of a deletion receipt's steps. */
  readonly name: string;
  readonly description: string;
  /** The `table.column`s this provider exports and erases. */
  readonly covers: readonly string[];
  /** Everything it holds about the subject, as JSON; metadata only, never a secret or a hash of one. */
  export(ex: Executor, subject: DataSubject, deps: ProviderDeps): Promise<unknown>;
  /**
   * Removes or irreversibly anonymizes it, inside the erasure's transaction; returns the rows changed.
   * Running it again finds nothing left to change (erasure is idempotent).
   */
  erase(tx: Executor, subject: DataSubject, deps: ProviderDeps, now: Date): Promise<number>;
}
