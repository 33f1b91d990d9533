/** Rendering for commands: data in, a table or one JSON document out. Logs and warnings go to stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Where a live display may draw: stderr when it is a terminal (never stdout, which scripts read). */
  terminal?: NodeJS.WriteStream | undefined;
  /** Whether stdout is a terminal (a person reading, not a script or a file). */
  stdoutIsTerminal?: boolean;
}

export function printJson(io: Io, data: unknown): void {
  io.out(`${JSON.stringify(data, null, 2)}\n`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An aligned text table: the header row is the column names. */
export function table(rows: readonly object[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}

/** Prints `data` as JSON with --json, else as the human rendering. */
export function emitResult<T>(io: Io, json: boolean | undefined, data: T, human: (d: T) => string): void {
  if (json) printJson(io, data);
  else io.out(human(data));
}
