interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit over a network database: rows added in the same turn of the event loop are written
 * by one transaction, and while a transaction is in flight the rows that arrive meanwhile wait for
 * the next one, so under load each commit carries everything that queued during the one before.
 * Each caller's promise settles only after the commit holding its row returned.
 *
 * If a batch fails, each of its rows is tried again in a transaction of its own, so a failing row
 * (a duplicate token id) fails its caller alone and nothing is half-written.
 */
export class AsyncGroupCommit<T> {
  private waiting: Waiting<T>[] = [];
  private scheduled = false;
  private draining: Promise<void> | undefined;

  constructor(
    /** Writes the rows in one transaction; rejects as the database does (nothing is written then). */
    private readonly writeAll: (items: readonly T[]) => Promise<void>,
    /** Maps a row's own failure (e.g. a constraint) to the error its caller sees. */
    private readonly explain: (item: T, err: unknown) => unknown,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled && this.draining === undefined) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Resolves once every row added so far is committed (or has failed); used before the pool closes. */
  flush(): Promise<void> {
    this.scheduled = false;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // A row added after the drain's last look (a few microtasks before this) still gets its turn.
      if (this.waiting.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      await this.commit(batch);
    }
  }

  private async commit(batch: readonly Waiting<T>[]): Promise<void> {
    if (batch.length > 1) {
      try {
        await this.writeAll(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
        return;
      } catch {
        // Fall through: one transaction per row finds out whose row it was.
      }
    }
    for (const w of batch) {
      try {
        await this.writeAll([w.item]);
        w.resolve();
      } catch (err) {
        w.reject(this.explain(w.item, err));
      }
    }
  }
}
