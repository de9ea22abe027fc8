import { ServerBusyError } from '../core/errors';
import { Turns } from '../core/turns';

// Why: a password check of a real user is about 75 ms of scrypt on libuv's thread pool. Unbounded,
// a flood of wrong passwords (or of unknown names, which pay a decoy scrypt) fills the pool and every
// core with them, and the requests that need no scrypt (a remembered password, a token, Validate)
// wait behind. A few checks run at once; the next ones wait their turn in order; when even the queue
// is full, a check is refused at once, before it costs anything.

export interface PasswordCheckLimits {
  /** Checks hashing at once in this process. */
  readonly maxConcurrent: number;
  /** Checks waiting for a turn at most; one more is refused (ServerBusyError). */
  readonly maxQueued: number;
}

export const DEFAULT_PASSWORD_CHECK_LIMITS: PasswordCheckLimits = { maxConcurrent: 2, maxQueued: 100 };

export class PasswordCheckLimiter {
  private readonly turns: Turns;

  constructor(limits: PasswordCheckLimits = DEFAULT_PASSWORD_CHECK_LIMITS) {
    this.turns = new Turns(limits.maxConcurrent, limits.maxQueued);
  }

  /**
   * Runs `check` when a slot is free, in the order checks arrived; its slot is freed however it ends.
   * `waited` tells it whether it had to queue (what it read before may be stale by then).
   * Rejects with ServerBusyError, without running it, when the queue is full; with
   * AbandonedWhileWaitingError, without running it, when it waited and `stillWanted` then says its
   * client has gone (a check nobody will read the answer of costs a turn of scrypt).
   */
  run<T>(check: (waited: boolean) => Promise<T>, stillWanted?: () => boolean): Promise<T> {
    // Asked first, as the request turns are (src/server/app.ts): the refusal is answered here, with nothing to catch.
    const refused = this.turns.refusal();
    if (refused) return Promise.reject(new ServerBusyError(`password check refused: ${refused.message}`));
    return this.turns.run(check, stillWanted);
  }

  /** Checks hashing now. */
  get active(): number {
    return this.turns.active;
  }

  /** Checks waiting for a turn. */
  get queued(): number {
    return this.turns.queued;
  }
}
