import { ServerBusyError } from '../core/errors';

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
  private running = 0;
  /** Wake-ups of the checks waiting, first come first. */
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limits: PasswordCheckLimits = DEFAULT_PASSWORD_CHECK_LIMITS) {}

  /**
   * Runs `check` when a slot is free, in the order checks arrived; its slot is freed however it ends.
   * `waited` tells it whether it had to queue (what it read before may be stale by then).
   * Rejects with ServerBusyError, without running it, when the queue is full.
   */
  async run<T>(check: (waited: boolean) => Promise<T>): Promise<T> {
    const waited = this.running >= this.limits.maxConcurrent;
    if (waited) {
      if (this.waiting.length >= this.limits.maxQueued) {
        throw new ServerBusyError(
          `password check refused: ${this.running} running and ${this.waiting.length} waiting, the most this process queues`,
        );
      }
      // The slot is handed over by release(): `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await check(waited);
    } finally {
      this.release();
    }
  }

  /** Checks hashing now. */
  get active(): number {
    return this.running;
  }

  /** Checks waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
