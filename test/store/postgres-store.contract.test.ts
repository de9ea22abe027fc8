import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { createTestDatabase } from '../support/postgres';
import { describeStoreContract } from './store-contract';

// Each test gets a new database on the private test cluster; every store opened on it is a pool of
// its own, as another node would have.
describeStoreContract('PostgreSQL', async () => {
  const db = await createTestDatabase();
  return {
    open: () => openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 4 }),
    exec: async (sql) => (await db.query(sql)).rowCount,
    removeProviderBeforeCertificateInsert: async () => {
      await db.query(
        `CREATE FUNCTION remove_provider_first() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN DELETE FROM saml_providers WHERE name = NEW.provider; RETURN NEW; END $$`,
      );
      await db.query(
        'CREATE TRIGGER remove_provider_first BEFORE INSERT ON saml_provider_certificates FOR EACH ROW EXECUTE FUNCTION remove_provider_first()',
      );
    },
    dispose: () => db.drop(),
  };
});
