/** The terminal display of `janua webhooks replay`, rendered by Ink into a test terminal, and its plain lines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import type { Io } from '../../src/cli/output.js';
import { ReplayProgress } from '../../src/cli/replay-progress.js';
import { plainReplayProgress } from '../../src/cli/replay-progress-plain.js';

describe('replay progress display', () => {
  it('shows the tally, the skipped and failed items above it, and a status line', () => {
    const problems = [
      { originalId: 'a', outcome: 'skipped' as const, reason: 'endpoint_disabled' },
      { originalId: 'b', outcome: 'error' as const, reason: 'boom' },
    ];
    const view = render(
      h(ReplayProgress, {
        tally: { done: 5, queued: 3, skipped: 1, errors: 1 },
        problems,
        status: 'waiting up to 60 s for 3 deliveries',
        dryRun: false,
      }),
    );
    assert.equal(
      view.lastFrame(),
      [
        'a: skipped (endpoint_disabled)',
        'b: error (boom)',
        'Replaying 5 selected: 3 queued, 1 skipped, 1 errors',
        'waiting up to 60 s for 3 deliveries',
      ].join('\n'),
    );
    view.rerender(
      h(ReplayProgress, {
        tally: { done: 2, queued: 2, skipped: 0, errors: 0 },
        problems: [],
        status: '',
        dryRun: true,
      }),
    );
    assert.match(view.lastFrame() ?? '', /Dry run 2 selected: 2 would be queued, 0 skipped, 0 errors$/);
    view.unmount();
  });

  it('off a terminal: a line per skipped or failed item, and the tally at the end', async () => {
    const err: string[] = [];
    const io = { err: (s: string) => err.push(s) } as unknown as Io;
    const v = plainReplayProgress(io, false);
    v.item({ originalId: 'x', outcome: 'queued', deliveryId: 'y' });
    v.item({ originalId: 'z', outcome: 'skipped', reason: 'not_found' });
    await v.finish();
    assert.deepEqual(err, ['z: skipped (not_found)\n', '2 selected: 1 queued, 1 skipped, 0 errors\n']);
  });
});
