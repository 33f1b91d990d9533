/**
 * The one way Janua makes a logger, for the daemon (stdout) and the operator commands (stderr).
 *
 * - `json`: one JSON object per line (pino), for log collectors. The daemon writes through an asynchronous
 *   buffer (sonic-boom): lines logged while a write is in flight are sent together in the next one, so a
 *   busy daemon makes one write per batch instead of one blocking write per line. The buffer is bounded
 *   (LOG_BUFFER_BYTES): when the output cannot keep up (a stalled collector), newer lines are dropped and
 *   counted instead of growing memory without end. `flushLogger` waits for the buffer to be written (a
 *   clean stop), and pino writes what is left synchronously when the process exits.
 * - `pretty`: one readable line per event for a person at a terminal (pino-pretty's formatter, called
 *   synchronously on each line: no worker thread, nothing left unwritten at exit).
 * - `auto` (the default): pretty when the output is a terminal, JSON otherwise.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { type DestinationStream, type Logger, pino } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty is loaded only for pretty output: a daemon logging JSON never needs it (~10 MiB resident). */
const loadPretty = () => (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty).prettyFactory;

/** Pino options shared by the daemon and the CLI: secrets never reach a log line. */
export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'password',
    '*.password',
    'refresh_token',
    '*.refresh_token',
    'access_token',
    '*.access_token',
  ],
  censor: '[redacted]',
};

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Most bytes of log lines waiting to be written before new lines are dropped (16 MiB). */
export const LOG_BUFFER_BYTES = 16 * 1024 * 1024;

/** The message of the one access line the daemon writes per request (see daemon/observe.ts). */
export const ACCESS_MESSAGE = 'request';

export interface LogOutput {
  level: string;
  format: LogFormat;
  /** 1: stdout (the daemon's log), 2: stderr (an operator command's log; stdout is for results). */
  fd: number;
  /** JSON through the asynchronous bounded buffer (the daemon); else one synchronous write per line. */
  buffered?: boolean;
  /** Called for each line dropped because the buffer was full. */
  onDrop?: () => void;
}

/** `auto` resolved against the output: a terminal reads pretty lines, anything else JSON. */
export function resolveLogFormat(format: LogFormat, fd: number): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return isatty(fd) ? 'pretty' : 'json';
}

export function createLogger(out: LogOutput): Logger {
  const dest = destination(out);
  const logger = pino({ level: out.level, redact: LOG_REDACT }, dest);
  outputs.set(logger, { level: out.level, dest });
  return logger;
}

function destination(out: LogOutput): DestinationStream {
  if (resolveLogFormat(out.format, out.fd) === 'pretty') return prettyDestination(out.fd, isatty(out.fd));
  if (!out.buffered) return pino.destination({ dest: out.fd, sync: true });
  // minLength 1: every line starts a write at once if none is in flight (no delay at idle), and flush(cb)
  // waits for the buffer to drain (with minLength 0 sonic-boom calls it back at once).
  const dest = pino.destination({ dest: out.fd, sync: false, minLength: 1, maxLength: LOG_BUFFER_BYTES });
  const onDrop = out.onDrop;
  if (onDrop) dest.on('drop', onDrop);
  return dest;
}

/** Where each logger made here writes, for accessLogger. */
const outputs = new WeakMap<Logger, { level: string; dest: DestinationStream }>();

/**
 * A logger writing to `logger`'s output at its level, without its redaction: for the access line only,
 * which is built from values that cannot hold a secret (request id, method, route pattern, status,
 * duration, address; see daemon/observe.ts). Redaction walks every logged object for the wildcard paths
 * (`*.password`): about 5 µs a line, as much as the rest of the line and a sixth of a cached answer.
 * Other loggers (a test's) are returned as they are.
 */
export function accessLogger(logger: Logger): Logger {
  const out = outputs.get(logger);
  return out ? pino({ level: out.level }, out.dest) : logger;
}

/** Resolves once every line logged so far has been written (a no-op for synchronous outputs). */
export function flushLogger(logger: Logger): Promise<void> {
  // The callback's error is fsync's: a pipe or a terminal cannot be fsynced, and the lines are written.
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * Pretty lines: `HH:MM:ss.l LEVEL: message {fields}`. The access line becomes
 * `GET /api/v1/users/:id 200 1.2 ms 127.0.0.1 [request id]`; any other line of a request ends with its
 * request id in brackets. Exported for its unit test.
 */
export function prettyLine(colorize: boolean): (line: string) => string {
  const pretty = loadPretty()({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return (line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return line.endsWith('\n') ? line : `${line}\n`;
    }
    const { request_id: id, ...rest } = rec;
    if (rest['msg'] === ACCESS_MESSAGE && typeof rest['status'] === 'number') {
      const { method, route, path, status, duration_ms: ms, ip, level, time } = rest;
      const where = route ?? path;
      return pretty({ level, time, msg: `${method} ${where} ${status} ${ms} ms ${ip} [${id}]` });
    }
    if (typeof id === 'string') rest['msg'] = `${rest['msg'] ?? ''} [${id}]`;
    return pretty(rest);
  };
}

function prettyDestination(fd: number, colorize: boolean): DestinationStream {
  const format = prettyLine(colorize);
  const out = pino.destination({ dest: fd, sync: true });
  return { write: (line: string) => void out.write(format(line)) };
}
