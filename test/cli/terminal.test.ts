/**
 * The CLI on a real terminal (a pseudo-terminal from script(1)), as an operator at a shell sees it:
 * `users import` draws Ink's live progress line and the failures instead of one line per record (piped,
 * the plain per-record report as before), and so does `db copy` with its tables; destructive commands ask,
 * and only `y`/`yes` goes ahead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { BIN, baseEnv, newMasterKey, runCli } from '../helpers/janua.js';

const quote = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;

/**
 * Runs `janua ARGS` on a pseudo-terminal of the given size, typing `answer` once `prompt` appears; what the
 * terminal showed, and the exit code.
 */
async function onTerminal(
  args: string[],
  env: Record<string, string>,
  opts: { cols?: number; rows?: number; prompt?: RegExp; answer?: string } = {},
): Promise<{ code: number; screen: string }> {
  const command = `stty cols ${opts.cols ?? 100} rows ${opts.rows ?? 30}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: baseEnv({ ...env, TERM: 'xterm-256color' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let answered = false;
  child.stdout.on('data', (d) => {
    raw += d;
    if (opts.prompt && !answered && opts.prompt.test(stripVTControlCharacters(raw))) {
      answered = true;
      child.stdin.write(`${opts.answer ?? ''}\r`);
    }
  });
  const [code] = (await once(child, 'close')) as [number];
  child.stdin.destroy();
  return { code, screen: stripVTControlCharacters(raw) };
}

for (const dialect of dialects()) {
  describe(`the CLI on a terminal (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    const dir = tempDir();
    let input: string;

    before(async () => {
      db = await createTestDatabase(dialect);
      env = { DATABASE_URL: db.url, JANUA_DATA_DIR: dir.path, JANUA_MASTER_KEY: newMasterKey() };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      input = join(dir.path, 'users.ndjson');
      writeFileSync(
        input,
        [
          JSON.stringify({ email: 'tty-one@example.com' }),
          '{"email": "tty-bad"}',
          JSON.stringify({ email: 'tty-two@example.com' }),
        ].join('\n'),
      );
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('a live progress line and the failures, no per-record lines; piped, one line per record', async () => {
      const { code, screen } = await onTerminal(['users', 'import', input], env);
      assert.equal(code, 3, screen);
      assert.match(screen, /Done 3 read · 2 created · 0 skipped · 1 failed · [\d,]+\/s/);
      assert.equal(screen.match(/record 2 failed: tty-bad: A valid email address is required/g)?.length, 1);
      assert.match(screen, /created 2, skipped 0, failed 1/);
      assert.doesNotMatch(screen, /^\s+1\s+created\s/m, 'no per-record lines on the terminal');

      const piped = await runCli(['users', 'import', input], { env });
      assert.equal(piped.code, 3, piped.stderr);
      assert.match(piped.stdout, /^\s+1\s+skipped\s+tty-one@example\.com/m);
      assert.match(piped.stdout, /^\s+2\s+failed\s+tty-bad/m);
      assert.doesNotMatch(piped.stdout + piped.stderr, /Done \d+ read/);
    });

    test('a terminal too narrow for the display gets the plain report', async () => {
      const { code, screen } = await onTerminal(['users', 'import', input, '--dry-run'], env, {
        cols: 10,
        rows: 5,
      });
      assert.equal(code, 3, screen);
      assert.match(screen, /^\s+1\s+skipped\s+tty-one@example\.com/m);
      assert.doesNotMatch(screen, /Checking|Done \d/);
    });

    test('db copy draws its progress on the terminal; piped, plain lines on stderr', async () => {
      const target = await createTestDatabase(dialect);
      const again = await createTestDatabase(dialect);
      try {
        const { code, screen } = await onTerminal(['db', 'copy', '--to', target.url], env);
        assert.equal(code, 0, screen);
        assert.match(screen, /✓ users \d+ rows/);
        assert.match(screen, /Verified (\d+)\/\1 tables/);
        assert.match(screen, /copied and verified \d+ tables/);
        assert.doesNotMatch(screen, /^users: \d+ rows copied$/m, 'no plain lines on a terminal');
        const piped = await runCli(['db', 'copy', '--to', again.url], { env });
        assert.equal(piped.code, 0, piped.stderr);
        assert.match(piped.stderr, /^users: \d+ rows copied$/m);
        assert.doesNotMatch(piped.stderr, /✓|Verified/);
        assert.match(piped.stdout, /^TABLE\s+ROWS\s+CHECKSUM\s+VERIFIED$/m);
      } finally {
        await target.drop();
        await again.drop();
      }
    });

    test('delete asks on a terminal: anything but y leaves the user; y deactivates', async () => {
      const prompt = /Deactivate tty-one@example\.com \([0-9a-f-]{36}\)\? \[y\/N\]/;
      const no = await onTerminal(['users', 'delete', 'tty-one@example.com'], env, { prompt, answer: 'n' });
      assert.equal(no.code, 2, no.screen);
      assert.match(no.screen, /aborted: not confirmed/);
      const still = await runCli(['users', 'get', 'tty-one@example.com', '--json'], { env });
      assert.equal(JSON.parse(still.stdout).status, 'active');
      const yes = await onTerminal(['users', 'delete', 'tty-one@example.com'], env, {
        prompt,
        answer: 'yes',
      });
      assert.equal(yes.code, 0, yes.screen);
      const gone = await runCli(['users', 'get', 'tty-one@example.com', '--json'], { env });
      assert.equal(JSON.parse(gone.stdout).status, 'deleted');
    });
  });
}
