/**
 * The live display of `janua users import` on a terminal (Ink): one progress line, redrawn at most ten
 * times a second, with the failed records printed above it as they happen. Only drawn on stderr and only
 * when stderr is a terminal; piped or redirected output keeps its one line per record.
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { ImportItem } from '../core/users/admin.js';

export interface ImportTally {
  read: number;
  created: number;
  skipped: number;
  failed: number;
  /** Records per second since the start. */
  perSecond: number;
  done: boolean;
}

export function ImportProgress(props: {
  tally: ImportTally;
  failures: ImportItem[];
  dryRun: boolean;
}): ReactElement {
  const { tally, failures, dryRun } = props;
  const n = (x: number) => x.toLocaleString('en-US');
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static<ImportItem>, {
      items: failures,
      // biome-ignore lint/correctness/noChildrenProp: Static takes its row renderer as children.
      children: (f) =>
        h(
          Text,
          { key: f.index, color: 'red' },
          `record ${f.index} failed: ${f.email ?? '(no email)'}: ${f.reason ?? 'unknown reason'}`,
        ),
    }),
    h(
      Text,
      null,
      h(Text, { bold: true }, tally.done ? 'Done' : dryRun ? 'Checking' : 'Importing'),
      ` ${n(tally.read)} read · `,
      h(Text, { color: 'green' }, `${n(tally.created)} ${dryRun ? 'would be created' : 'created'}`),
      ` · ${n(tally.skipped)} skipped · `,
      h(Text, { color: tally.failed ? 'red' : undefined }, `${n(tally.failed)} failed`),
      ` · ${n(Math.round(tally.perSecond))}/s`,
    ),
  );
}

const REDRAW_MS = 100;

/** Starts the display on `stream`; feed it every record, then `finish` once (it resolves when drawn). */
export function startImportProgress(stream: NodeJS.WriteStream, dryRun: boolean) {
  const started = performance.now();
  const tally: ImportTally = { read: 0, created: 0, skipped: 0, failed: 0, perSecond: 0, done: false };
  const failures: ImportItem[] = [];
  const view = () => {
    const seconds = (performance.now() - started) / 1000;
    tally.perSecond = seconds > 0 ? tally.read / seconds : 0;
    return h(ImportProgress, { tally: { ...tally }, failures: [...failures], dryRun });
  };
  const app = render(view(), { stdout: stream, patchConsole: false, exitOnCtrlC: false });
  let last = 0;
  return {
    item(item: ImportItem): void {
      tally.read++;
      tally[item.status]++;
      if (item.status === 'failed') failures.push(item);
      const now = performance.now();
      if (item.status === 'failed' || now - last >= REDRAW_MS) {
        last = now;
        app.rerender(view());
      }
    },
    async finish(): Promise<void> {
      tally.done = true;
      app.rerender(view());
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
