/**
 * What `janua db copy` shows while it works, on stderr: on a terminal a live Ink view (finished tables above,
 * the table being copied with its count and rate, then the verification), otherwise plain lines — one per
 * finished table, and a progress line now and then for a long one (copy-progress-plain.ts, which loads no Ink:
 * the command imports this module only when it draws on a terminal).
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { TableReport } from '../core/store/copy/copy.js';
import { type CopyView, n } from './copy-progress-plain.js';

export { type CopyView, plainCopyProgress } from './copy-progress-plain.js';

interface Finished {
  table: string;
  copied: number;
  mismatch?: TableReport;
}

export interface CopyScreen {
  finished: Finished[];
  current: { table: string; copied: number; total: number; perSecond: number; index: number } | undefined;
  tables: number;
  verifying: { done: number; total: number } | undefined;
  done: boolean;
}

export function CopyProgress(props: { screen: CopyScreen }): ReactElement {
  const { finished, current, tables, verifying, done } = props.screen;
  let status: ReactElement | null = null;
  if (verifying)
    status = h(
      Text,
      null,
      finished.some((f) => f.mismatch)
        ? h(Text, { bold: true, color: 'red' }, done ? 'Verification failed' : 'Verifying')
        : h(Text, { bold: true }, done ? 'Verified' : 'Verifying'),
      ` ${verifying.done}/${verifying.total} tables (row counts and checksums on both sides)`,
    );
  else if (current)
    status = h(
      Text,
      null,
      h(Text, { bold: true }, 'Copying'),
      ` ${current.table} ${n(current.copied)} / ${n(current.total)} rows · ${n(Math.round(current.perSecond))} rows/s · table ${current.index} of ${tables}`,
    );
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static<Finished>, {
      items: finished,
      // biome-ignore lint/correctness/noChildrenProp: Static takes its row renderer as children.
      children: (f) =>
        f.mismatch
          ? h(
              Text,
              { key: `v-${f.table}`, color: 'red' },
              `✗ ${f.table}: source ${n(f.mismatch.source_rows)} rows, target ${n(f.mismatch.target_rows)} rows, checksums ${f.mismatch.source_checksum === f.mismatch.target_checksum ? 'equal' : 'differ'}`,
            )
          : h(Text, { key: f.table }, h(Text, { color: 'green' }, '✓'), ` ${f.table} ${n(f.copied)} rows`),
    }),
    status,
  );
}

const REDRAW_MS = 100;

/** The live view on a terminal. */
export function startCopyProgress(stream: NodeJS.WriteStream): CopyView {
  const screen: CopyScreen = {
    finished: [],
    current: undefined,
    tables: 0,
    verifying: undefined,
    done: false,
  };
  let started = performance.now();
  let startRows = 0;
  const app = render(h(CopyProgress, { screen: { ...screen } }), {
    stdout: stream,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  let last = 0;
  const draw = (now = false) => {
    const t = performance.now();
    if (!now && t - last < REDRAW_MS) return;
    last = t;
    app.rerender(h(CopyProgress, { screen: { ...screen, finished: [...screen.finished] } }));
  };
  return {
    event(e) {
      if (e.type === 'start') screen.tables = e.tables.length;
      else if (e.type === 'progress') {
        if (screen.current?.table !== e.table) {
          started = performance.now();
          startRows = e.copied;
          screen.current = {
            table: e.table,
            copied: 0,
            total: 0,
            perSecond: 0,
            index: screen.finished.length + 1,
          };
        }
        const seconds = (performance.now() - started) / 1000;
        Object.assign(screen.current, {
          copied: e.copied,
          total: e.total,
          perSecond: seconds > 0 ? (e.copied - startRows) / seconds : 0,
        });
      } else if (e.type === 'table') {
        screen.finished.push({ table: e.table, copied: e.copied });
        screen.current = undefined;
        return draw(true);
      } else if (e.type === 'verifying') screen.verifying = { done: 0, total: e.tables };
      else if (e.type === 'verified') {
        screen.verifying!.done++;
        if (!e.report.verified) {
          screen.finished.push({ table: e.report.table, copied: e.report.target_rows, mismatch: e.report });
          return draw(true);
        }
      }
      draw();
    },
    async finish(completed) {
      screen.done = completed;
      draw(true);
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
