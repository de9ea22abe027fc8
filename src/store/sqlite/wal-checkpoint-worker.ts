// The body of the WAL checkpointer's thread (see wal-checkpointer.ts): its own connection to the
// store's file, copying the write-ahead log back into the database now and then.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

interface CheckpointerData {
  readonly path: string;
  readonly intervalMs: number;
}

const { path, intervalMs } = workerData as CheckpointerData;
const db = new Database(path, { fileMustExist: true });

// PASSIVE copies what it can without waiting for any lock, so the serving thread never waits on
// this one; what it leaves (frames written meanwhile) the next round or the serving connection's
// own autocheckpoint copies. A failed round (e.g. the file briefly locked) is simply retried.
const checkpoint = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // next round
  }
};
const timer = setInterval(checkpoint, intervalMs);

parentPort?.once('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort?.close();
});
