import type { Pool } from 'pg';
import { INIT_RECORD_TABLES } from '../init-record-tables';
import type { Store } from '../store';
import { inTransaction } from './transaction';

/** Store.removeInitRecords: one DELETE per table, in one transaction. */
export function postgresRemoveInitRecords(pool: Pool): Store['removeInitRecords'] {
  return (records) =>
    inTransaction(pool, async (client) => {
      for (const { kind, table, key } of INIT_RECORD_TABLES) {
        if (records[kind].length > 0) await client.query(`DELETE FROM ${table} WHERE ${key} = ANY($1::text[])`, [records[kind]]);
      }
    });
}
