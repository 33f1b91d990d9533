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
import { hostname } from 'node:os';
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
  // minLength 1: a batch starts a write at once if none is in flight (no delay at idle), and flush(cb)
  // waits for the buffer to drain (with minLength 0 sonic-boom calls it back at once).
  const boom = pino.destination({ dest: out.fd, sync: false, minLength: 1, maxLength: LOG_BUFFER_BYTES });
  const onDrop = out.onDrop;
  // sonic-boom drops whole writes; a write is a batch of lines here, so count its lines.
  if (onDrop) boom.on('drop', (data: string) => countLines(data, onDrop));
  return new TurnBatch(boom);
}

function countLines(data: string, each: () => void): void {
  for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) each();
}

/** Lines gathered before they are handed to sonic-boom at once (the rest wait for the end of the turn). */
const TURN_BATCH_BYTES = 64 * 1024;

/**
 * Least time between two batches (ms). A line logged after a quiet spell is handed over at the end of its
 * turn; under load the lines of the turns within this window share one write, one pipe wake-up of the
 * reader. Bench (JWKS at the default configuration, same run): 36.5 → 34.1 µs of server CPU per answer
 * against one write per turn. What is pending when the process exits is written by the exit hook.
 */
const BATCH_WINDOW_MS = 10;

/**
 * The lines logged during one turn of the event loop, handed to the output as one write at its end
 * (setImmediate). A busy daemon answers many requests per turn; writing their access lines one by one
 * cost a write on the pipe and a wake-up of the reader (journald, a container runtime) for each, which
 * at the default configuration halved JWKS throughput against the same daemon logging nothing.
 * At idle a line waits only for the turn it was logged in to end; under load, for at most BATCH_WINDOW_MS.
 * Order is kept: every line of the logger goes through here.
 */
type SonicBoom = ReturnType<typeof pino.destination>;

class TurnBatch implements DestinationStream {
  private pending = '';
  private scheduled = false;
  /** When the last batch was handed over (performance.now()). */
  private releasedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly out: SonicBoom) {
    // sonic-boom's own exit hook (pino's on-exit-leak-free) runs before this one: hand over what is left
    // and write it synchronously, as pino does for its own buffered outputs.
    process.on('exit', () => {
      if (!this.pending) return;
      this.release();
      try {
        this.out.flushSync();
      } catch {
        /* the output is gone (a closed pipe): nothing left to write to */
      }
    });
  }

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= TURN_BATCH_BYTES) this.release();
    else if (!this.scheduled) {
      this.scheduled = true;
      const wait = this.releasedAt + BATCH_WINDOW_MS - performance.now();
      if (wait > 0) setTimeout(this.endOfTurn, wait);
      else setImmediate(this.endOfTurn);
    }
  }

  flush(cb: (err?: Error) => void): void {
    this.release();
    this.out.flush(cb);
  }

  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    this.release();
  };

  private release(): void {
    this.releasedAt = performance.now();
    if (!this.pending) return;
    const batch = this.pending;
    this.pending = '';
    this.out.write(batch);
  }
}

/** Where each logger made here writes, for accessLineWriter. */
const outputs = new WeakMap<Logger, { level: string; dest: DestinationStream }>();

/** What the access line says about one answered request (see daemon/observe.ts). */
export interface AccessLine {
  requestId: string;
  method: string;
  /** The matched route's pattern, or null when no route matched (then `path` says what was asked). */
  route: string | null;
  path?: string | undefined;
  status: number;
  durationMs: number;
  ip: string | undefined;
}

/**
 * Writes the access line to `logger`'s output, or undefined when `logger` does not log at info.
 *
 * For a logger made here the line is serialized by hand, the way pino would write it (level, time, pid,
 * hostname, the fields, msg; test/unit/log-format.test.ts compares the two), without pino's redaction:
 * it is built from values that cannot hold a secret (request id, method, route pattern, status,
 * duration, address). Through pino, redaction (which walks every logged object for the wildcard paths
 * such as `*.password`) and the generic serializer cost about as much as the rest of a cached answer.
 * Other loggers (a test's) get the line through `info`.
 */
export function accessLineWriter(logger: Logger): ((a: AccessLine) => void) | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  const out = outputs.get(logger);
  if (!out) return (a) => logger.info(accessFields(a), ACCESS_MESSAGE);
  const dest = out.dest;
  const host = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  return (a) => {
    let line = `{"level":30,"time":${Date.now()}${host},"request_id":${JSON.stringify(a.requestId)},"method":${JSON.stringify(a.method)},"route":${a.route === null ? 'null' : JSON.stringify(a.route)},"status":${a.status},"duration_ms":${roundMs(a.durationMs)}`;
    if (a.ip !== undefined) line += `,"ip":${JSON.stringify(a.ip)}`;
    if (a.path !== undefined) line += `,"path":${JSON.stringify(a.path)}`;
    dest.write(`${line},"msg":"${ACCESS_MESSAGE}"}\n`);
  };
}

/** The access line's fields as an object (what `accessLineWriter` writes, for loggers of other makes). */
export function accessFields(a: AccessLine): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    request_id: a.requestId,
    method: a.method,
    route: a.route,
    status: a.status,
    duration_ms: roundMs(a.durationMs),
    ip: a.ip,
  };
  if (a.path !== undefined) fields['path'] = a.path;
  return fields;
}

/** Milliseconds to the microsecond. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
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
