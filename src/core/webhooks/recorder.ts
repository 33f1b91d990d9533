/**
 * Records attempt outcomes on their deliveries in batches: every outcome reported while the previous batch is
 * being written goes into the next one, one transaction each. On SQLite (one writer) an autocommit UPDATE per
 * delivery was the bound on deliveries/s; a transaction of many costs little more than one. Each caller still
 * waits for its own outcome to be stored before its job is marked done, so a crash never leaves a job
 * succeeded with its delivery unrecorded.
 */
import type { DeliveryOutcome } from '../store/repos/webhooks.js';
import { webhookDeliveries } from '../store/repos/webhooks.js';
import type { Store } from '../store/store.js';

interface Pending {
  id: string;
  jobId: string;
  outcome: DeliveryOutcome;
  now: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class DeliveryRecorder {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly store: Pick<Store, 'transaction'>) {}

  record(id: string, jobId: string, outcome: DeliveryOutcome, now: Date): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, jobId, outcome, now, resolve, reject });
      this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    try {
      await this.store.transaction(async (tx) => {
        for (const p of batch) await webhookDeliveries.record(tx, p.id, p.jobId, p.outcome, p.now);
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.flushing = this.queue.length ? this.flush() : undefined;
    }
  }
}
