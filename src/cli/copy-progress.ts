/**
 * What `janua db copy` shows while it works, on stderr: on a terminal a live Ink view (finished tables above,
 * the table being copied with its count and rate, then the verification), otherwise plain lines — one per
 * finished table, and a progress line now and then for a long one.
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { CopyEvent, TableReport } from '../core/store/copy/copy.js';
import type { Io } from './output.js';

export interface CopyView {
  event(e: CopyEvent): void;
  /** Ends the display; `completed` false leaves the last state as it was (the copy failed or stopped). */
  finish(completed: boolean): Promise<void>;
}

const n = (x: number) => x.toLocaleString('en-US');

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
