/**
 * The progress of `janua migrate auth0` off a terminal (logs, pipes, CI): one line per phase now and then
 * on stderr, every failed record as it happens, and what every migrate view implements. On a terminal
 * ./migrate-progress.ts draws the same with Ink.
 */
import type { Progress } from '../migrate/auth0/run.js';
import type { Io } from './output.js';

export interface MigrateView {
  update(p: Progress): void;
  /** A line about the source (the export job's state, a retry after a rate limit …). */
  note(text: string): void;
  finish(): Promise<void>;
}

/** Rate and ETA of one phase, from when this process started it. */
export class PhaseClock {
  private phase = '';
  private startedAt = 0;
  private startDone = 0;
  constructor(private readonly totals: Partial<Record<string, number>>) {}
  /** Records per second in this process, and the seconds left when the phase's total is known. */
  read(p: Progress): { perSecond: number; total: number | undefined; etaSeconds: number | undefined } {
    const now = performance.now();
    if (p.phase !== this.phase) {
      this.phase = p.phase;
      this.startedAt = now;
      this.startDone = p.done;
    }
    const seconds = (now - this.startedAt) / 1000;
    const perSecond = seconds > 0.5 ? (p.done - this.startDone) / seconds : 0;
    const total = this.totals[p.phase];
    const etaSeconds =
      total !== undefined && perSecond > 0 ? Math.max(0, (total - p.done) / perSecond) : undefined;
    return { perSecond, total, etaSeconds };
  }
}

export function duration(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(p: Progress, clock: PhaseClock): string {
  const { perSecond, total, etaSeconds } = clock.read(p);
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    `${p.phase}: ${n(p.done)}${total !== undefined ? ` of ${n(total)}` : ''} read`,
    `${n(p.failed)} failed`,
    `${n(Math.round(perSecond))}/s`,
    ...(etaSeconds !== undefined ? [`ETA ${duration(etaSeconds)}`] : []),
  ].join(' · ');
}

const PLAIN_EVERY_MS = 5000;

export function plainMigrateProgress(io: Io, totals: Partial<Record<string, number>> = {}): MigrateView {
  const clock = new PhaseClock(totals);
  let last = performance.now();
  let phase = '';
  let latest: Progress | undefined;
  return {
    update(p) {
      if (p.phase !== phase && latest) io.err(`${progressLine(latest, clock)}\n`);
      const started = p.phase !== phase;
      latest = p;
      if (p.problem?.kind === 'failed') io.err(`failed: ${p.problem.text}\n`);
      if (p.note) io.err(`${p.phase}: ${p.note}\n`);
      const now = performance.now();
      if (started) {
        io.err(`${p.phase}: started\n`);
        phase = p.phase;
        last = now;
        clock.read(p);
      } else if (now - last >= PLAIN_EVERY_MS) {
        last = now;
        io.err(`${progressLine(p, clock)}\n`);
      }
    },
    note(text) {
      io.err(`${text}\n`);
    },
    async finish() {
      if (latest) io.err(`${progressLine(latest, clock)}\n`);
    },
  };
}
