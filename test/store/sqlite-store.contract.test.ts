import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { describeStoreContract } from './store-contract';

// Each test gets a new database file; every store opened on it is another connection, as a worker
// process would have.
describeStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-store-contract-'));
  const path = join(dir, 'store.db');
  return {
    open: async () => openSqliteStore(path),
    exec: async (sql) => {
      const db = new Database(path, { timeout: 5000 });
      try {
        return db.prepare(sql).run().changes;
      } finally {
        db.close();
      }
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
