import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Whether the SQLite file at `path` holds token-signing keys (an instance's), read without changing
 * it: not migrated, nothing written. False when there is no file there or it has no signing_keys
 * table; a file SQLite cannot read throws SQLite's error.
 */
export function sqliteFileHoldsSigningKeys(path: string): boolean {
  if (!existsSync(path)) return false;
  // A write-ahead log beside the file (a crash's, or a live connection's) is read, not checkpointed
  // into the file and removed as the last read-write connection's close would. Without one, a
  // read-only connection would leave the -wal and -shm files it creates for a database in WAL mode;
  // a read-write one removes them as it closes.
  const hasLog = existsSync(`${path}-wal`);
  const shm = `${path}-shm`;
  // A crash's log without its shared-memory index: the read-only connection builds the index in a
  // new -shm file and leaves it. A live connection always has one, so this one is ours to remove.
  const madeShm = hasLog && !existsSync(shm);
  const db = new Database(path, { readonly: hasLog, fileMustExist: true });
  try {
    db.exec('PRAGMA query_only = ON');
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'signing_keys'`).get();
    return table !== undefined && db.prepare('SELECT 1 FROM signing_keys LIMIT 1').get() !== undefined;
  } finally {
    db.close();
    if (madeShm) rmSync(shm, { force: true });
  }
}
