/** The plain progress lines of `janua db copy` (logs and pipes), and what every copy view implements. */
import type { CopyEvent } from '../core/store/copy/copy.js';
import type { Io } from './output.js';

export interface CopyView {
  event(e: CopyEvent): void;
  /** Ends the display; `completed` false leaves the last state as it was (the copy failed or stopped). */
  finish(completed: boolean): Promise<void>;
}

export const n = (x: number) => x.toLocaleString('en-US');

const PLAIN_EVERY_MS = 2000;

/** Plain lines on stderr, for logs and pipes. */
export function plainCopyProgress(io: Io, source: string, target: string): CopyView {
  let last = performance.now();
  return {
    event(e) {
      switch (e.type) {
        case 'start': {
          const rows = e.tables.reduce((s, t) => s + t.rows, 0);
          const how = e.resumed
            ? ' (resuming an interrupted copy)'
            : e.emptied
              ? ' (the target was emptied first)'
              : '';
          io.err(`copying ${e.tables.length} tables (${n(rows)} rows) from ${source} to ${target}${how}\n`);
          return;
        }
        case 'progress': {
          const now = performance.now();
          if (now - last >= PLAIN_EVERY_MS && e.copied < e.total) {
            last = now;
            io.err(`${e.table}: ${n(e.copied)} / ${n(e.total)} rows\n`);
          }
          return;
        }
        case 'table':
          io.err(`${e.table}: ${n(e.copied)} rows copied\n`);
          return;
        case 'verifying':
          io.err(`verifying ${e.tables} tables (row counts and checksums on both sides)\n`);
          return;
        case 'verified':
          if (!e.report.verified)
            io.err(
              `${e.report.table}: MISMATCH: source ${n(e.report.source_rows)} rows ${e.report.source_checksum.slice(0, 16)}, target ${n(e.report.target_rows)} rows ${e.report.target_checksum.slice(0, 16)}\n`,
            );
          return;
      }
    },
    async finish() {},
  };
}
