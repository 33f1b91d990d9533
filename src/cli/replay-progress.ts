/**
 * The live display of `janua webhooks replay` on a terminal (Ink): the tally, redrawn at most ten times a
 * second, with skipped and failed items printed above it as they happen. The command imports this module only
 * when it draws on a terminal (Ink and React double a command's start-up time); otherwise
 * replay-progress-plain.ts.
 */
import { Box, render, Static, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { ReplayItem } from '../core/webhooks/replay.js';
import { type ReplayTally, type ReplayView, tallyLine, tallyOf } from './replay-progress-plain.js';

export function ReplayProgress(props: {
  tally: ReplayTally;
  problems: ReplayItem[];
  status: string;
  dryRun: boolean;
}): ReactElement {
  const { tally, problems, status, dryRun } = props;
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static<ReplayItem>, {
      items: problems,
      // biome-ignore lint/correctness/noChildrenProp: Static takes its row renderer as children.
      children: (p) =>
        h(
          Text,
          { key: p.originalId, color: p.outcome === 'error' ? 'red' : 'yellow' },
          `${p.originalId}: ${p.outcome} (${p.reason ?? 'unknown'})`,
        ),
    }),
    h(Text, null, h(Text, { bold: true }, dryRun ? 'Dry run' : 'Replaying'), ` ${tallyLine(tally, dryRun)}`),
    status ? h(Text, null, status) : null,
  );
}

const REDRAW_MS = 100;

export function startReplayProgress(stream: NodeJS.WriteStream, dryRun: boolean): ReplayView {
  const tally: ReplayTally = { done: 0, queued: 0, skipped: 0, errors: 0 };
  const problems: ReplayItem[] = [];
  let status = '';
  const view = () => h(ReplayProgress, { tally: { ...tally }, problems: [...problems], status, dryRun });
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
      tallyOf(tally, it);
      if (it.outcome === 'skipped' || it.outcome === 'error') {
        problems.push(it);
        return draw(true);
      }
      draw();
    },
    status(text) {
      status = text;
      draw(true);
    },
    async finish() {
      draw(true);
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
