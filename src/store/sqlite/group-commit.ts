import type Database from 'better-sqlite3';

interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit: the rows added while the event loop serves one batch of ready connections are
 * written in one transaction, committed just after (setImmediate runs once the poll phase has
 * handed every ready request its turn). Each caller's promise settles only after the commit that
 * holds its row returned, so "recorded before the reply leaves" holds exactly as with one
 * transaction per row; what is saved is the per-transaction cost (locks, WAL frames and the
 * checkpoints they lead to), paid once per batch instead of once per row.
 *
 * The write may read as well (the ledger reads its chain's head): BEGIN IMMEDIATE holds the write
 * lock across the batch, so what it read cannot change before it commits.
 *
 * If the batch fails, every row is tried again in its own transaction, so each caller gets its own
 * outcome (one duplicate key fails that caller alone) and nothing is half-written.
 */
export class GroupCommit<T> {
  private waiting: Waiting<T>[] = [];
  private scheduled = false;
  private readonly writeAll: Database.Transaction<(batch: readonly Waiting<T>[]) => void>;
  private readonly writeOne: Database.Transaction<(item: T) => void>;

  constructor(
    db: Database.Database,
    /** Writes one row; throws as the statement does. */
    private readonly write: (item: T) => void,
    /** Maps a row's own failure (e.g. a constraint) to the error its caller sees. */
    private readonly explain: (item: T, err: unknown) => unknown,
    /** Runs first inside each transaction, with the write lock held (the ledger reads its chain's head once here). */
    private readonly beginTransaction: () => void = () => undefined,
  ) {
    this.writeAll = db.transaction((batch: readonly Waiting<T>[]) => {
      this.beginTransaction();
      for (const w of batch) this.write(w.item);
    });
    // A row on its own still gets a transaction: what beginTransaction read must not change before
    // the row is in, whatever other processes do.
    this.writeOne = db.transaction((item: T) => {
      this.beginTransaction();
      this.write(item);
    });
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is waiting now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    if (batch.length > 1) {
      try {
        // BEGIN IMMEDIATE: take the write lock first (waiting up to busy_timeout for another worker).
        this.writeAll.immediate(batch);
      } catch {
        this.oneByOne(batch);
        return;
      }
      for (const w of batch) w.resolve();
      return;
    }
    this.oneByOne(batch);
  }

  private oneByOne(batch: readonly Waiting<T>[]): void {
    for (const w of batch) {
      try {
        this.writeOne.immediate(w.item);
      } catch (err) {
        w.reject(this.explain(w.item, err));
        continue;
      }
      w.resolve();
    }
  }
}
