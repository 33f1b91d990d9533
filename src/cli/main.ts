import { CommanderError } from 'commander';
import { isJanuaError } from '../core/errors.js';
import { unreachableReason } from '../core/store/unavailable.js';
import { EXIT, ExitWith, exitCodeFor } from './exit-codes.js';
import type { Io } from './output.js';
import { buildProgram } from './program.js';

const MIN_COLUMNS = 40;

export function processIo(): Io {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    cwd: process.cwd(),
    // A live display needs a real terminal of some width; a tiny or dumb one gets the plain report.
    terminal:
      process.stderr.isTTY && process.env['TERM'] !== 'dumb' && (process.stderr.columns ?? 0) >= MIN_COLUMNS
        ? process.stderr
        : undefined,
    stdoutIsTerminal: !!process.stdout.isTTY,
  };
}

/** Runs the CLI and returns the exit code; the only caller that exits the process is bin/janua.js. */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  const stopRequested = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig));
  });
  const program = buildProgram(io, { stopRequested });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof ExitWith) {
      io.err(`${err.message}\n`);
      return err.exitCode;
    }
    if (isJanuaError(err)) {
      io.err(`error: ${err.message}\n`);
      return exitCodeFor(err.code);
    }
    const e = err as NodeJS.ErrnoException;
    const unreachable = unreachableReason(err);
    if (unreachable) {
      io.err(`error: cannot reach the database (${unreachable}): ${e.message}\n`);
      return EXIT.UNAVAILABLE;
    }
    io.err(`error: ${e?.message ?? String(err)}\n`);
    return EXIT.FAILURE;
  }
}
