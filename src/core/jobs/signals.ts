type Listener = (kind: string) => void;

/**
 * In-process wake-ups: "a job of this kind (or an outbox event) was committed". Workers sleep on their poll
 * interval and wake on these, so a job enqueued by this process starts without waiting for the next poll.
 * Other processes learn of work by Postgres NOTIFY (./pg-listener.ts) or, on SQLite, by polling.
 */
export class JobSignals {
  private readonly listeners = new Set<Listener>();
  wake(kind: string): void {
    for (const l of this.listeners) l(kind);
  }
  listen(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/**
 * One hub per process, shared by the code that enqueues and the workers. A wake-up meant for another store's
 * workers (tests run several in one process) only makes those look once more and find nothing.
 */
export const jobSignals = new JobSignals();

/** The pseudo-kind woken when a domain event is written to the outbox. */
export const OUTBOX_KIND = 'outbox';
