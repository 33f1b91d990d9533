import type { FastifyInstance } from 'fastify';
import type { Container } from '../core/container.js';
import { JanuaError } from '../core/errors.js';
import { startBackground } from '../core/jobs/background.js';
import { ensureKeys } from '../core/keys/keys.js';
import { createMailer } from '../core/mail/mailer.js';
import { migrate, pendingMigrations } from '../core/store/migrator.js';
import { OutageWatch } from '../core/store/outage.js';
import { bootstrapAdmin } from '../core/users/bootstrap.js';
import { parseRetrySchedule } from '../core/webhooks/schedule.js';
import { buildApp } from './app.js';
import { installJwksLane, jwksLane } from './jwks-lane.js';
import { requestObserver } from './observe.js';

export interface Running {
  app: FastifyInstance;
  /** The URL the daemon listens on (with the real port when 0 was asked). */
  url: string;
  /** Stops accepting, finishes in-flight requests and running jobs (or gives their leases back), releases resources. */
  stop(): Promise<void>;
}

/** Prepares the database and keys, then listens. Signal handling belongs to the caller (the CLI). */
export async function startServer(c: Container): Promise<Running> {
  const { config, logger } = c;
  if (c.masterKey.source === 'generated') {
    logger.warn(
      { path: c.masterKey.path },
      'GENERATED A NEW MASTER KEY. It encrypts the signing keys: back this file up, or set JANUA_MASTER_KEY / JANUA_MASTER_KEY_FILE from a secret store in production. Losing it makes every signing key unusable.',
    );
  }
  if (config.migrateOnStart) {
    const ran = await migrate(c.store);
    if (ran.length)
      logger.info({ migrations: ran.map((m) => `${m.version}_${m.name}`) }, 'applied schema migrations');
  } else {
    const pending = await pendingMigrations(c.store);
    if (pending)
      throw new JanuaError(
        'SERVICE_UNAVAILABLE',
        `${pending} schema migration(s) pending and --no-migrate given: run \`janua db migrate\` first`,
      );
  }
  // An unreadable SMTP_PASSWORD_FILE or CA file, or a bad SMTP_URL, stops the start here, before listening.
  createMailer(config);
  // Likewise a WEBHOOK_RETRY_SCHEDULE that is not a list of durations.
  parseRetrySchedule(config.webhookRetrySchedule);
  await ensureKeys(c);
  await c.keys.load();
  // One outage log for the whole node: failed requests, readiness probes and key reloads all report to it.
  const outage = new OutageWatch(c.store, logger);
  c.keys.start(config.keysReloadSeconds, (err) => {
    if (outage.observe(err) === undefined) logger.warn({ err }, 'signing keys reload failed');
  });
  await bootstrapAdmin(c);
  c.hasher.warmUp().catch(() => {});

  const logs = config.logLevel !== 'silent';
  const observer = requestObserver(c, { log: logs });
  if (config.metricsEnabled) c.metrics.collectProcessMetrics();
  const app = await buildApp(c, { logger: logs, observer, outage });
  const lane = jwksLane(c, observer);
  if (!installJwksLane(app, lane))
    logger.warn('JWKS fast lane not installed: every request goes through the router');
  // While stopping, every response closes its connection. app.close() closes idle keep-alive sockets only
  // once, when it starts; a socket busy with an in-flight request would otherwise return to keep-alive after
  // its response and hold the server open for the whole keep-alive timeout (72 s) before the process exits.
  let closing = false;
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  const address = await app.listen({ host: config.host, port: config.port });
  const url = new URL(address);
  // With port 0 and no JANUA_BASE_URL, the derived base URL (the token issuer) would name port 0; now that
  // the real port is known, the issuer becomes the address clients actually reach.
  if (config.port === 0 && new URL(config.baseUrl).port === '0') config.baseUrl = url.origin;
  logger.info(
    { address: url.origin, database: c.store.dialect, base_url: config.baseUrl },
    `janua listening on ${url.origin}`,
  );
  const background = startBackground(c, {
    scheduler: config.scheduler,
    isOutage: (err) => outage.observe(err) !== undefined,
  });
  let stopping: Promise<void> | undefined;
  return {
    app,
    url: url.origin,
    stop() {
      stopping ??= (async () => {
        closing = true;
        lane.close();
        // In-flight requests and running jobs finish side by side; the database stays open for both.
        await Promise.all([app.close(), background.stop()]);
        await c.close();
      })();
      return stopping;
    },
  };
}
