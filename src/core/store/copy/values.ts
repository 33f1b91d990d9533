/**
 * Column kinds and values for `janua db copy`. A column's kind comes from the types the schema declares
 * (see columnTypes in ../migrations/types.ts): Postgres names them exactly (timestamptz, boolean, jsonb, uuid),
 * while SQLite declares only a storage family (an instant and a flag are both `integer`), so when one side is
 * Postgres its declaration decides and the SQLite side must declare the matching family.
 *
 * Values cross in one canonical form, decoded with the dialect codec (../codec.ts): instants as epoch ms,
 * flags as booleans, JSON as its text (read as text on Postgres too, so a big number is never rounded through
 * a JS number), ids in lower case. The same form feeds the checksums, so equal data checksums equally on
 * both dialects.
 */
import { createHash } from 'node:crypto';
import { JanuaError } from '../../errors.js';
import { toBool, toDate, toNumber } from '../codec.js';
import type { ColumnInfo, TableInfo } from '../introspect.js';
import type { Dialect } from '../migrations/types.js';

export type Kind = 'ts' | 'bool' | 'json' | 'uuid' | 'int' | 'float' | 'text' | 'bytes';

const POSTGRES_KINDS: Record<string, Kind> = {
  'timestamp with time zone': 'ts',
  boolean: 'bool',
  jsonb: 'json',
  json: 'json',
  uuid: 'uuid',
  smallint: 'int',
  integer: 'int',
  bigint: 'int',
  real: 'float',
  'double precision': 'float',
  text: 'text',
  'character varying': 'text',
  character: 'text',
  bytea: 'bytes',
};

type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

/** SQLite's column affinity from a declared type (https://sqlite.org/datatype3.html §3.1, rules in order). */
function affinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t === '' || t.includes('BLOB')) return 'blob';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  return 'numeric';
}

/** The SQLite family each kind is stored in (what columnTypes('sqlite') declares for it). */
const SQLITE_FAMILY: Record<Kind, Affinity> = {
  ts: 'integer',
  bool: 'integer',
  json: 'text',
  uuid: 'text',
  int: 'integer',
  float: 'real',
  text: 'text',
  bytes: 'blob',
};

const SQLITE_KINDS: Partial<Record<Affinity, Kind>> = {
  integer: 'int',
  text: 'text',
  blob: 'bytes',
  real: 'float',
};

export interface Side {
  dialect: Dialect;
  column: ColumnInfo;
}

function unknownType(table: string, side: Side): JanuaError {
  return new JanuaError(
    'CONFLICT_ERROR',
    `column ${table}.${side.column.name} has the ${side.dialect} type "${side.column.declared}", which db copy does not know how to carry`,
  );
}

/** The kind of one column, from its declarations on both sides; refuses declarations that do not match. */
export function columnKind(table: string, source: Side, target: Side): Kind {
  const pg = [source, target].filter((s) => s.dialect === 'postgres');
  const lite = [source, target].filter((s) => s.dialect === 'sqlite');
  let kind: Kind | undefined;
  for (const s of pg) {
    const k = POSTGRES_KINDS[s.column.declared];
    if (!k) throw unknownType(table, s);
    if (kind && k !== kind) throw mismatch(table, source, target);
    kind = k;
  }
  for (const s of lite) {
    const family = affinity(s.column.declared);
    if (kind) {
      if (SQLITE_FAMILY[kind] !== family) throw mismatch(table, source, target);
    } else {
      const k = SQLITE_KINDS[family];
      if (!k) throw unknownType(table, s);
      kind = k;
    }
  }
  return kind!;
}

function mismatch(table: string, source: Side, target: Side): JanuaError {
  return new JanuaError(
    'CONFLICT_ERROR',
    `column ${table}.${source.column.name} is "${source.column.declared}" on the source but "${target.column.declared}" on the target`,
  );
}

export interface KindedColumn {
  name: string;
  kind: Kind;
}

