/**
 * Case-insensitive prefix match that an index serves, per dialect — the one place this differs:
 * Postgres: `expr LIKE 'term%'` over a text_pattern_ops index (LIKE's wildcards escaped);
 * SQLite: the range `term <= expr < term || U+10FFFF` over a BINARY-collated index (SQLite's LIKE is
 * case-insensitive and skips ordinary indexes).
 * `expr` must already be lower-cased (emails are stored lower-case; names are matched as lower(name)).
 */
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Dialect } from './migrations/types.js';

export function prefixMatch<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  dialect: Dialect,
  expr: Expression<unknown>,
  term: string,
): Expression<SqlBool> {
  const t = term.toLowerCase();
  if (dialect === 'postgres') {
    const pattern = `${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return sql<SqlBool>`${expr} like ${pattern}`;
  }
  return eb.and([sql<SqlBool>`${expr} >= ${t}`, sql<SqlBool>`${expr} < ${`${t}\u{10FFFF}`}`]);
}
