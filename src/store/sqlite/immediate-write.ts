import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';

/** A write transaction that waits for SQLite's write lock without holding up the event loop. */
export type ImmediateWrite<A extends unknown[], R> = (...args: A) => Promise<R>;

/**
 * How long to wait before trying the lock again, by attempt (the last repeats): at once after the
 * event loop's pending I/O, then on timers growing as SQLite's own busy handler's do, up to 20 ms.
 * Another process holds the lock for a transaction of its own, some 0.1-0.5 ms.
 */
const RETRY_DELAYS_MS: readonly number[] = [0, 1, 1, 2, 2, 5, 5, 10, 20];

/**
 * `body` as a write transaction (BEGIN IMMEDIATE) that, while another process holds SQLite's write
 * lock, waits for it on a timer rather than in SQLite's busy handler. The handler waits by sleeping
 * the calling thread (1, 2, 5, 10 ms and on, up to busy_timeout), and better-sqlite3 calls SQLite on
 * the event loop, so every request of the process stood still meanwhile: with a worker on every core
 * at 80% load, each worker slept in BEGIN IMMEDIATE some five times a second, up to 10 ms at a time
 * (measured). Here BEGIN IMMEDIATE is tried with no busy timeout and, if the lock is busy, tried again
 * later while the event loop serves other requests, until the connection's busy_timeout has passed;
 * then it fails with SQLITE_BUSY as before. Once the lock is held, `body`'s statements and the commit
 * run with the connection's busy timeout, as every other statement does. `body` runs at most once
 * per call: only a BEGIN refused before it ran is tried again.
 */
export function immediateWrite<A extends unknown[], R>(db: Database.Database, body: (...args: A) => R): ImmediateWrite<A, R> {
  const busyTimeoutMs = Number(db.pragma('busy_timeout', { simple: true }));
  // Not prepared once: SQLite sets busy_timeout when the PRAGMA is compiled, not when it is run.
  // exec compiles and runs it without a Statement object or a result: both together cost some 1 µs
  // (db.pragma's 5 µs were 1.4% of an Issue's CPU).
  const noWaiting = (): unknown => db.exec('PRAGMA busy_timeout = 0');
  const waiting = (): unknown => db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  let began = false;
  const transaction = db.transaction((...args: A): R => {
    began = true;
    waiting();
    return body(...args);
  });
  // Synchronous from the pragma to the commit, so no other call's attempt can come in between.
  const attempt = (args: A): { readonly result: R } | undefined => {
    began = false;
    noWaiting();
    try {
      return { result: transaction.immediate(...args) };
    } catch (err) {
      if (!began && isBusy(err)) return undefined;
      throw err;
    } finally {
      if (!began) waiting();
    }
  };
  return async (...args) => {
    const giveUpAt = performance.now() + busyTimeoutMs;
    for (let retry = 0; ; retry++) {
      const done = attempt(args);
      if (done !== undefined) return done.result;
      if (performance.now() >= giveUpAt) throw new WriteLockBusyError(busyTimeoutMs);
      const delayMs = RETRY_DELAYS_MS[Math.min(retry, RETRY_DELAYS_MS.length - 1)] as number;
      await (delayMs === 0 ? nextTurn() : sleep(delayMs));
    }
  };
}

/** Another process held SQLite's write lock for the whole busy timeout. */
export class WriteLockBusyError extends Error {
  /** SQLite's code, as for a statement whose busy handler gave up. */
  readonly code = 'SQLITE_BUSY';
  constructor(timeoutMs: number) {
    super(`database is locked: another process held the write lock for ${timeoutMs} ms`);
    this.name = 'WriteLockBusyError';
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
