import type { Command } from 'commander';
import { generateNextMasterKey, loadMasterKey } from '../../core/crypto/master-key.js';
import { type RotateMasterReport, rotateMasterKey } from '../../core/crypto/rotate-master.js';
import { JanuaError } from '../../core/errors.js';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { configFrom, type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';

interface Options {
  generate?: boolean;
  dryRun?: boolean;
  batchSize?: string;
  json?: boolean;
}

function human(r: RotateMasterReport): string {
  const rows = r.columns.map((c) => ({ ...c, column: `${c.table}.${c.column}` }));
  const lines = [
    `master key ${r.key_id}${r.previous_key_ids.length ? ` (previous: ${r.previous_key_ids.join(', ')})` : ''}`,
    table(rows, ['column', 'scanned', 'current', 'resealed', 'skipped', 'failed']).trimEnd(),
    r.dry_run
      ? `dry run: ${r.resealed} value(s) would be re-sealed`
      : `${r.resealed} value(s) re-sealed with ${r.key_id}`,
  ];
  for (const f of r.failures) lines.push(`cannot open ${f.table}.${f.column} ${f.key}: ${f.error}`);
  if (r.failed)
    lines.push(
      `${r.failed} value(s) could not be opened: add the key they were sealed with to JANUA_MASTER_KEY_PREVIOUS and run this again`,
    );
  else if (!r.dry_run && r.previous_key_ids.length)
    lines.push(
      'every secret is sealed with the current key: the previous keys can be removed once every node runs with it',
    );
  return `${lines.join('\n')}\n`;
}

/** `janua keys rotate-master`: re-seal every secret at rest with the current master key (core/crypto). */
export function registerRotateMaster(keys: Command, io: Io): void {
  keys
    .command('rotate-master')
    .description(
      'Re-seal every secret at rest (signing keys, TOTP seeds, webhook secrets, peppers) with the current master key; resumable (run it again after an interruption). Earlier keys come from JANUA_MASTER_KEY_PREVIOUS[_FILE].',
    )
    .option(
      '--generate',
      'first make a new master key in the key file, keeping the old one in <file>.previous (restart `janua serve` afterwards)',
    )
    .option('--dry-run', 'count what would be re-sealed, change nothing')
    .option('--batch-size <n>', 'rows per transaction', '500')
    .option('--json', 'print one JSON document')
    .action(async (opts: Options, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const batchSize = Number(opts.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
        throw new JanuaError('VALIDATION_ERROR', '--batch-size must be an integer from 1 to 10000');
      if (opts.generate && opts.dryRun)
        throw new JanuaError('VALIDATION_ERROR', '--generate and --dry-run cannot be combined');
      if (opts.generate) {
        const config = configFrom(io, globals);
        const next = generateNextMasterKey(config, loadMasterKey(config, false));
        io.err(`generated a new master key in ${next.path}; the old one is kept as a previous key\n`);
      }
      await withContainer(io, globals, { masterKey: 'require' }, async (c) => {
        const r = await rotateMasterKey(c, CLI_CONTEXT, {
          batchSize,
          dryRun: !!opts.dryRun,
          onProgress: opts.json
            ? undefined
            : (p) => io.err(`${p.table}.${p.column}: ${p.scanned} scanned, ${p.resealed} re-sealed\n`),
        });
        emitResult(io, opts.json, r, human);
        if (r.failed) throw new ExitWith(EXIT.PARTIAL, `${r.failed} value(s) could not be re-sealed`);
      });
    });
}
