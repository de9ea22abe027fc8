// The body of the WAL checkpointer's thread (see wal-checkpointer.ts): its own connection to the
// store's file, copying the write-ahead log back into the database now and then.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

interface CheckpointerData {
  readonly path: string;
  readonly intervalMs: number;
}

/** What the thread posts when it fails (it cannot open the file, or its checkpoints start failing): the error's message. */
export interface CheckpointFailure {
  readonly checkpointFailed: string;
}

const { path, intervalMs } = workerData as CheckpointerData;

// Posted rather than thrown: a SqliteError thrown out of the thread reaches the parent structured-cloned,
// as a plain object without its message.
const report = (err: unknown): void =>
  parentPort?.postMessage({ checkpointFailed: err instanceof Error ? err.message : String(err) } satisfies CheckpointFailure);

function open(): Database.Database | undefined {
  try {
    return new Database(path, { fileMustExist: true });
  } catch (err) {
    report(err);
    return undefined;
  }
}

const db = open();
if (db === undefined) {
  parentPort?.close();
} else {
  // PASSIVE copies what it can without waiting for any lock, so the serving thread never waits on
  // this one; what it leaves (frames written meanwhile) the next round or the serving connection's
  // own autocheckpoint copies. A lock held elsewhere is not an error (PASSIVE reports it as busy and
  // copies less); what throws (an I/O error) is reported when it starts, not every round, and the
  // next round tries again.
  let failing = false;
  const checkpoint = (): void => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      failing = false;
    } catch (err) {
      if (!failing) report(err);
      failing = true;
    }
  };
  const timer = setInterval(checkpoint, intervalMs);

  parentPort?.once('message', () => {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort?.close();
  });
}
