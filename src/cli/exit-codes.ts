import type { ErrorCode } from '../core/errors.js';

/** The CLI's exit codes (README "Exit codes"); one place maps core error codes onto them. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PARTIAL: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  UNAVAILABLE: 6,
  DENIED: 7,
} as const;

export const EXIT_DOCS: Array<[number, string]> = [
  [EXIT.OK, 'success'],
  [EXIT.FAILURE, 'failure (unexpected error; the message says what happened)'],
  [EXIT.USAGE, 'usage error: unknown command or option, invalid value, invalid configuration'],
  [EXIT.PARTIAL, 'a batch finished but some items failed (per-item report on stdout)'],
  [EXIT.NOT_FOUND, 'the named user, key or other object does not exist'],
  [
    EXIT.CONFLICT,
    'conflict: it already exists, or the database schema is ahead of/different from this janua',
  ],
  [EXIT.UNAVAILABLE, 'the database (or another dependency) is unreachable, or migrations are pending'],
  [EXIT.DENIED, 'authentication or permission denied'],
];

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
    case 'VALIDATION_ERROR':
    case 'PAYLOAD_TOO_LARGE':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return EXIT.USAGE;
    case 'NOT_FOUND_ERROR':
      return EXIT.NOT_FOUND;
    case 'CONFLICT_ERROR':
      return EXIT.CONFLICT;
    case 'SERVICE_UNAVAILABLE':
    case 'RATE_LIMIT_ERROR':
      return EXIT.UNAVAILABLE;
    case 'AUTHENTICATION_ERROR':
    case 'TOKEN_ERROR':
    case 'AUTHORIZATION_ERROR':
      return EXIT.DENIED;
    case 'INTERNAL_ERROR':
      return EXIT.FAILURE;
  }
}

export function exitCodeTableMarkdown(): string {
  return ['| Exit code | Meaning |', '|---|---|', ...EXIT_DOCS.map(([c, m]) => `| ${c} | ${m} |`)].join('\n');
}

/** Ends a command with a given exit code after it has printed its result (e.g. 3 for a partly failed batch). */
export class ExitWith extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExitWith';
  }
}
