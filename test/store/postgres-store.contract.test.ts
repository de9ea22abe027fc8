import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { createTestDatabase } from '../support/postgres';
import { describeLedgerChainKeyContract } from './ledger-chain-key-contract';
import { describeStoreContract, type StoreHarness } from './store-contract';

// Each test gets a new database on the private test cluster; every store opened on it is a pool of
// its own, as another node would have.
const postgresHarness = async (): Promise<StoreHarness> => {
  const db = await createTestDatabase();
  return {
    open: (ledgerTrust) => openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 4, ledgerTrust }),
    exec: async (sql) => (await db.query(sql)).rowCount,
    liftLedgerGuards: async () => {
      await db.query('ALTER TABLE issuance_ledger DISABLE TRIGGER USER');
    },
    removeProviderBeforeCertificateInsert: async () => {
      await db.query(
        `CREATE FUNCTION remove_provider_first() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN DELETE FROM saml_providers WHERE name = NEW.provider; RETURN NEW; END $$`,
      );
      await db.query(
        'CREATE TRIGGER remove_provider_first BEFORE INSERT ON saml_provider_certificates FOR EACH ROW EXECUTE FUNCTION remove_provider_first()',
      );
    },
    refuseDeletesFrom: async (table) => {
      await db.query(`CREATE FUNCTION refuse_deletes_${table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$`);
      await db.query(`CREATE TRIGGER refuse_deletes_${table} BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_deletes_${table}()`);
    },
    dispose: () => db.drop(),
  };
};

describeStoreContract('PostgreSQL', postgresHarness);
describeLedgerChainKeyContract('PostgreSQL', postgresHarness);
