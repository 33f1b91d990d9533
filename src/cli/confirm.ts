/**
 * Confirmation for destructive commands: `--yes` skips it; on a terminal the operator is asked; without a
 * terminal (scripts, cron, CI) and without `--yes` the command refuses (exit 2) rather than guess.
 */
import { createInterface } from 'node:readline/promises';
import { JanuaError } from '../core/errors.js';

/** Refuses early (before any work) when no confirmation can be had. */
export function needsConfirmation(yes: boolean | undefined, what: string): boolean {
  if (yes) return false;
  if (!process.stdin.isTTY)
    throw new JanuaError(
      'BAD_REQUEST',
      `refusing to ${what} without confirmation: pass --yes (stdin is not a terminal)`,
    );
  return true;
}

/** Asks on the terminal; anything but y/yes aborts (exit 2). */
export async function confirmOnTty(question: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new JanuaError('BAD_REQUEST', 'aborted: not confirmed');
  } finally {
    rl.close();
  }
}

/** Both steps at once, for commands that have nothing to prepare before asking. */
export async function confirmDestructive(yes: boolean | undefined, what: string): Promise<void> {
  if (needsConfirmation(yes, what)) await confirmOnTty(`${what}?`);
}
