/** The bench's targets and its printed report: figures in, PASS/FAIL lines and aligned tables out. */
import { round, type ScenarioResult } from './load.js';

export interface Target {
  name: string;
  figure: number;
  unit: string;
  baselineName: string;
  baseline: number;
  ratio: number;
  /** The ratio must be at least this (or, with `atMost`, at most). */
  required: number;
  atMost?: boolean;
  extra?: { description: string; pass: boolean };
  pass: boolean;
}

export function target(
  name: string,
  figure: number,
  unit: string,
  baselineName: string,
  baseline: number,
  required: number,
  options: { extra?: { description: string; pass: boolean }; atMost?: boolean } = {},
): Target {
  const ratio = baseline > 0 ? round(figure / baseline, 3) : 0;
  const within = options.atMost ? ratio <= required : ratio >= required;
  return {
    name,
    figure,
    unit,
    baselineName,
    baseline,
    ratio,
    required,
    ...(options.atMost ? { atMost: true } : {}),
    ...(options.extra ? { extra: options.extra } : {}),
    pass: within && (options.extra?.pass ?? true),
  };
}

export function fmtMs(ms: number | null): string {
  return ms === null ? '-' : `${ms} ms`;
}

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export function printScenario(s: ScenarioResult): void {
  const codes = Object.entries(s.statusCodes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ');
  log(
    `${s.name}: ${s.rps} ok/s (p50 ${fmtMs(s.ok.p50Ms)}, p99 ${fmtMs(s.ok.p99Ms)}), ` +
      `429/503: ${s.shed.count} (${s.shed.perSecond}/s, p50 ${fmtMs(s.shed.p50Ms)}, p99 ${fmtMs(s.shed.p99Ms)}), ` +
      `other errors: ${s.otherErrors.count}, socket errors: ${s.socketErrors}, timeouts: ${s.timeouts} [${codes}]; ` +
      `server CPU ${s.serverCpuCores ?? '-'} cores, ${s.serverCpuUsPerRequest ?? '-'} µs/request`,
  );
}

export function scenarioLine(s: ScenarioResult): string {
  return (
    `  ${s.name.padEnd(40)} ${String(s.rps).padStart(9)} ok/s  p50 ${fmtMs(s.ok.p50Ms).padStart(10)}  p99 ${fmtMs(s.ok.p99Ms).padStart(10)}` +
    `  429/503 ${s.shed.count} (${s.shed.perSecond}/s, p99 ${fmtMs(s.shed.p99Ms)})  other non-2xx ${s.otherErrors.count}` +
    `  CPU ${s.serverCpuUsPerRequest ?? '-'} µs/answer`
  );
}

export function targetLine(t: Target): string {
  return (
    `  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(40)} ${t.figure} ${t.unit} / ${t.baseline} ${t.baselineName} = ${t.ratio} (target ${t.atMost ? '≤' : '≥'} ${t.required})` +
    (t.extra ? `; ${t.extra.description}: ${t.extra.pass ? 'yes' : 'no'}` : '')
  );
}

export function mean(xs: number[]): number {
  return xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : 0;
}

/** The middle value (the mean of the two middle ones for an even count): one disturbed round moves it least. */
export function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2);
}
