/**
 * The live display of `janua migrate auth0` on a terminal (Ink): per phase a bar (when the total is known),
 * the count, the rate and the ETA, redrawn at most ten times a second, with failed records printed above it
 * as they happen. Loaded only when drawing on a terminal (see migrate-progress-plain.ts otherwise).
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import { duration, type MigrateView, PhaseClock } from './migrate-progress-plain.js';

interface Row {
  phase: string;
  done: number;
  failed: number;
  perSecond: number;
  total: number | undefined;
  etaSeconds: number | undefined;
}

const BAR = 30;

function bar(done: number, total: number): string {
  const filled = Math.min(BAR, Math.round((done / Math.max(1, total)) * BAR));
  return `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}`;
}

export function MigrateProgress(props: {
  rows: Row[];
  problems: Array<{ key: number; text: string }>;
  dryRun: boolean;
  note: string;
}): ReactElement {
  const n = (x: number) => x.toLocaleString('en-US');
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static<{ key: number; text: string }>, {
      items: props.problems,
      // biome-ignore lint/correctness/noChildrenProp: Static takes its row renderer as children.
      children: (p) => h(Text, { key: p.key, color: 'red' }, p.text),
    }),
    props.note ? h(Text, { dimColor: true }, props.note) : null,
    ...props.rows.map((r) =>
      h(
        Text,
        { key: r.phase },
        h(Text, { bold: true }, `${props.dryRun ? 'checking ' : ''}${r.phase.padEnd(13)}`),
        r.total !== undefined ? `${bar(r.done, r.total)} ` : '',
        `${n(r.done)}${r.total !== undefined ? `/${n(r.total)}` : ''}`,
        ' · ',
        h(Text, { color: r.failed ? 'red' : undefined }, `${n(r.failed)} failed`),
        ` · ${n(Math.round(r.perSecond))}/s`,
        r.etaSeconds !== undefined ? ` · ETA ${duration(r.etaSeconds)}` : '',
      ),
    ),
  );
}

const REDRAW_MS = 100;
const MAX_SHOWN_PROBLEMS = 200;

export function startMigrateProgress(
  stream: NodeJS.WriteStream,
  dryRun: boolean,
  totals: Partial<Record<string, number>> = {},
): MigrateView {
  const clock = new PhaseClock(totals);
  const rows = new Map<string, Row>();
  const problems: Array<{ key: number; text: string }> = [];
  let shown = 0;
  let note = '';
  const view = () =>
    h(MigrateProgress, {
      rows: [...rows.values()].map((r) => ({ ...r })),
      problems: [...problems],
      dryRun,
      note,
    });
  const app = render(view(), { stdout: stream, patchConsole: false, exitOnCtrlC: false });
  let last = 0;
  return {
    update(p) {
      rows.set(p.phase, { phase: p.phase, done: p.done, failed: p.failed, ...clock.read(p) });
      let now = false;
      if (p.problem?.kind === 'failed') {
        shown++;
        if (shown <= MAX_SHOWN_PROBLEMS) problems.push({ key: shown, text: p.problem.text });
        else if (shown === MAX_SHOWN_PROBLEMS + 1)
          problems.push({ key: shown, text: 'more failures: see the report' });
        now = true;
      }
      const t = performance.now();
      if (now || t - last >= REDRAW_MS) {
        last = t;
        app.rerender(view());
      }
    },
    note(text) {
      note = text;
      app.rerender(view());
    },
    async finish() {
      app.rerender(view());
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
