/**
 * Drains the outbox through the job workers: the oldest unhandled events are locked, handed to every consumer
 * that subscribes to their type, and marked handled — all in one transaction. Consumers do their part by
 * writing to the database in that transaction (typically: enqueue a job per webhook endpoint), so an event's
 * consequences exist exactly when it is marked handled: a crash mid-batch rolls everything back and the events
 * are drained again; two nodes never handle one event (SKIP LOCKED on Postgres, the write lock on SQLite).
 */
import type { Transaction } from 'kysely';
import { type OutboxEvent, outbox } from '../store/repos/outbox.js';
import type { Database } from '../store/schema.js';
import { jobSignals, OUTBOX_KIND } from './signals.js';
import type { WorkerDeps } from './workers.js';

export interface EventConsumer {
  name: string;
  /** Event types it receives, or '*' for all. */
  types: readonly string[] | '*';
  /** Runs inside the draining transaction; throwing rolls the batch back (the event is drained again later). */
  handle(tx: Transaction<Database>, event: OutboxEvent): Promise<void>;
  /**
   * Optional: the whole batch's events of its types at once, in order (instead of `handle` per event), for a
   * consumer that reads the same rows for every event (webhook endpoints) or writes better in one statement.
   */
  handleBatch?(tx: Transaction<Database>, events: readonly OutboxEvent[]): Promise<void>;
}

export interface DrainOptions {
  batchSize?: number;
  pollMs?: number;
  /** After a wake-up, wait this long so the events of a burst are drained together. */
  debounceMs?: number;
  onHandled?: (count: number) => void;
  /** As the workers': true when the failure is an outage logged elsewhere. */
  isOutage?: (err: unknown) => boolean;
}

export class OutboxDrain {
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private unlisten: (() => void) | undefined;
  private failing = false;
  /** Events whose consumer failed, so they are reported once per process, not once per poll. */
  private readonly reported = new Set<number>();
  private readonly opts: Required<Omit<DrainOptions, 'onHandled' | 'isOutage'>> &
    Pick<DrainOptions, 'onHandled' | 'isOutage'>;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly consumers: readonly EventConsumer[],
    options: DrainOptions = {},
  ) {
    this.opts = { batchSize: 200, pollMs: 1000, debounceMs: 20, ...options };
  }

  start(): void {
    this.unlisten = jobSignals.listen((kind) => {
      if (kind === OUTBOX_KIND) this.schedule();
    });
    this.pollTimer = setInterval(() => this.kick(), this.opts.pollMs);
    this.kick();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.opts.debounceMs);
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.drainOnce()) === this.opts.batchSize);
        if (this.failing) {
          this.failing = false;
          this.deps.logger.info('outbox drain reaches the database again');
        }
      } catch (err) {
        if (!this.failing && !this.opts.isOutage?.(err))
          this.deps.logger.warn({ err: (err as Error).message }, 'outbox drain failed; retrying');
        this.failing = true;
        return;
      }
    } while (this.again && !this.stopped);
  }

  private wants(c: EventConsumer, e: OutboxEvent): boolean {
    return c.types === '*' || c.types.includes(e.type);
  }

  /**
   * Drains one batch; returns how many events were marked handled. When a consumer fails, the batch is retried
   * event by event so one bad event holds back only itself.
   */
  async drainOnce(): Promise<number> {
    const { store, clock } = this.deps;
    try {
      const n = await store.transaction(async (tx) => {
        const events = await outbox.lockUnhandled(tx, store.dialect, this.opts.batchSize);
        for (const c of this.consumers) {
          if (c.handleBatch) {
            const wanted = events.filter((e) => this.wants(c, e));
            if (wanted.length) await c.handleBatch(tx, wanted);
          }
        }
        for (const e of events)
          for (const c of this.consumers) if (!c.handleBatch && this.wants(c, e)) await c.handle(tx, e);
        await outbox.markHandled(
          tx,
          events.map((e) => e.seq),
          clock.now(),
        );
        return events.length;
      });
      if (n) this.opts.onHandled?.(n);
      return n;
    } catch (err) {
      if (this.consumers.length === 0) throw err;
      return this.oneByOne(err);
    }
  }

  private async oneByOne(batchError: unknown): Promise<number> {
    const { store, clock, logger } = this.deps;
    let handled = 0;
    for (const seq of await outbox.unhandledSeqs(store.db, this.opts.batchSize)) {
      try {
        handled += await store.transaction(async (tx) => {
          const e = await outbox.lockOne(tx, store.dialect, seq);
          if (!e) return 0;
          for (const c of this.consumers) if (this.wants(c, e)) await c.handle(tx, e);
          await outbox.markHandled(tx, [e.seq], clock.now());
          return 1;
        });
      } catch (err) {
        if (!this.reported.has(seq)) {
          this.reported.add(seq);
          logger.error(
            { seq, err: (err as Error).message, batch_error: (batchError as Error).message },
            'an outbox consumer failed; the event stays unhandled and is retried',
          );
        }
      }
    }
    if (handled) this.opts.onHandled?.(handled);
    return handled;
  }

  /** Stops polling and waits for the batch in progress (its transaction commits or rolls back). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pollTimer);
    this.unlisten?.();
    await this.running;
  }
}
