/**
 * What a migration run did: counts per phase, and every failed record and warning with its reason. A run over
 * a million users may fail many records, so the lists are not held in memory: they are appended to NDJSON
 * spill files as they happen, and `--report FILE` assembles the one JSON document from them at the end. The
 * summary (`--json`, the table) carries the counts and the first `SAMPLE` items of each list.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type Phase = 'users' | 'passwords' | 'resets' | 'roles' | 'organizations' | 'members';

export const PHASES: readonly Phase[] = ['users', 'passwords', 'resets', 'roles', 'organizations', 'members'];

export interface ReportItem {
  phase: Phase;
  /** 1-based position of the record in its input (users file, hash file, organization list …). */
  index?: number | undefined;
  id?: string | undefined;
  email?: string | undefined;
  reason: string;
}

export type Counts = Record<string, number>;

export interface ReportSummary {
  source: string;
  dry_run: boolean;
  resumed: boolean;
  started_at: string;
  finished_at: string | null;
  duration_ms: number;
  counts: Partial<Record<Phase, Counts>>;
  failed: number;
  warnings: number;
  failures_sample: ReportItem[];
  warnings_sample: ReportItem[];
}

const SAMPLE = 100;

class Spill {
  private stream: WriteStream | undefined;
  count = 0;
  readonly sample: ReportItem[] = [];
  constructor(private readonly path: string | undefined) {}
  add(item: ReportItem): void {
    this.count++;
    if (this.sample.length < SAMPLE) this.sample.push(item);
    if (!this.path) return;
    this.stream ??= createWriteStream(this.path);
    this.stream.write(`${JSON.stringify(item)}\n`);
  }
  async close(): Promise<void> {
    if (!this.stream) return;
    this.stream.end();
    await once(this.stream, 'close');
  }
  get file(): string | undefined {
    return this.stream ? this.path : undefined;
  }
}

export class MigrationReport {
  readonly counts: Partial<Record<Phase, Counts>> = {};
  private readonly started = new Date();
  private finished: Date | null = null;
  private readonly dir: string | undefined;
  private readonly failures: Spill;
  private readonly warnings: Spill;
  resumed = false;

  constructor(
    readonly source: string,
    readonly dryRun: boolean,
    /** Where the full report goes (`--report`); without it only the samples are kept. */
    private readonly reportFile?: string,
  ) {
    this.dir = reportFile ? mkdtempSync(join(tmpdir(), 'janua-migrate-')) : undefined;
    this.failures = new Spill(this.dir && join(this.dir, 'failures.ndjson'));
    this.warnings = new Spill(this.dir && join(this.dir, 'warnings.ndjson'));
  }

  count(phase: Phase, key: string, by = 1): void {
    const c = this.counts[phase] ?? {};
    c[key] = (c[key] ?? 0) + by;
    this.counts[phase] = c;
  }

  /** Counts carried over from the checkpoint of the run this one resumes. */
  restore(counts: Partial<Record<Phase, Counts>>): void {
    for (const [phase, c] of Object.entries(counts))
      for (const [k, v] of Object.entries(c ?? {}))
        if (typeof v === 'number') this.count(phase as Phase, k, v);
  }

  fail(item: ReportItem): void {
    this.count(item.phase, 'failed');
    this.failures.add(item);
  }

  warn(item: ReportItem): void {
    this.warnings.add(item);
  }

  get failedCount(): number {
    return Object.values(this.counts).reduce((n, c) => n + (c?.['failed'] ?? 0), 0);
  }

  summary(): ReportSummary {
    const end = this.finished ?? new Date();
    return {
      source: this.source,
      dry_run: this.dryRun,
      resumed: this.resumed,
      started_at: this.started.toISOString(),
      finished_at: this.finished?.toISOString() ?? null,
      duration_ms: end.getTime() - this.started.getTime(),
      counts: this.counts,
      failed: this.failedCount,
      warnings: this.warnings.count,
      failures_sample: this.failures.sample,
      warnings_sample: this.warnings.sample,
    };
  }

  /** Ends the run: writes `--report` (summary, then the full lists streamed in) and removes the spill files. */
  async finish(): Promise<ReportSummary> {
    this.finished = new Date();
    await Promise.all([this.failures.close(), this.warnings.close()]);
    const summary = this.summary();
    if (this.reportFile) {
      const { failures_sample: _f, warnings_sample: _w, ...head } = summary;
      const tmp = join(dirname(this.reportFile), `.${Date.now()}.report.part`);
      const out = createWriteStream(tmp);
      const write = async (s: string) => {
        if (!out.write(s)) await once(out, 'drain');
      };
      await write(`${JSON.stringify(head, null, 2).slice(0, -2)},\n`);
      for (const [name, spill] of [
        ['failures', this.failures],
        ['warnings', this.warnings],
      ] as const) {
        await write(`  "${name}": [`);
        let first = true;
        if (spill.file)
          for await (const line of lines(spill.file)) {
            await write(`${first ? '\n' : ',\n'}    ${line}`);
            first = false;
          }
        await write(
          first ? `]${name === 'failures' ? ',' : ''}\n` : `\n  ]${name === 'failures' ? ',' : ''}\n`,
        );
      }
      await write('}\n');
      out.end();
      await once(out, 'close');
      await rename(tmp, this.reportFile);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    return summary;
  }
}

async function* lines(path: string): AsyncGenerator<string> {
  let buf = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      if (nl > 0) yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
  }
  if (buf) yield buf;
}
