/** Runs the built `janua` on a pseudo-terminal (script(1)), for tests of what a person at a terminal sees. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { BIN, baseEnv } from './janua.js';

const quote = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;

/** Runs `janua ARGS` on a pseudo-terminal (script(1)); what the terminal showed, and the exit code. */
export async function onTerminal(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; screen: string }> {
  const command = `stty cols 120 rows 30; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: baseEnv({ ...env, TERM: 'xterm-256color' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  child.stdout.on('data', (d) => {
    raw += d;
  });
  const [code] = (await once(child, 'close')) as [number];
  child.stdin.destroy();
  return { code, screen: stripVTControlCharacters(raw) };
}
