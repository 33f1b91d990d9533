/**
 * Cross-node wake-ups on Postgres: a dedicated connection LISTENs on the jobs channel; every enqueue NOTIFYs
 * in its own transaction, which Postgres delivers only on commit (never for a rolled-back job). The connection
 * is re-opened with backoff when it drops; the workers' poll covers whatever is missed meanwhile.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { JOBS_CHANNEL } from './queue.js';

export class PgJobListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 500;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly onKind: (kind: string) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5000 });
    client.on('notification', (n) => {
      if (n.channel === JOBS_CHANNEL && n.payload) this.onKind(n.payload);
    });
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.retryMs = 500;
    } catch {
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.stopped || (this.client && this.client !== client) || this.timer) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.logger.debug({ retry_ms: this.retryMs }, 'job notification listener lost its connection');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
    }
  }
}
