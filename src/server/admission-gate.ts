/**
 * At most `limit` requests are processed at once (0: no limit); the others wait their turn in
 * arrival order. Why: every request has turns on the event loop (after its signature, after its
 * ledger commit), and with many in flight each turn waits behind the turns of all the others, so a
 * burst, such as the one behind a garbage collection, delays every Issue in it by the work of the
 * whole burst. With a bound, the oldest finish first and the others wait at the gate instead.
 * Measured at 80% load (1,341 requests/s, 32 client connections, one worker, three interleaved
 * runs each): p99 26.5-35.5 ms without a limit and 16.2-30.5 ms with 4; Issue's p99 inside the
 * server 18.9-23.8 against 11.2-22.4 ms. That is within this machine's drift, so it is off by default.
 *
 * A slot is held while a request waits on anything, an LDAP bind or a PostgreSQL commit included,
 * so with those the limit must leave room for the requests that wait on them.
 */
export class AdmissionGate {
  private processing = 0;
  // A queue as an array and a head index: shift() would copy the whole queue on every turn.
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`an admission limit is a whole number of requests, not ${limit}`);
  }

  /** Requests waiting for a turn. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Runs `work` once a turn is free, and frees the turn when it settles (resolved or thrown). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.limit === 0) return work();
    if (this.processing < this.limit) this.processing++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  // The turn passes straight to the oldest waiter, so a request arriving meanwhile cannot take it.
  private release(): void {
    if (this.head === this.waiting.length) {
      this.processing--;
      return;
    }
    const next = this.waiting[this.head++] as () => void;
    // Drop what was served once it is most of the array (the queue may never empty under overload).
    if (this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
