import { availableParallelism } from 'node:os';
import { ServerBusyError } from '../core/errors';
import { Turns } from '../core/turns';

// Why: a password check of a real user is about 75 ms of scrypt on libuv's thread pool. Unbounded,
// a flood of wrong passwords (or of unknown names, which pay a decoy scrypt) fills the pool and every
// core with them, and the requests that need no scrypt (a remembered password, a token, Validate)
// wait behind. A few checks run at once; the next ones wait their turn in order; when even the queue
// is full, a check is refused at once, before it costs anything.

export interface PasswordCheckLimits {
  /** Checks hashing at once in this process; AUTOMATIC_CHECKS_AT_ONCE: see checksAtOnce. */
  readonly maxConcurrent: number;
  /** Checks waiting for a turn at most; one more is refused (ServerBusyError). */
  readonly maxQueued: number;
}

export const AUTOMATIC_CHECKS_AT_ONCE = 0;

export const DEFAULT_PASSWORD_CHECK_LIMITS: PasswordCheckLimits = { maxConcurrent: AUTOMATIC_CHECKS_AT_ONCE, maxQueued: 100 };

/**
 * How many checks one of `processes` serving processes on `cores` cores runs at once: as configured, or,
 * automatically, the cores shared among the processes, at least one each. A check with STRONG_SCRYPT
 * holds 32 MB while it runs: two at once in each of two workers took a two-core node to 240-252 MB PSS
 * under a storm of first logins (bench/login-storm.ts), one each to 178-184 MB at 98% of the rate.
 */
export function checksAtOnce(configured: number, cores: number, processes: number): number {
  return configured !== AUTOMATIC_CHECKS_AT_ONCE ? configured : Math.max(1, Math.ceil(cores / processes));
}

export class PasswordCheckLimiter {
  private readonly turns: Turns;
  /** Checks hashing at once at most. */
  readonly maxConcurrent: number;

  /** `processes`: the serving processes of this host, which share its cores (see checksAtOnce). */
  constructor(limits: PasswordCheckLimits = DEFAULT_PASSWORD_CHECK_LIMITS, processes = 1) {
    this.maxConcurrent = checksAtOnce(limits.maxConcurrent, availableParallelism(), processes);
    this.turns = new Turns(this.maxConcurrent, limits.maxQueued);
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
