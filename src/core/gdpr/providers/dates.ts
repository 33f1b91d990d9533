import { toDateOrNull } from '../../store/codec.js';

/** A stored instant (either dialect's form) as ISO 8601 text, or null: what an export archive carries. */
export function iso(v: Date | number | string | null | undefined): string | null {
  return toDateOrNull(v)?.toISOString() ?? null;
}

/** The number of rows a Kysely insert/update/delete result reports. */
export function affected(r: { numUpdatedRows?: bigint; numDeletedRows?: bigint } | undefined): number {
  return Number(r?.numUpdatedRows ?? r?.numDeletedRows ?? 0n);
}
