import { createInterface } from 'node:readline/promises';
import { JanuaError } from '../core/errors.js';

/**
 * Confirms a destructive command: `--yes` skips the question; without a terminal to ask on, the command is
 * refused (exit 2) rather than run unconfirmed.
 */
export async function confirmDestructive(yes: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY)
    throw new JanuaError('BAD_REQUEST', `refusing to ${what} without confirmation: pass --yes`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${what}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new JanuaError('BAD_REQUEST', 'aborted: nothing changed');
  } finally {
    rl.close();
  }
}
