import { existsSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * What a file found where a new SQLite database would go holds: nothing (no file, or one of 0 bytes
 * with no write-ahead log of any bytes beside it, which SQLite itself takes for a new database),
 * token-signing keys (a Trustbridge instance's), Trustbridge's tables without a key (a database an
 * operator prepared, as a PostgreSQL one may be), or something else (another application's tables,
 * an SQLite database with no table but settings of its own).
 */
export type SqliteFileContents = 'nothing' | 'signing keys' | 'no signing keys' | 'something else';

/**
 * What the SQLite file at `path` holds, read without changing it: not migrated, nothing written, no
 * file left beside it. A file SQLite cannot read (not a database, say) throws SQLite's error.
 */
export function sqliteFileContents(path: string): SqliteFileContents {
  // A write-ahead log beside the file (a crash's, or a live connection's) is read, not checkpointed
  // into the file and removed as the last read-write connection's close would. Without one, a
  // read-only connection would leave the -wal and -shm files it creates for a database in WAL mode;
  // a read-write one removes them as it closes.
  const logSize = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size;
  const hasLog = logSize !== undefined;
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined || (size === 0 && (logSize ?? 0) === 0)) return 'nothing';
  const shm = `${path}-shm`;
  // A crash's log without its shared-memory index: the read-only connection builds the index in a
  // new -shm file and leaves it. A live connection always has one, so this one is ours to remove.
  const madeShm = hasLog && !existsSync(shm);
  const db = new Database(path, { readonly: hasLog, fileMustExist: true });
  try {
    db.exec('PRAGMA query_only = ON');
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'signing_keys'`).get();
    if (table === undefined) return 'something else';
    return db.prepare('SELECT 1 FROM signing_keys LIMIT 1').get() !== undefined ? 'signing keys' : 'no signing keys';
  } finally {
    db.close();
    if (madeShm) rmSync(shm, { force: true });
  }
}
