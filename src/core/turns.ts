/**
 * First come, first served turns: at most `limit` pieces of work run at once (0: no limit), the
 * others wait in arrival order, and a freed turn goes straight to the oldest waiter, so work arriving
 * meanwhile cannot take it. Used for password checks (PasswordCheckLimiter) and for whole requests
 * (limits.maxConcurrentRequests).
 */
export class Turns {
  private taken = 0;
  /** Wake-ups of the work waiting, first come first. */
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`a number of turns is a whole number, 0 or more, not ${limit}`);
  }

  /** Work running in a turn now (0 without a limit: nothing is counted). */
  get active(): number {
    return this.taken;
  }

  /** Work waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Whether work run now would wait. */
  get full(): boolean {
    return this.limit !== 0 && this.taken >= this.limit;
  }

  /**
   * Runs `work` in a turn, and frees the turn however it ends. `waited` tells it whether it queued
   * (what it read before may be stale by then). Without a limit it runs at once, adding nothing.
   */
  run<T>(work: (waited: boolean) => Promise<T>): Promise<T> {
    return this.limit === 0 ? work(false) : this.runInTurn(work);
  }

  private async runInTurn<T>(work: (waited: boolean) => Promise<T>): Promise<T> {
    const waited = this.full;
    // A waiter is handed its turn by release(): `taken` stays as it is.
    if (waited) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.taken++;
    try {
      return await work(waited);
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.taken--;
  }
}
