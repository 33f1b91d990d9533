import { Command } from 'commander';
import { JANUA_VERSION } from '../core/version.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerCron } from './commands/cron.js';
import { registerDb } from './commands/db.js';
import { registerGdpr } from './commands/gdpr.js';
import { registerGdprExport } from './commands/gdpr-export.js';
import { registerJobs } from './commands/jobs.js';
import { registerKeys } from './commands/keys.js';
import { registerMail } from './commands/mail.js';
import { registerMigrate } from './commands/migrate.js';
import { registerOrgs } from './commands/orgs.js';
import { registerRoles } from './commands/roles.js';
import { registerServe, type ServeSignals } from './commands/serve.js';
import { registerSso } from './commands/sso.js';
import { registerUsers } from './commands/users.js';
import { registerWebhooks } from './commands/webhooks.js';
import { registerWebhooksReplay } from './commands/webhooks-replay.js';
import type { Io } from './output.js';

/** Every command and global option in one place; handlers live in ./commands. */
export function buildProgram(io: Io, signals: ServeSignals): Command {
  const program = new Command('janua')
    .description(
      'Janua: self-hosted authentication. `janua serve` runs the API; the other commands administer it.',
    )
    .version(JANUA_VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file, JSON or YAML (JANUA_CONFIG)')
    .option('--database-url <url>', 'sqlite:PATH or postgres://… (DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory for the embedded database and master key (JANUA_DATA_DIR)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (LOG_LEVEL)')
    .option('--log-format <format>', 'json|pretty|auto: pretty on a terminal, JSON otherwise (LOG_FORMAT)')
    .showHelpAfterError('(run `janua help COMMAND` for its options)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  registerServe(program, io, signals);
  registerDb(program, io, signals);
  registerKeys(program, io);
  registerUsers(program, io);
  registerAdmin(program, io);
  registerOrgs(program, io);
  registerRoles(program, io);
  registerCron(program, io, signals);
  registerJobs(program, io);
  registerMail(program, io);
  registerWebhooksReplay(registerWebhooks(program, io), io);
  registerMigrate(program, io, signals);
  registerGdprExport(registerGdpr(program, io), io);
  registerSso(program, io);
  registerAudit(program, io);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    for (const sub of cmd.commands) {
      sub.exitOverride();
      sub.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    }
  }
  return program;
}
