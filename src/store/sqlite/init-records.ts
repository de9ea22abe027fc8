import type Database from 'better-sqlite3';
import { INIT_RECORD_TABLES } from '../init-record-tables';
import type { InitRecords, Store } from '../store';

/** Store.removeInitRecords: one DELETE per row, in one transaction. */
export function sqliteRemoveInitRecords(db: Database.Database): Store['removeInitRecords'] {
  const deletes = INIT_RECORD_TABLES.map(({ kind, table, key }) => ({ kind, run: db.prepare(`DELETE FROM ${table} WHERE ${key} = ?`) }));
  const removeAll = db.transaction((records: InitRecords) => {
    for (const { kind, run } of deletes) for (const key of records[kind]) run.run(key);
  });
  return async (records) => {
    removeAll(records);
  };
}
