// The session-level advisory lock an exclusive task holds (src/store/postgres/advisory-locks.ts), seen
// and broken from outside the store, as an operator or a crashed connection would.
import { strict as assert } from 'node:assert';
import { ADVISORY_LOCK_SPACE, EXCLUSIVE_TASK_LOCKS } from '../../src/store/postgres/advisory-locks';
import type { ExclusiveTask } from '../../src/store/store';
import type { TestDatabase } from './postgres';
import { until } from './until';

/** The database sessions holding the task's lock (pg_locks lists a two-key advisory lock with objsubid 2). */
export async function exclusiveTaskLockHolders(db: TestDatabase, task: ExclusiveTask): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2`,
    [ADVISORY_LOCK_SPACE, EXCLUSIVE_TASK_LOCKS[task]],
  );
  return rows.map((r) => r.pid);
}

/** Ends the one database session holding the task's lock (pg_terminate_backend), and waits until it is gone. */
export async function endSessionHoldingExclusiveTaskLock(db: TestDatabase, task: ExclusiveTask): Promise<void> {
  const holders = await exclusiveTaskLockHolders(db, task);
  assert.equal(holders.length, 1, 'the task holds the lock');
  await db.query('SELECT pg_terminate_backend($1)', [holders[0]]);
  await until(async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [holders[0]])).rowCount === 0, "the holder's session to end", 5000);
}
