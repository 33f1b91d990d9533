/**
 * The out-direction of the dialect codec: SQLite hands back epoch-ms numbers, 0/1 and JSON text; Postgres
 * hands back Date, boolean and parsed jsonb. Every repository decodes rows with these, so the difference lives
 * here and in the SQLite driver's `bindable` (the in-direction) only.
 */
import { refuseNulInJson } from './nul-guard.js';

export function toDate(v: Date | number | string): Date {
  return v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);
}

export function toDateOrNull(v: Date | number | string | null | undefined): Date | null {
  return v === null || v === undefined ? null : toDate(v);
}

export function toBool(v: boolean | number | string): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}

export function toJson<T = unknown>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/**
 * JSON always travels as text into the database: pg would turn a JS array into a Postgres array. A NUL in
 * any key or string is refused here (VALIDATION_ERROR): Postgres's jsonb cannot hold it (see nul-guard.ts).
 */
export function json(v: unknown): string {
  const text = JSON.stringify(v ?? null);
  refuseNulInJson(text);
  return text;
}

export function toNumber(v: number | string | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}
