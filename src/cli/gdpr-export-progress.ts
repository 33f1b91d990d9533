/**
 * The live display of `janua gdpr export --all-users` on a terminal (Ink, on stderr): the done/total tally,
 * redrawn at most ten times a second, with failed users printed above it as they happen. Imported only when
 * it draws on a terminal (Ink and React double a command's start-up time); otherwise gdpr-export-progress-plain.ts.
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import {
  type ExportItem,
  type ExportTally,
  type ExportView,
  exportTallyLine,
  itemLine,
  tallyExport,
} from './gdpr-export-progress-plain.js';

export function ExportProgress(props: { tally: ExportTally; failures: ExportItem[] }): ReactElement {
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static<ExportItem>, {
      items: props.failures,
      // biome-ignore lint/correctness/noChildrenProp: Static takes its row renderer as children.
      children: (f) => h(Text, { key: f.user_id, color: 'red' }, itemLine(f)),
    }),
    h(Text, null, h(Text, { bold: true }, 'Exporting'), ` ${exportTallyLine(props.tally)}`),
  );
}

const REDRAW_MS = 100;

export function startExportProgress(stream: NodeJS.WriteStream, total: number): ExportView {
  const tally: ExportTally = { done: 0, total, exported: 0, skipped: 0, failed: 0 };
  const failures: ExportItem[] = [];
  const view = () => h(ExportProgress, { tally: { ...tally }, failures: [...failures] });
  const app = render(view(), { stdout: stream, patchConsole: false, exitOnCtrlC: false });
  let last = 0;
  const draw = (now = false) => {
    const t = performance.now();
    if (!now && t - last < REDRAW_MS) return;
    last = t;
    app.rerender(view());
  };
  return {
    item(it) {
      // Users created during the run are exported too; keep the denominator honest.
      tally.total = Math.max(tally.total, tally.done + 1);
      tallyExport(tally, it);
      if (it.outcome === 'failed') {
        failures.push(it);
        return draw(true);
      }
      draw();
    },
    async finish() {
      draw(true);
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
