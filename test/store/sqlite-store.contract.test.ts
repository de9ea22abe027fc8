import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { describeLedgerChainKeyContract } from './ledger-chain-key-contract';
import { describeStoreContract, type StoreHarness } from './store-contract';

// Each test gets a new database file; every store opened on it is another connection, as a worker
// process would have.
const sqliteHarness = async (): Promise<StoreHarness> => {
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-store-contract-'));
  const path = join(dir, 'store.db');
  const exec = async (sql: string): Promise<number> => {
    const db = new Database(path, { timeout: 5000 });
    try {
      return db.prepare(sql).run().changes;
    } finally {
      db.close();
    }
  };
  return {
    open: async (ledgerTrust) => openSqliteStore(path, { ledgerTrust }),
    exec,
    liftLedgerGuards: async () => {
      await exec('DROP TRIGGER issuance_ledger_immutable');
      await exec('DROP TRIGGER issuance_ledger_no_delete');
    },
    removeProviderBeforeCertificateInsert: async () => {
      await exec(
        `CREATE TRIGGER remove_provider_first BEFORE INSERT ON saml_provider_certificates
         BEGIN DELETE FROM saml_providers WHERE name = NEW.provider; END`,
      );
    },
    refuseDeletesFrom: async (table) => {
      await exec(`CREATE TRIGGER refuse_deletes_${table} BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, 'deletes refused'); END`);
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

describeStoreContract('SQLite', sqliteHarness);
describeLedgerChainKeyContract('SQLite', sqliteHarness);
