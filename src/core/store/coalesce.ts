/**
 * Coalescing of concurrent small requests into one batch: group commit for writes, batched lookups for
 * reads (the DataLoader pattern). A request that finds a free slot runs at once in a batch of its own, so
 * nothing waits when the server is idle; requests that arrive while every slot is busy queue and go out
 * together in the next batch. Each trip to the database (a thread-pool job on SQLite, a network round trip
 * on Postgres) then serves many requests: on hot paths that trip, not the SQL, is what a request costs.
 *
 * A batch answers each item separately. If the batch itself throws, every item in it is rejected with that
 * error, as each would have been on its own.
 */
export class Coalescer<I, O> {
  private queue: Array<{ item: I; resolve: (out: O) => void; reject: (err: unknown) => void }> = [];
  private running = 0;

  /**
   * @param run answers a batch: one output per item, in order.
   * @param maxBatch items per batch at most (bounds one batch's statement size and how long it holds a lock).
   * @param slots batches in flight at once: 1 for the single SQLite writer, more for readers or a pool.
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 64,
    private readonly slots = 1,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running < this.slots) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const out = await this.run(batch.map((b) => b.item));
          for (const [i, b] of batch.entries()) b.resolve(out[i]!);
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running--;
    }
  }
}
