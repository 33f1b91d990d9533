/**
 * The retry schedule of webhook deliveries (WEBHOOK_RETRY_SCHEDULE): the delays before each retry, the first
 * attempt being immediate. Parsed once at startup; a bad value stops `janua serve` before it listens (a
 * ConfigError, exit 2), like a bad SMTP setting, rather than failing every delivery later.
 */
import { ConfigError } from '../config/load.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;
/** A year: a longer delay is a typo, not a plan (and stays far from Date's range). */
const MAX_DELAY_MS = 365 * UNIT_MS.d;
/** Attempts are counted in a job's max_attempts; hundreds of retries would be a mistake too. */
const MAX_RETRIES = 100;

/** `500ms`, `5s`, `5m`, `2h`, `1d` → milliseconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms <= MAX_DELAY_MS ? ms : undefined;
}

/** The schedule's delays in milliseconds; throws a ConfigError naming the bad entry. */
export function parseRetrySchedule(entries: readonly string[]): number[] {
  if (entries.length > MAX_RETRIES)
    throw new ConfigError(`WEBHOOK_RETRY_SCHEDULE has ${entries.length} delays; at most ${MAX_RETRIES}`);
  return entries.map((e) => {
    const ms = parseDuration(e);
    if (ms === undefined)
      throw new ConfigError(
        `WEBHOOK_RETRY_SCHEDULE: "${e}" is not a duration such as 500ms, 5s, 5m, 2h or 1d (at most 365d)`,
      );
    return ms;
  });
}

/** A delivery's attempts: the first, then one per delay of the schedule. */
export function maxAttemptsOf(schedule: readonly number[]): number {
  return schedule.length + 1;
}