/** Source and target declare the same columns (by name); each gets its kind. */
export function pairColumns(
  source: { dialect: Dialect; table: TableInfo },
  target: { dialect: Dialect; table: TableInfo },
): KindedColumn[] {
  const name = source.table.name;
  const theirs = new Map(target.table.columns.map((c) => [c.name, c]));
  const missing = source.table.columns.filter((c) => !theirs.has(c.name)).map((c) => c.name);
  const extra = target.table.columns
    .filter((c) => !source.table.columns.some((s) => s.name === c.name))
    .map((c) => c.name);
  if (missing.length || extra.length)
    throw new JanuaError(
      'CONFLICT_ERROR',
      `table ${name} has different columns on the source and the target (${[
        ...missing.map((c) => `only on the source: ${c}`),
        ...extra.map((c) => `only on the target: ${c}`),
      ].join('; ')})`,
    );
  return source.table.columns.map((c) => ({
    name: c.name,
    kind: columnKind(
      name,
      { dialect: source.dialect, column: c },
      { dialect: target.dialect, column: theirs.get(c.name)! },
    ),
  }));
}

export type Canonical = number | boolean | string | Buffer | null;

/** A value as the driver hands it back → the canonical form (the out-direction of the codec). */
export function decode(raw: unknown, kind: Kind): Canonical {
  if (raw === null || raw === undefined) return null;
  switch (kind) {
    case 'ts':
      return toDate(raw as Date | number | string).getTime();
    case 'bool':
      return toBool(raw as boolean | number | string);
    case 'json':
      return typeof raw === 'string' ? raw : JSON.stringify(raw);
    case 'uuid':
      return String(raw).toLowerCase();
    case 'int':
    case 'float':
      return toNumber(raw as number | string | bigint);
    case 'text':
      return String(raw);
    case 'bytes':
      return Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
  }
}

/**
 * The canonical form → a value to bind on either dialect. Dates and booleans become epoch ms and 0/1 in
 * the SQLite driver (its `bindable`), timestamptz and boolean in pg; JSON travels as text (the codec's rule:
 * pg would turn a JS array into a Postgres array) and Postgres parses it into jsonb exactly.
 */
export function encode(value: Canonical, kind: Kind): unknown {
  if (value === null) return null;
  return kind === 'ts' ? new Date(value as number) : value;
}

/** JSON with object keys sorted at every level: jsonb reorders keys, text keeps them as written. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function digestValue(value: Canonical, kind: Kind): unknown {
  if (value === null) return null;
  if (kind === 'json') return stableJson(JSON.parse(value as string));
  if (kind === 'bytes') return (value as Buffer).toString('base64');
  return value;
}

const LANES = 8;

/**
 * A table's checksum: every row's canonical values hashed with SHA-256, and the digests summed lane by lane
 * (eight 32-bit lanes, each modulo 2^32). A sum does not depend on the order rows are read in, which matters
 * because the two sides page in different orders (Postgres sorts text keys by the database collation, SQLite
 * by bytes); a changed, missing or extra row changes it as surely as a hash of the whole table would.
 */
export class TableChecksum {
  private readonly sum = new Uint32Array(LANES);
  /** Column positions by name, so the digest does not depend on the order the schema declares them in. */
  private readonly order: number[];
  rows = 0;

  constructor(private readonly columns: readonly KindedColumn[]) {
    this.order = columns
      .map((c, i) => [c.name, i] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, i]) => i);
  }

  add(row: readonly Canonical[]): void {
    const values = this.order.map((i) => [
      this.columns[i]!.name,
      digestValue(row[i]!, this.columns[i]!.kind),
    ]);
    const digest = createHash('sha256').update(JSON.stringify(values)).digest();
    for (let i = 0; i < LANES; i++) this.sum[i] = this.sum[i]! + digest.readUInt32BE(i * 4);
    this.rows++;
  }

  hex(): string {
    return [...this.sum].map((v) => v.toString(16).padStart(8, '0')).join('');
  }
}
