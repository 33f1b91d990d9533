/**
 * Whether this process can reach its database, for the log and the readiness probe. The first
 * connection-level failure after a good spell logs one warning and starts a watcher that pings the database
 * every `pollMs`; the first ping that answers logs one line and stops it. An outage under load thus costs
 * two log lines, not one per failed request, and its end is logged even when no request comes in.
 */
import type { Logger } from 'pino';
import type { Store } from './store.js';
import { unreachableReason } from './unavailable.js';

export interface Outage {
  since: Date;
  reason: string;
}

export class OutageWatch {
  private down: Outage | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'ping'>,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly pollMs = 1000,
  ) {}

  /** Records `err` if it is a connection-level failure and returns its reason; undefined for other errors. */
  observe(err: unknown): string | undefined {
    const reason = unreachableReason(err);
    if (reason === undefined || this.closed) return reason;
    if (!this.down) {
      this.down = { since: new Date(), reason };
      this.logger.warn({ reason }, 'database unreachable: requests that need it answer 503 until it is back');
      this.watch();
    }
    return reason;
  }

  /** The outage in progress, if any. */
  current(): Outage | undefined {
    return this.down;
  }

  private watch(): void {
    this.timer = setTimeout(() => {
      this.store.ping().then(
        () => {
          const down = this.down;
          this.down = undefined;
          this.timer = undefined;
          if (down && !this.closed)
            this.logger.warn(
              { reason: down.reason, down_seconds: Math.round((Date.now() - down.since.getTime()) / 1000) },
              'database reachable again',
            );
        },
        () => {
          if (!this.closed) this.watch();
        },
      );
    }, this.pollMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
