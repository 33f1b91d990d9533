/** The plain progress lines of `janua webhooks replay` (logs and pipes), and what every replay view implements. */
import type { ReplayItem } from '../core/webhooks/replay.js';
import type { Io } from './output.js';

export interface ReplayTally {
  done: number;
  queued: number;
  skipped: number;
  errors: number;
}

export interface ReplayView {
  item(it: ReplayItem): void;
  /** A line of status below the tally (e.g. "waiting for 12 deliveries"). */
  status(text: string): void;
  finish(): Promise<void>;
}

export function tallyOf(t: ReplayTally, it: ReplayItem): void {
  t.done++;
  if (it.outcome === 'queued' || it.outcome === 'would_queue') t.queued++;
  else if (it.outcome === 'skipped') t.skipped++;
  else t.errors++;
}

export function tallyLine(t: ReplayTally, dryRun: boolean): string {
  return `${t.done} selected: ${t.queued} ${dryRun ? 'would be queued' : 'queued'}, ${t.skipped} skipped, ${t.errors} errors`;
}

const PLAIN_EVERY_MS = 2000;

/** A tally line on stderr now and then, and every skip or error as it happens. */
export function plainReplayProgress(io: Io, dryRun: boolean): ReplayView {
  const t: ReplayTally = { done: 0, queued: 0, skipped: 0, errors: 0 };
  let last = performance.now();
  return {
    item(it) {
      tallyOf(t, it);
      if (it.outcome === 'skipped' || it.outcome === 'error')
        io.err(`${it.originalId}: ${it.outcome} (${it.reason ?? 'unknown'})\n`);
      const now = performance.now();
      if (now - last >= PLAIN_EVERY_MS) {
        last = now;
        io.err(`${tallyLine(t, dryRun)}\n`);
      }
    },
    status(text) {
      io.err(`${text}\n`);
    },
    async finish() {
      io.err(`${tallyLine(t, dryRun)}\n`);
    },
  };
}
