import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import {
  ensureKeys,
  listKeys,
  presentKey as present,
  pruneKeys,
  retireKey,
  rotateKeys,
} from '../../core/keys/keys.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io, table } from '../output.js';
import { registerRotateMaster } from './keys-master.js';

const COLUMNS = ['kid', 'alg', 'state', 'created_at', 'activated_at', 'retires_at'];

export function registerKeys(program: Command, io: Io): void {
  const keys = program
    .command('keys')
    .description(
      'Signing keys (JWKS): list, rotate, retire, prune; and the master key that seals secrets at rest',
    );
  keys
    .command('list')
    .description('List signing keys: kid, algorithm, state (next|active|retired), dates')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), { masterKey: 'lazy' }, async (c) => {
        const rows = (await listKeys(c)).map(present);
        emitResult(io, opts.json, { keys: rows }, (d) => table(d.keys, COLUMNS));
      });
    });
  keys
    .command('rotate')
    .description(
      'next → active, a new next key, the old active → retired (still published until its tokens expire). Running daemons pick it up within JANUA_KEYS_RELOAD_SECONDS.',
    )
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), { masterKey: 'require' }, async (c) => {
        await ensureKeys(c);
        const r = await rotateKeys(c, CLI_CONTEXT);
        emitResult(
          io,
          opts.json,
          r,
          (d) => `active: ${d.activated}\nnext:   ${d.next}\nretired: ${d.retired.join(', ') || '-'}\n`,
        );
      });
    });
  keys
    .command('retire <kid>')
    .description(
      'Retire one key (the active one is rotated out first). --immediately drops it from JWKS at the next prune: its tokens stop verifying.',
    )
    .option('--immediately', 'for a compromised key: end its publication now')
    .option('--json', 'print one JSON document')
    .action(async (kid: string, opts: { json?: boolean; immediately?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), { masterKey: 'require' }, async (c) => {
        const k = await retireKey(c, kid, CLI_CONTEXT, !!opts.immediately);
        if (opts.immediately) await pruneKeys(c, CLI_CONTEXT);
        emitResult(
          io,
          opts.json,
          present(k),
          (d) =>
            `retired ${d.kid}${opts.immediately ? ' and removed it from JWKS' : `; published until ${d.retires_at}`}\n`,
        );
      });
    });
  keys
    .command('prune')
    .description('Remove retired keys whose tokens have all expired')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), { masterKey: 'lazy' }, async (c) => {
        const removed = await pruneKeys(c, CLI_CONTEXT);
        emitResult(io, opts.json, { removed }, (d) =>
          d.removed.length ? `removed ${d.removed.join(', ')}\n` : 'nothing to prune\n',
        );
      });
    });
  registerRotateMaster(keys, io);
}
