/**
 * First come, first served turns: at most `limit` pieces of work run at once (0: no limit), the
 * others wait in arrival order, up to `maxQueued` of them, and a freed turn goes straight to the
 * oldest waiter, so work arriving meanwhile cannot take it. Used for password checks
 * (PasswordCheckLimiter) and for whole requests (limits.maxConcurrentRequests).
 */
export class Turns {
  private taken = 0;
  /** Wake-ups of the work waiting, first come first. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueued = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`a number of turns is a whole number, 0 or more, not ${limit}`);
    if (!(maxQueued >= 0)) throw new RangeError(`a queue bound is 0 or more, not ${maxQueued}`);
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
   * Why work run now would be refused (every turn taken and `maxQueued` waiting), or undefined when it
   * would run or wait: a caller that answers a refusal itself checks here, with nothing to catch.
   */
  refusal(): TurnQueueFullError | undefined {
    return this.full && this.waiting.length >= this.maxQueued ? new TurnQueueFullError(this.taken, this.waiting.length) : undefined;
  }

  /**
   * Runs `work` in a turn, and frees the turn however it ends. `waited` tells it whether it queued
   * (what it read before may be stale by then). Without a limit it runs at once, adding nothing.
   *
   * Rejects without running it with TurnQueueFullError (see refusal) when it would wait and
   * `maxQueued` already do. With `stillWanted`, work that waited is asked, when its turn comes, whether anyone still
   * wants it: if not, the turn passes on at once and it rejects with AbandonedWhileWaitingError.
   * Under overload, work done for callers who gave up waiting is what makes a queue collapse.
   */
  run<T>(work: (waited: boolean) => Promise<T>, stillWanted?: () => boolean): Promise<T> {
    return this.limit === 0 ? work(false) : this.runInTurn(work, stillWanted);
  }

  private async runInTurn<T>(work: (waited: boolean) => Promise<T>, stillWanted: (() => boolean) | undefined): Promise<T> {
    const refused = this.refusal();
    if (refused) throw refused;
    const waited = this.full;
    if (waited) {
      // A waiter is handed its turn by release(): `taken` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.taken++;
    }
    try {
      if (waited && stillWanted !== undefined && !stillWanted()) throw new AbandonedWhileWaitingError();
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

/** No turn was free and the queue was at its bound: the work was refused without running. */
export class TurnQueueFullError extends Error {
  constructor(
    readonly active: number,
    readonly queued: number,
  ) {
    super(`${active} running and ${queued} waiting, the most this process queues`);
    this.name = 'TurnQueueFullError';
  }
}

/** The work waited for its turn, and by then nobody wanted it any more (its client had left): not run. */
export class AbandonedWhileWaitingError extends Error {
  constructor() {
    super('abandoned while it waited for its turn');
    this.name = 'AbandonedWhileWaitingError';
  }
}
