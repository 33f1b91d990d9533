/** The terminal display of `janua db copy`, rendered by Ink into a test terminal, and its plain-line twin. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { CopyProgress, type CopyScreen, plainCopyProgress } from '../../src/cli/copy-progress.js';
import type { Io } from '../../src/cli/output.js';

const screen = (s: Partial<CopyScreen>): CopyScreen => ({
  finished: [],
  current: undefined,
  tables: 13,
  verifying: undefined,
  done: false,
  ...s,
});

const mismatch = {
  table: 'sessions',
  source_rows: 12,
  target_rows: 11,
  source_checksum: 'a'.repeat(64),
  target_checksum: 'b'.repeat(64),
  verified: false,
};

describe('db copy progress display', () => {
  it('lists finished tables above the table being copied, with its count, rate and place', () => {
    const view = render(
      h(CopyProgress, {
        screen: screen({
          finished: [{ table: 'organizations', copied: 3 }],
          current: { table: 'users', copied: 12000, total: 100000, perSecond: 8123.6, index: 2 },
        }),
      }),
    );
    assert.equal(
      view.lastFrame(),
      '✓ organizations 3 rows\nCopying users 12,000 / 100,000 rows · 8,124 rows/s · table 2 of 13',
    );
    view.unmount();
  });

  it('then verifies, showing a mismatch in the list', () => {
    const view = render(
      h(CopyProgress, {
        screen: screen({
          finished: [
            { table: 'users', copied: 5 },
            { table: 'sessions', copied: 11, mismatch },
          ],
          verifying: { done: 13, total: 13 },
          done: true,
        }),
      }),
    );
    const frame = view.lastFrame() ?? '';
    assert.match(frame, /✗ sessions: source 12 rows, target 11 rows, checksums differ/);
    assert.match(frame, /Verification failed 13\/13 tables/);
    view.unmount();
  });

  it('plain lines: the plan, each finished table, and only the mismatches of the verification', async () => {
    const lines: string[] = [];
    const io = { err: (s: string) => lines.push(s) } as unknown as Io;
    const view = plainCopyProgress(io, 'sqlite:/data/janua.db', 'postgres://janua:***@db/janua');
    view.event({
      type: 'start',
      tables: [
        { table: 'users', rows: 1200, copied: 200 },
        { table: 'sessions', rows: 12, copied: 0 },
      ],
      resumed: true,
      emptied: false,
    });
    view.event({ type: 'table', table: 'users', copied: 1200, total: 1200 });
    view.event({ type: 'verifying', tables: 2 });
    view.event({ type: 'verified', report: { ...mismatch, table: 'users', verified: true } });
    view.event({ type: 'verified', report: mismatch });
    await view.finish(true);
    assert.deepEqual(lines, [
      'copying 2 tables (1,212 rows) from sqlite:/data/janua.db to postgres://janua:***@db/janua (resuming an interrupted copy)\n',
      'users: 1,200 rows copied\n',
      'verifying 2 tables (row counts and checksums on both sides)\n',
      `sessions: MISMATCH: source 12 rows ${'a'.repeat(16)}, target 11 rows ${'b'.repeat(16)}\n`,
    ]);
  });
});
