/**
 * Finding and scrubbing a subject in free text: JSON payloads, metadata, message bodies. Candidate rows are
 * found in SQL (the column's text contains one of the subject's strings, case-insensitive), then each is
 * scrubbed token by token in JS (../subject.ts `matcher`) and written back only where it changed.
 */

import { json, toJson } from '../../store/codec.js';
import type { Database } from '../../store/schema.js';
import type { Executor } from '../../store/store.js';
import { type DataSubject, matcher, needles, scrubJson, scrubText, textContains } from '../subject.js';

export type TextTable = keyof Database;

/** The rows of `table` (id, `columns`, `alsoSelect`) where one of `columns` mentions one of `words`. */
export async function rowsMentioning(
  ex: Executor,
  table: TextTable,
  idColumn: string,
  columns: readonly string[],
  words: readonly string[],
  alsoSelect: readonly string[] = [],
): Promise<Array<Record<string, unknown>>> {
  if (!words.length) return [];
  // biome-ignore lint/suspicious/noExplicitAny: the table and columns are chosen by the caller from the schema.
  const q = (ex as any)
    .selectFrom(table)
    .select([idColumn, ...columns, ...alsoSelect])
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    .where((eb: any) => eb.or(columns.flatMap((c) => words.map((w) => textContains(c, w)))));
  return q.execute();
}

/**
 * Scrubs the subject from `columns` of every row of `table` that mentions them; `kinds` says which columns
 * hold JSON. Returns the rows changed.
 */
export async function scrubRows(
  tx: Executor,
  table: TextTable,
  idColumn: string,
  columns: Record<string, 'json' | 'text'>,
  s: DataSubject,
): Promise<number> {
  const words = needles(s);
  const re = matcher(words);
  const rows = await rowsMentioning(tx, table, idColumn, Object.keys(columns), words);
  let n = 0;
  for (const row of rows) {
    const set: Record<string, string> = {};
    for (const [col, kind] of Object.entries(columns)) {
      const v = row[col];
      if (v === null || v === undefined) continue;
      if (kind === 'json') {
        const before = json(toJson(v));
        const after = json(scrubJson(toJson(v), re));
        if (after !== before) set[col] = after;
      } else {
        const after = scrubText(String(v), re);
        if (after !== v) set[col] = after;
      }
    }
    if (!Object.keys(set).length) continue;
    // biome-ignore lint/suspicious/noExplicitAny: see rowsMentioning.
    await (tx as any).updateTable(table).set(set).where(idColumn, '=', row[idColumn]).execute();
    n++;
  }
  return n;
}
