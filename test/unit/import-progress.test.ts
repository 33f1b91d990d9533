/** The terminal display of `janua users import`, rendered by Ink into a test terminal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { ImportProgress, type ImportTally } from '../../src/cli/import-progress.js';

const tally = (t: Partial<ImportTally>): ImportTally => ({
  read: 0,
  created: 0,
  skipped: 0,
  failed: 0,
  perSecond: 0,
  done: false,
  ...t,
});

describe('import progress display', () => {
  it('shows the running counts and rate, then Done', () => {
    const view = render(
      h(ImportProgress, {
        tally: tally({ read: 12345, created: 12000, skipped: 300, failed: 45, perSecond: 5900.4 }),
        failures: [],
        dryRun: false,
      }),
    );
    assert.equal(
      view.lastFrame(),
      'Importing 12,345 read · 12,000 created · 300 skipped · 45 failed · 5,900/s',
    );
    view.rerender(
      h(ImportProgress, {
        tally: tally({ read: 3, created: 3, perSecond: 10, done: true }),
        failures: [],
        dryRun: false,
      }),
    );
    assert.match(view.lastFrame() ?? '', /^Done 3 read · 3 created · 0 skipped · 0 failed · 10\/s$/);
    view.unmount();
  });

  it('prints each failure once above the progress line; a dry run says what would be created', () => {
    const failures = [{ index: 2, email: 'bad', status: 'failed' as const, reason: 'invalid email' }];
    const view = render(
      h(ImportProgress, { tally: tally({ read: 2, created: 1, failed: 1 }), failures, dryRun: true }),
    );
    const frame = view.lastFrame() ?? '';
    assert.match(frame, /record 2 failed: bad: invalid email/);
    assert.match(frame, /Checking 2 read · 1 would be created · 0 skipped · 1 failed/);
    view.unmount();
  });
});
