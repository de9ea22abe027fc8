import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { ADVISORY_LOCK_SPACE, LEDGER_APPEND_LOCK } from '../../src/store/postgres/advisory-locks';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { TEST_LEDGER_TRUST } from '../support/ledger-chain-key';
import type { Store } from '../../src/store/store';
import { isStoreUnavailable } from '../../src/store/store-unavailable';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { ledgerEntry } from '../support/store-fixtures';
import { until } from '../support/until';

// A connection PostgreSQL ends while the store has it checked out (in the middle of a transaction:
// a restart, an administrator, idle_in_transaction_session_timeout) must fail that one operation as
// "store unavailable", never raise an 'error' event nobody listens to: in `sts serve` that is an
// uncaught exception, and the node exits.

describe('store/postgres: a connection lost while checked out', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let store: Store;
  let other: Client;

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 2, ledgerTrust: TEST_LEDGER_TRUST });
    other = new Client({ host: db.host, port: db.port, database: db.name, user: db.user, password: db.password });
    await other.connect();
  });
  afterEach(async () => {
    await other.end().catch(() => undefined);
    await store.close().catch(() => undefined);
    await db.drop();
  });

  it('a ledger append whose session is terminated while it waits for the append lock fails as unavailable; the process lives and the next append succeeds', async () => {
    await store.ledger.record(ledgerEntry('_first'));
    // Another session (another node) holds the append lock, so our append waits inside its transaction.
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_SPACE, LEDGER_APPEND_LOCK]);
    const uncaught: Error[] = [];
    const onUncaught = (err: Error): void => void uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const waiting = store.ledger.record(ledgerEntry('_lost')).then(
        () => undefined,
        (err: unknown) => err,
      );
      await until(async () => {
        const { rows } = await other.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'trustbridge' AND wait_event_type = 'Lock'`,
        );
        return (rows[0]?.n ?? 0) > 0;
      }, 'the append to wait for the lock (then its session is terminated)', 5000, 50);
      const failure = await waiting;
      assert.ok(failure instanceof Error, 'the append failed');
      assert.ok(isStoreUnavailable(failure), `reported as unavailable: ${String(failure)}`);
      // The socket's end arrives after the query's error: give it the time to be (mis)handled.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(uncaught.map((e) => e.message), [], 'no uncaught error event');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await other.query('ROLLBACK');
    }
    await store.ledger.record(ledgerEntry('_after'));
    assert.deepEqual((await store.ledger.chain(0, 10)).map((e) => e.tokenId), ['_first', '_after'], 'nothing of the lost append was kept');
  });
});
