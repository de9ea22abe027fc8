import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

// Store.durabilityRisks: the database settings under which a crash loses what the store
// acknowledged (sts serve logs each at start-up). The test cluster runs with all three off, for speed.
describe('store: durability risks a serving node warns about', function () {
  this.timeout(60_000);

  it('SQLite: none (WAL with synchronous=NORMAL is the store\'s own setting)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sts-durability-'));
    const store = openSqliteStore(join(dir, 'sts.db'));
    try {
      assert.deepEqual(await store.durabilityRisks(), []);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('PostgreSQL', () => {
    let db: TestDatabase;
    const open = (): Promise<Store> => openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 2 });
    beforeEach(async () => {
      db = await createTestDatabase();
    });
    afterEach(async () => {
      await db.drop();
    });

    it('the test cluster: synchronous_commit, fsync and full_page_writes off, each named with what it can lose', async () => {
      const store = await open();
      try {
        const risks = await store.durabilityRisks();
        assert.deepEqual(risks.map((r) => [r.setting, r.value]), [
          ['fsync', 'off'],
          ['full_page_writes', 'off'],
          ['synchronous_commit', 'off'],
        ]);
        assert.match(risks[0]?.risk ?? '', /operating-system crash or power loss can corrupt the database/);
        assert.match(risks[2]?.risk ?? '', /crash loses the last commits, which clients were already told had succeeded/);
      } finally {
        await store.close();
      }
    });

    it('synchronous_commit turned on for the database (as it is by default): no longer listed, as our sessions see it', async () => {
      await db.query(`ALTER DATABASE ${db.name} SET synchronous_commit = on`);
      const store = await open();
      try {
        assert.deepEqual((await store.durabilityRisks()).map((r) => r.setting), ['fsync', 'full_page_writes']);
      } finally {
        await store.close();
      }
    });
  });
});
