/**
 * Times on the command line (`--since`, `--until`): an ISO 8601 date or date-time (`2026-12-01`,
 * `2026-12-01T10:00:00Z`), or a span back from now (`90s`, `30m`, `24h`, `7d`, `2w`).
 */
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3_600e3, d: 86_400e3, w: 604_800e3 };

export function parseTimeArg(v: string, now: () => Date = () => new Date()): Date {
  const rel = /^(\d{1,6})([smhdw])$/.exec(v.trim());
  if (rel) return new Date(now().getTime() - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(v.trim())) {
    const d = new Date(v.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new InvalidArgumentError('expected an ISO 8601 time (2026-12-01T10:00:00Z) or a span like 24h, 7d');
}
