/**
 * `janua gdpr`: data-subject requests from the operator's side. `export` lives in ./gdpr-export.ts; erasure
 * requests (`erase`, `requests`, `cancel`) here. Each is a thin front door onto core/gdpr.
 */
import type { Command } from 'commander';
import type { Io } from '../output.js';

/** Registers the `gdpr` group and returns it, so the export commands can add themselves to it. */
export function registerGdpr(program: Command, _io: Io): Command {
  return program
    .command('gdpr')
    .description('GDPR requests: export a user’s data, erase a user, list and cancel pending erasures');
}
