/**
 * Whether this process can reach its database, for the log and the readiness probe. The first
 * connection-level failure after a good spell logs one warning and starts a watcher that pings the database
 * every `pollMs`; the first ping (or readiness probe) that answers logs one line and stops it. An outage
 * under load thus costs two log lines, not one per failed request, and its end is logged even when no request
 * comes in.
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
  /** Counts outages, so a ping sent during one cannot end the next. */
  private generation = 0;

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
      this.generation++;
      this.logger.warn({ reason }, 'database unreachable: requests that need it answer 503 until it is back');
      this.watch(this.generation);
    }
    return reason;
  }

  /** The database answered (a readiness probe, say): ends the outage in progress, if any. */
  reachable(): void {
    const down = this.down;
    if (!down || this.closed) return;
    this.down = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.logger.warn(
      { reason: down.reason, down_seconds: Math.round((Date.now() - down.since.getTime()) / 1000) },
      'database reachable again',
    );
  }

  /** The outage in progress, if any. */
  current(): Outage | undefined {
    return this.down;
  }

  private watch(generation: number): void {
    this.timer = setTimeout(() => {
      this.store.ping().then(
        () => {
          if (generation === this.generation) this.reachable();
        },
        () => {
          if (!this.closed && generation === this.generation && this.down) this.watch(generation);
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
