/**
 * The log formats: the pretty formatter's lines (the access line in one readable line, a request's other
 * lines ending with its id, anything that is not JSON passed through) and the choice `auto` makes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  accessFields,
  accessLineWriter,
  createLogger,
  flushLogger,
  LOG_BUFFER_BYTES,
  prettyLine,
  resolveLogFormat,
} from '../../src/core/logger.js';

const TIME = Date.UTC(2030, 0, 15, 12, 0, 0, 250);

describe('pretty log lines', () => {
  const pretty = prettyLine(false);

  it('writes the access line as method, route, status, duration, address and request id', () => {
    const line = JSON.stringify({
      level: 30,
      time: TIME,
      pid: 1,
      hostname: 'h',
      request_id: 'req-1',
      method: 'GET',
      route: '/api/v1/users/:user_id',
      status: 200,
      duration_ms: 1.234,
      ip: '127.0.0.1',
      msg: 'request',
    });
    const out = pretty(line);
    assert.match(
      out,
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/api\/v1\/users\/:user_id 200 1\.234 ms 127\.0\.0\.1 \[req-1\]\n$/,
    );
    assert.ok(!out.includes('{'), 'no leftover fields');
  });

  it('names the path of a request no route matched', () => {
    const line = JSON.stringify({
      level: 30,
      time: TIME,
      request_id: 'r',
      method: 'GET',
      route: null,
      path: '/nope',
      status: 404,
      duration_ms: 0.5,
      ip: '::1',
      msg: 'request',
    });
    assert.match(pretty(line), /INFO: GET \/nope 404 0\.5 ms ::1 \[r\]\n$/);
  });

  it('keeps other lines one per event: message, request id, then the fields; no ANSI codes without colour', () => {
    const line = JSON.stringify({
      level: 50,
      time: TIME,
      pid: 1,
      hostname: 'h',
      request_id: 'req-2',
      code: 'INTERNAL_ERROR',
      msg: 'unhandled error',
    });
    const out = pretty(line);
    assert.match(out, /ERROR: unhandled error \[req-2\] \{"code":"INTERNAL_ERROR"\}\n$/);
    assert.equal(out.split('\n').length, 2, 'one line');
    assert.ok(!out.includes('\u001b['), 'no colour codes');
    assert.ok(!out.includes('"pid"') && !out.includes('hostname'));
  });

  it('passes a line that is not JSON through as it is', () => {
    assert.equal(pretty('not json'), 'not json\n');
  });

  it('colours the level on a terminal', () => {
    const out = prettyLine(true)(JSON.stringify({ level: 40, time: TIME, msg: 'careful' }));
    assert.ok(out.includes('\u001b['), out);
  });
});

describe('log format choice', () => {
  it('json and pretty are taken as given; auto is JSON when the output is not a terminal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'janua-log-'));
    const fd = openSync(join(dir, 'out.log'), 'w');
    try {
      assert.equal(resolveLogFormat('json', fd), 'json');
      assert.equal(resolveLogFormat('pretty', fd), 'pretty');
      assert.equal(resolveLogFormat('auto', fd), 'json');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the buffered JSON output holds every line once flushed, secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'janua-log-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const logger = createLogger({ level: 'info', format: 'json', fd, buffered: true });
      for (let i = 0; i < 1000; i++) logger.info({ i, password: 'hunter2hunter2' }, 'line');
      await flushLogger(logger);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 1000);
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { i: number }).i),
        Array.from({ length: 1000 }, (_, i) => i),
        'in order',
      );
      assert.ok(!lines.some((l) => l.includes('hunter2')));
      assert.equal((JSON.parse(lines[0]!) as { password: string }).password, '[redacted]');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stalled output: lines past the bounded buffer are dropped and counted, the rest written once it drains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'janua-log-'));
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    // Read-write, so opening does not wait for a reader; nobody reads until the buffer has overflowed.
    const fd = openSync(fifo, 'r+');
    let open = true;
    let dropped = 0;
    try {
      const logger = createLogger({
        level: 'info',
        format: 'json',
        fd,
        buffered: true,
        onDrop: () => dropped++,
      });
      const filler = 'x'.repeat(1000);
      const lines = Math.ceil((LOG_BUFFER_BYTES * 1.25) / filler.length);
      for (let i = 0; i < lines; i++) logger.info({ i, filler }, 'line');
      assert.ok(dropped > 0, 'lines beyond the buffer were dropped');
      assert.ok(dropped < lines / 2, `most lines kept: ${dropped} of ${lines} dropped`);
      // A reader comes back: everything kept is written, and flushLogger resolves.
      let received = 0;
      const reader = createReadStream(fifo);
      reader.on('data', (chunk) => {
        received += (chunk as Buffer).toString().split('\n').length - 1;
      });
      const ended = new Promise<void>((r) => reader.once('close', () => r()));
      await flushLogger(logger);
      // The only writer goes: the reader gets what is left in the pipe, then its end.
      closeSync(fd);
      open = false;
      await ended;
      assert.equal(received, lines - dropped, 'every kept line arrived');
    } finally {
      if (open) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the access line', () => {
  const answered = {
    requestId: 'req-"1"',
    method: 'GET',
    route: '/api/v1/users/:user_id',
    status: 200,
    durationMs: 1.23456,
    ip: '::ffff:127.0.0.1',
  };

  /** What a logger made by createLogger writes for `line`, read back from a file. */
  async function written(line: Parameters<typeof accessFields>[0]): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'janua-log-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const logger = createLogger({ level: 'info', format: 'json', fd, buffered: true });
      accessLineWriter(logger)!(line);
      await flushLogger(logger);
      return readFileSync(file, 'utf8');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** What pino itself writes for the same fields (the format the hand-written line must keep). */
  function pinoWrites(line: Parameters<typeof accessFields>[0]): string {
    let out = '';
    const sink = {
      write(s: string) {
        out += s;
      },
    };
    pino({ level: 'info' }, sink).info(accessFields(line), 'request');
    return out;
  }

  it('is the line pino would write: same keys in the same order, same values', async () => {
    for (const line of [
      { ...answered, route: '/api/v1/users/:user_id' },
      { ...answered, route: null, path: '/nope/\u0001"\\', status: 404 },
      { ...answered, ip: undefined },
    ]) {
      const ours = await written(line);
      const theirs = pinoWrites(line);
      assert.ok(ours.endsWith('}\n') && !ours.slice(0, -1).includes('\n'), 'one line');
      const a = JSON.parse(ours) as Record<string, unknown>;
      const b = JSON.parse(theirs) as Record<string, unknown>;
      assert.ok(Math.abs((a['time'] as number) - (b['time'] as number)) < 5_000);
      a['time'] = b['time'] = 0;
      assert.deepEqual(Object.keys(a), Object.keys(b));
      assert.deepEqual(a, b);
    }
  });

  it('is not written when the logger is above info', () => {
    const logger = createLogger({ level: 'warn', format: 'json', fd: 2 });
    assert.equal(accessLineWriter(logger), undefined);
  });
});
