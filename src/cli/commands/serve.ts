import type { Command } from 'commander';
import { createContainer } from '../../core/container.js';
import { createLogger, flushLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import type { startServer } from '../../daemon/serve.js';
import { configFrom, type GlobalOptions } from '../context.js';
import type { Io } from '../output.js';

export interface ServeSignals {
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopRequested: Promise<string>;
}

export function registerServe(program: Command, io: Io, signals: ServeSignals): void {
  program
    .command('serve')
    .description('Run the API daemon (migrates the database and creates keys on first start)')
    .option('--host <host>', 'listen address (JANUA_HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--base-url <url>', 'public URL, the token issuer (JANUA_BASE_URL)')
    .option('--no-migrate', 'refuse to start when migrations are pending instead of applying them')
    .option('--no-scheduler', 'do not run the scheduled jobs in this process (JANUA_SCHEDULER)')
    .option('--master-key-file <path>', 'file holding the master key (JANUA_MASTER_KEY_FILE)')
    .action(
      async (
        opts: {
          host?: string;
          port?: string;
          baseUrl?: string;
          migrate: boolean;
          scheduler: boolean;
          masterKeyFile?: string;
        },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const config = configFrom(io, globals, {
          host: opts.host,
          port: opts.port,
          baseUrl: opts.baseUrl,
          masterKeyFile: opts.masterKeyFile,
          migrateOnStart: opts.migrate === false ? false : undefined,
          scheduler: opts.scheduler === false ? false : undefined,
        });
        const metrics = new Metrics();
        const logger = createLogger({
          level: config.logLevel,
          format: config.logFormat,
          fd: 1,
          buffered: true,
          onDrop: () => metrics.logLinesDropped.inc(),
        });
        const c = createContainer(config, { masterKey: 'generate', logger, metrics });
        let running: Awaited<ReturnType<typeof startServer>>;
        try {
          // The daemon (Fastify and its plugins) loads only for `janua serve`, not for every command.
          const { startServer } = await import('../../daemon/serve.js');
          running = await startServer(c);
        } catch (err) {
          await c.close();
          await flushLogger(logger);
          throw err;
        }
        const signal = await signals.stopRequested;
        logger.info({ signal }, 'stopping: finishing in-flight requests');
        await running.stop();
        logger.info('stopped');
        // Every line of a clean stop is written before the process exits.
        await flushLogger(logger);
      },
    );
}
