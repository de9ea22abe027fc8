import { existsSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * What a file found where a new SQLite database would go holds: nothing (no file, or one of 0 bytes
 * with no write-ahead log beside it, which SQLite itself takes for a new database), token-signing
 * keys (a Trustbridge instance's), or anything else (another application's tables, a Trustbridge
 * database without keys, an empty SQLite database with its own settings).
 */
export type SqliteFileContents = 'nothing' | 'signing keys' | 'something else';

/**
 * What the SQLite file at `path` holds, read without changing it: not migrated, nothing written, no
 * file left beside it. A file SQLite cannot read (not a database, say) throws SQLite's error.
 */
export function sqliteFileContents(path: string): SqliteFileContents {
  // A write-ahead log beside the file (a crash's, or a live connection's) is read, not checkpointed
  // into the file and removed as the last read-write connection's close would. Without one, a
  // read-only connection would leave the -wal and -shm files it creates for a database in WAL mode;
  // a read-write one removes them as it closes.
  const log = `${path}-wal`;
  const hasLog = existsSync(log);
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined || (size === 0 && !(hasLog && statSync(log).size > 0))) return 'nothing';
  const shm = `${path}-shm`;
  // A crash's log without its shared-memory index: the read-only connection builds the index in a
  // new -shm file and leaves it. A live connection always has one, so this one is ours to remove.
  const madeShm = hasLog && !existsSync(shm);
  const db = new Database(path, { readonly: hasLog, fileMustExist: true });
  try {
    db.exec('PRAGMA query_only = ON');
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'signing_keys'`).get();
    return table !== undefined && db.prepare('SELECT 1 FROM signing_keys LIMIT 1').get() !== undefined ? 'signing keys' : 'something else';
  } finally {
    db.close();
    if (madeShm) rmSync(shm, { force: true });
  }
}
