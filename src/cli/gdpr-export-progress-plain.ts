/**
 * The progress of `janua gdpr export --all-users` without a terminal (logs, pipes): one line per user on stdout,
 * so a log shows exactly which files a run wrote; and what every export view implements.
 */
import type { Io } from './output.js';

export interface ExportItem {
  user_id: string;
  outcome: 'exported' | 'skipped' | 'failed';
  file?: string;
  bytes?: number;
  sha256?: string;
  reason?: string;
}

export interface ExportTally {
  done: number;
  total: number;
  exported: number;
  skipped: number;
  failed: number;
}

export interface ExportView {
  item(it: ExportItem): void;
  finish(): Promise<void>;
}

export function tallyExport(t: ExportTally, it: ExportItem): void {
  t.done++;
  t[it.outcome]++;
}

export function exportTallyLine(t: ExportTally): string {
  return `${t.done}/${t.total} users: ${t.exported} exported, ${t.skipped} skipped, ${t.failed} failed`;
}

export function itemLine(it: ExportItem): string {
  if (it.outcome === 'exported') return `exported ${it.user_id}`;
  if (it.outcome === 'skipped') return `skipped ${it.user_id} (exists)`;
  return `failed ${it.user_id}: ${it.reason ?? 'unknown error'}`;
}

export function plainExportProgress(io: Io): ExportView {
  return {
    item(it) {
      io.out(`${itemLine(it)}\n`);
    },
    async finish() {},
  };
}

/** With --json stdout carries one document only; the items go into it. */
export const silentExportProgress: ExportView = { item() {}, async finish() {} };
