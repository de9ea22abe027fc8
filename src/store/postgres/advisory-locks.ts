import type { Pool } from 'pg';

// The advisory locks the PostgreSQL store takes, as (space, id) pairs: the space is 'TBRG' in ASCII,
// so Trustbridge's locks do not collide with another application's in the same database.
export const ADVISORY_LOCK_SPACE = 0x54425247;

/** Held while the schema is migrated at start-up. */
export const MIGRATIONS_LOCK = 1;
/** Held by the transaction appending to the issuance ledger, from reading the chain's head to commit. */
export const LEDGER_APPEND_LOCK = 2;
/** Held by the node running Store.exclusive's task of that name; the others skip it. */
export const EXCLUSIVE_TASK_LOCKS = { 'key-rollover': 3 } as const;

/**
 * Runs `task` holding the session-level advisory lock `id` on a connection of its own, or resolves
 * false at once when another session holds it. Should this connection die, PostgreSQL releases the
 * lock with it, so a crashed node never leaves a chore locked. An unlock that fails is told to
 * `onUnlockError` and does not change the outcome: the task's work is done (or its error thrown)
 * either way, through connections of its own.
 */
export async function withTryAdvisoryLock(
  pool: Pool,
  id: number,
  task: () => Promise<void>,
  onUnlockError: (err: Error) => void = () => undefined,
): Promise<boolean> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [ADVISORY_LOCK_SPACE, id]);
    if (rows[0]?.locked !== true) return false;
    try {
      await task();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_LOCK_SPACE, id]).catch((err: Error) => {
        broken = err;
      });
    }
    return true;
  } finally {
    // A connection whose unlock failed may still hold the lock: closed rather than pooled, which ends
    // its session and so the lock. The failure is still worth telling: a session lost mid-task had
    // already let the lock go, and another node may have run the same task beside this one.
    client.release(broken);
    if (broken) onUnlockError(broken);
  }
}
