import { strict as assert } from 'node:assert';
import { randomBytes, X509Certificate } from 'node:crypto';
import { Client } from 'pg';
import { runRolloverCheck } from '../../src/keys/key-rollover';
import { generateSigningKey } from '../../src/keys/key-material';
import { sealedCustody } from '../../src/keys/sealed-custody';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import { ADVISORY_LOCK_SPACE, LEDGER_APPEND_LOCK } from '../../src/store/postgres/advisory-locks';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/postgres-store';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations';
import { MAX_SAML_PROVIDER_CERTIFICATES, type AddCertificateResult, type Store } from '../../src/store/store';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { freePort } from '../support/unit-cli';
import { endSessionHoldingExclusiveTaskLock, exclusiveTaskLockHolders } from '../support/exclusive-task-lock';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { expectUnkeyedPrefixThenKeyed, TEST_LEDGER_TRUST, unkeyedChain } from '../support/ledger-chain-key';
import { ledgerEntry, providerCertificate } from '../support/store-fixtures';
import { until } from '../support/until';

// What is particular to PostgreSQL: migrations under a lock, native column types, the guards the
// database keeps beyond the contract, the pool, and connection failures that keep the password out.
describe('store/postgres openPostgresStore', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  const stores: Store[] = [];
  const options = (extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
    connection: parsePostgresUrl(db.url),
    password: db.password,
    poolSize: 4,
    ledgerTrust: TEST_LEDGER_TRUST,
    ...extra,
  });
  const open = async (extra: Partial<PostgresStoreOptions> = {}): Promise<Store> => {
    const s = await openPostgresStore(options(extra));
    stores.push(s);
    return s;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await db.drop();
  });

  describe('migrations', () => {
    it('four nodes starting together on an empty database: each opens, each version is applied once', async () => {
      const opened = await Promise.all([open(), open(), open(), open()]);
      assert.equal(opened.length, 4);
      const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((_, i) => i + 1));
      await opened[0]?.users.add({ name: 'u', passwordHash: 'h', sealedPassword: null, claims: [], createdAt: new Date() });
      assert.equal((await opened[3]?.users.get('u'))?.name, 'u');
    });

    it('reopening applies nothing again and keeps the data', async () => {
      const first = await open();
      await first.ledger.record({
        tokenId: '_kept', tokenType: 't', subject: 's', audience: 'a', keyThumbprint: 'k', digest: 'd', issuedAt: new Date(),
        notBefore: new Date(), notOnOrAfter: new Date(), requestId: 'r', renewedFrom: null, renewAllow: true, renewAfterExpiry: false, actor: null,
      });
      await first.close();
      const second = await open();
      assert.equal(await second.ledger.count(), 1);
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      assert.equal(Number(rows[0]?.n), POSTGRES_MIGRATIONS.length);
    });

    it('version 3: the certificates of providers registered before become rows, active, with their SHA-256 thumbprints', async () => {
      const first = generateSelfSignedCertificate({ commonName: 'pg-migrated-1', validDays: 2 }).certificatePem;
      const second = generateSelfSignedCertificate({ commonName: 'pg-migrated-2', validDays: 2 }).certificatePem;
      const created = new Date('2030-01-01T00:00:00.123Z');
      await db.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      await db.query(POSTGRES_MIGRATIONS[0] ?? '');
      await db.query('INSERT INTO schema_migrations (version) VALUES (1)');
      await db.query('INSERT INTO saml_providers (name, entity_id, certificates, replay, created_at) VALUES ($1, $2, $3, $4, $5)', [
        'Partner', 'https://idp.partner.example/', JSON.stringify([second, first]), 'once', created,
      ]);
      const store = await open();
      const migrated = await store.samlProviders.get('Partner');
      const thumbprint = (pem: string): string => certificateThumbprintSha256(new X509Certificate(pem).raw);
      assert.deepEqual(migrated, {
        name: 'Partner',
        entityId: 'https://idp.partner.example/',
        replay: 'once',
        createdAt: created,
        certificates: [second, first].map((pem) => ({
          thumbprint: thumbprint(pem), certificatePem: pem, createdAt: created, state: 'active', activateAt: null, retireAt: null, stateChangedAt: created,
        })),
      });
    });

    it('version 4: users of a version-3 database keep everything and start with no failed logins', async () => {
      const created = new Date('2030-01-01T00:00:00.123Z');
      await db.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 3).entries()) {
        await db.query(sql);
        await db.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
      }
      await db.query('INSERT INTO users (name, password_hash, sealed_password, claims, created_at) VALUES ($1, $2, $3, $4, $5)', [
        'veteran', 'h', null, '[{"name":"role","value":"Staff"}]', created,
      ]);
      const store = await open();
      assert.deepEqual(await store.users.get('veteran'), {
        name: 'veteran', passwordHash: 'h', sealedPassword: null, claims: [{ name: 'role', value: 'Staff' }], createdAt: created, failedLogins: 0, lastFailedAt: null,
      });
      assert.equal(await store.users.recordFailedLogin('veteran', created, new Date(0)), 1);
    });

    it('version 5: ledger rows of a version-4 database are marked sha256 and verify as the unkeyed prefix; new rows are keyed after them', async () => {
      await db.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 4).entries()) {
        await db.query(sql);
        await db.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
      }
      const legacy = unkeyedChain(['_old1', '_old2', '_old3'].map((id) => ledgerEntry(id)));
      for (const e of legacy) {
        await db.query(
          `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
             not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor, sequence, previous_hash, entry_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
          [e.tokenId, e.tokenType, e.subject, e.audience, e.keyThumbprint, e.digest, e.issuedAt, e.notBefore, e.notOnOrAfter, e.requestId,
            e.renewedFrom, e.renewAllow, e.renewAfterExpiry, e.actor, e.sequence, e.previousHash, e.entryHash],
        );
      }
      await expectUnkeyedPrefixThenKeyed((ledgerTrust) => open({ ledgerTrust }), legacy, [ledgerEntry('_new1'), ledgerEntry('_new2')]);
      await assert.rejects(
        db.query(`INSERT INTO issuance_ledger (token_id, sequence, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
             not_on_or_after, request_id, renew_allow, renew_after_expiry, previous_hash, entry_hash)
           SELECT '_schemeless', 99, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
             not_on_or_after, request_id, renew_allow, renew_after_expiry, previous_hash, entry_hash FROM issuance_ledger WHERE sequence = 1`),
        /null value in column "hash_scheme"/,
        'the default only filled the rows already there',
      );
    });

    it('a database from a newer Trustbridge is refused, naming the database but not the password', async () => {
      await (await open()).close();
      await db.query('INSERT INTO schema_migrations (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length + 1]);
      await assert.rejects(openPostgresStore(options()), (err: Error) => {
        assert.match(err.message, /newer than this Trustbridge understands/);
        assert.ok(err.message.includes(db.url), err.message);
        assert.ok(!err.message.includes(db.password));
        return true;
      });
    });
  });

  it('columns have PostgreSQL types: timestamptz, boolean, jsonb, bigint for the chain sequence', async () => {
    await open();
    const { rows } = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const type = (table: string, column: string): string | undefined => rows.find((r) => r.table_name === table && r.column_name === column)?.data_type;
    assert.equal(type('issuance_ledger', 'sequence'), 'bigint');
    assert.equal(type('issuance_ledger', 'issued_at'), 'timestamp with time zone');
    assert.equal(type('issuance_ledger', 'renew_allow'), 'boolean');
    assert.equal(type('users', 'claims'), 'jsonb');
    assert.equal(type('relying_parties', 'delegates'), 'jsonb');
    assert.equal(type('saml_provider_certificates', 'activate_at'), 'timestamp with time zone');
    assert.equal(type('saml_providers', 'certificates'), undefined, 'certificates have their own table since version 3');
    assert.equal(type('signing_keys', 'activated_at'), 'timestamp with time zone');
    assert.equal(type('audit_events', 'request_parameters'), 'json');
    assert.equal(type('users', 'failed_logins'), 'integer');
    assert.equal(type('users', 'last_failed_at'), 'timestamp with time zone');
  });

  describe('the ledger beyond the contract', () => {
    const entry = (tokenId: string) => ({
      tokenId, tokenType: 't', subject: 's', audience: 'a', keyThumbprint: 'k', digest: 'd', issuedAt: new Date(),
      notBefore: new Date(), notOnOrAfter: new Date(), requestId: 'r', renewedFrom: null, renewAllow: true, renewAfterExpiry: false, actor: null,
    });

    it('appends wait while another session holds the append lock (another node mid-append), then chain on after its row', async () => {
      const store = await open();
      await store.ledger.record(entry('_first'));
      const other = new Client({ host: db.host, port: db.port, database: db.name, user: db.user, password: db.password });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_SPACE, LEDGER_APPEND_LOCK]);
        let settled = false;
        const waiting = store.ledger.record(entry('_waits')).finally(() => (settled = true));
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(settled, false, 'the append did not wait for the lock');
        await other.query('COMMIT');
        await waiting;
      } finally {
        await other.end();
      }
      assert.deepEqual((await store.ledger.chain(0, 10)).map((e) => [e.sequence, e.tokenId]), [[1, '_first'], [2, '_waits']]);
    });

    it('TRUNCATE is refused', async () => {
      const store = await open();
      await store.ledger.record(entry('_t'));
      await assert.rejects(db.query('TRUNCATE issuance_ledger'), /append-only/);
      assert.equal(await store.ledger.count(), 1);
    });

    it('a row written around the store that reuses a sequence number is refused (no fork, even without the lock)', async () => {
      const store = await open();
      await store.ledger.record(entry('_a'));
      await assert.rejects(
        db.query(
          `INSERT INTO issuance_ledger (token_id, sequence, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
             not_on_or_after, request_id, renew_allow, renew_after_expiry, previous_hash, entry_hash, hash_scheme)
           SELECT '_forged', sequence, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
             not_on_or_after, request_id, renew_allow, renew_after_expiry, previous_hash, entry_hash, hash_scheme FROM issuance_ledger WHERE token_id = '_a'`,
        ),
        /duplicate key value violates unique constraint "issuance_ledger_sequence_key"/,
      );
    });
  });

  it('a certificate added while another node removes its provider: no-provider once the removal commits, no row left without its provider', async () => {
    const store = await open();
    const at = new Date();
    await store.samlProviders.add({ name: 'Partner', entityId: 'https://partner.example/saml', certificates: [], replay: 'once', createdAt: at });
    const certificate = providerCertificate('dd'.repeat(32), { state: 'pending', createdAt: at, stateChangedAt: at });
    const other = new Client({ host: db.host, port: db.port, database: db.name, user: db.user, password: db.password });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`DELETE FROM saml_providers WHERE name = 'Partner'`);
      // The addition waits for the provider's row, which the uncommitted removal holds.
      const adding = store.samlProviders.addCertificate('Partner', certificate);
      await untilLockWaiters(db, 1, 'addCertificate waiting for the removal holding the provider row');
      await other.query('COMMIT');
      assert.deepEqual(await adding, { outcome: 'no-provider' });
    } finally {
      await other.end();
    }
    assert.equal(await store.samlProviders.get('Partner'), undefined);
    assert.equal(await store.samlProviders.getCertificate('Partner', certificate.thumbprint), undefined);
    assert.deepEqual((await db.query('SELECT provider, thumbprint FROM saml_provider_certificates')).rows, []);
  });

  it(`two nodes adding a provider's ${MAX_SAML_PROVIDER_CERTIFICATES}th certificate at the same moment: one is added, the other is told limit-reached`, async () => {
    const [a, b] = [await open(), await open()];
    const at = new Date();
    const certificate = (thumbprint: string) => providerCertificate(thumbprint, { state: 'pending', createdAt: at, stateChangedAt: at });
    const nine = Array.from({ length: MAX_SAML_PROVIDER_CERTIFICATES - 1 }, (_, i) => certificate(`${i}`.repeat(64)));
    await a!.samlProviders.add({ name: 'Partner', entityId: 'https://partner.example/saml', certificates: nine, replay: 'once', createdAt: at });
    // A third session holds the provider's row, so both additions start and wait before either counts;
    // released, they run as close together as the database lets them.
    const gate = new Client({ host: db.host, port: db.port, database: db.name, user: db.user, password: db.password });
    await gate.connect();
    let results: AddCertificateResult[] = [];
    try {
      await gate.query('BEGIN');
      await gate.query(`SELECT 1 FROM saml_providers WHERE name = 'Partner' FOR UPDATE`);
      const adding = Promise.all([
        a!.samlProviders.addCertificate('Partner', certificate('a'.repeat(64))),
        b!.samlProviders.addCertificate('Partner', certificate('b'.repeat(64))),
      ]);
      await untilLockWaiters(db, 2, "both additions waiting for the provider's row");
      await gate.query('COMMIT');
      results = await adding;
    } finally {
      await gate.end();
    }
    assert.deepEqual(
      results.map((r) => r.outcome).sort(),
      ['added', 'limit-reached'],
      JSON.stringify(results),
    );
    assert.deepEqual(results.find((r) => r.outcome === 'limit-reached'), { outcome: 'limit-reached', certificates: MAX_SAML_PROVIDER_CERTIFICATES });
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM saml_provider_certificates WHERE provider = 'Partner'`);
    assert.equal(rows[0]?.n, MAX_SAML_PROVIDER_CERTIFICATES);
  });

  it('keeps at most poolSize connections, however many requests wait', async () => {
    const store = await open({ poolSize: 2 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.users.get(`u${i}`)));
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'trustbridge'`,
    );
    assert.ok(Number(rows[0]?.n) <= 2, `${rows[0]?.n} connections`);
    assert.ok(Number(rows[0]?.n) >= 1);
  });

  it('connections the server drops (a PostgreSQL restart) are reported and replaced: the next operations succeed', async () => {
    const idleErrors: Error[] = [];
    const store = await open({ onIdleError: (err) => idleErrors.push(err) });
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.replay.rememberOnce('warm', `k${i}`, new Date(Date.now() + 60_000))));
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'trustbridge'`,
    );
    const dropped = rows[0]?.n ?? 0;
    assert.ok(dropped >= 1);
    await until(() => idleErrors.length >= dropped, `${dropped} dropped connections reported`, 5000);
    assert.equal(idleErrors.length, dropped, 'each dropped connection is reported (and so taken out of the pool)');
    assert.equal(await store.replay.rememberOnce('warm', 'k0', new Date(Date.now() + 60_000)), false, 'the cache survived');
    await store.ledger.record(ledgerEntry('_after'));
    assert.equal((await store.ledger.get('_after'))?.tokenId, '_after');
  });

  describe('exclusive tasks (chores every node schedules)', () => {
    it('a second node finds the task running and skips it; once it ends, the task runs again', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const first = a!.exclusive('key-rollover', async () => {
        started();
        await held;
      });
      await running;
      let ranOnB = false;
      assert.equal(await b!.exclusive('key-rollover', async () => void (ranOnB = true)), false);
      assert.equal(ranOnB, false);
      release();
      assert.equal(await first, true);
      assert.equal(await b!.exclusive('key-rollover', async () => void (ranOnB = true)), true);
      assert.equal(ranOnB, true);
    });

    it('a task that throws releases the lock and its error reaches the caller', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      await assert.rejects(a!.exclusive('key-rollover', async () => Promise.reject(new Error('chore failed'))), /chore failed/);
      assert.equal(await b!.exclusive('key-rollover', async () => undefined), true);
    });

    const rolloverLockHolders = (): Promise<number[]> => exclusiveTaskLockHolders(db, 'key-rollover');
    const endSessionHoldingRolloverLock = (): Promise<void> => endSessionHoldingExclusiveTaskLock(db, 'key-rollover');

    it('the unlock failing (the holder\'s session ended under it): the task\'s work stands, the failure is reported once, the lock is free, the pool serves on', async () => {
      const unlockErrors: Array<[string, Error]> = [];
      const idleErrors: Error[] = [];
      const [a, b] = await Promise.all([open({ onUnlockError: (task, err) => unlockErrors.push([task, err]), onIdleError: (err) => idleErrors.push(err) }), open()]);
      const expires = new Date(Date.now() + 60_000);
      const ran = await a!.exclusive('key-rollover', async () => {
        // The task's work, committed through the pool's other connections.
        assert.equal(await a!.replay.rememberOnce('chore', 'done', expires), true);
        await endSessionHoldingRolloverLock();
      });
      assert.equal(ran, true, 'the task ran; its outcome is not turned into a failure');
      assert.equal(unlockErrors.length, 1);
      const [task, err] = unlockErrors[0]!;
      assert.equal(task, 'key-rollover');
      assert.ok(err instanceof Error);
      assert.match(err.message, /terminat|Connection|not queryable/i);
      assert.ok(!err.message.includes(db.password) && !String(err.stack).includes(db.password), 'no password');
      assert.equal(await b!.replay.rememberOnce('chore', 'done', expires), false, 'the work is in the database');
      assert.deepEqual(await rolloverLockHolders(), [], 'nobody holds the lock');
      let ranOnB = false;
      assert.equal(await b!.exclusive('key-rollover', async () => void (ranOnB = true)), true);
      assert.equal(ranOnB, true, 'another node takes the lock at once');
      assert.equal(await a!.exclusive('key-rollover', async () => undefined), true, 'and so does this one: the broken connection was not pooled');
      assert.equal(unlockErrors.length, 1, 'a clean unlock reports nothing');
      assert.equal(await a!.replay.rememberOnce('chore', 'after', expires), true);
    });

    it('a task that throws and whose unlock fails: the task\'s error reaches the caller, the unlock failure is reported beside it', async () => {
      const unlockErrors: Error[] = [];
      const [a, b] = await Promise.all([open({ onUnlockError: (_, err) => unlockErrors.push(err) }), open()]);
      await assert.rejects(
        a!.exclusive('key-rollover', async () => {
          await endSessionHoldingRolloverLock();
          throw new Error('chore failed');
        }),
        /^Error: chore failed$/,
      );
      assert.equal(unlockErrors.length, 1);
      assert.equal(await b!.exclusive('key-rollover', async () => undefined), true);
    });

    it('two nodes running the key rollover check at the same moment generate one pending key, not two', async () => {
      const nodes = await Promise.all([open(), open(), open()]);
      const custody = sealedCustody(randomBytes(32));
      const first = await generateSigningKey(nodes[0]!.signingKeys, custody, { state: 'active', validDays: 30 });
      const settings = { enabled: true, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 };
      const now = new Date(Date.now() + 11 * 24 * 3600 * 1000);
      const outcomes = await Promise.all(
        nodes.map((store) => runRolloverCheck({ store, custody: () => custody, settings, clockSkewSeconds: 300, now })),
      );
      assert.equal(outcomes.flat().filter((o) => o.action.kind === 'generate' && o.done).length, 1);
      const keys = await nodes[1]!.signingKeys.list();
      assert.deepEqual(keys.map((k) => k.state).sort(), ['active', 'pending']);
      assert.ok(keys.some((k) => k.thumbprint === first.thumbprint && k.state === 'active'));
    });
  });

  describe('connection failures name the database and never the password', () => {
    it('a wrong password', async () => {
      const wrong = 'not-the-password-Xq9';
      await assert.rejects(openPostgresStore(options({ password: wrong })), (err: Error) => {
        assert.match(err.message, /^cannot open the PostgreSQL store postgres:\/\/trustbridge_test@127\.0\.0\.1:\d+\/\w+: password authentication failed/);
        assert.ok(!err.message.includes(wrong));
        return true;
      });
    });

    it('nothing listening at the address', async () => {
      const port = await freePort();
      const started = Date.now();
      await assert.rejects(
        openPostgresStore({ ...options(), connection: parsePostgresUrl(`postgres://sts@127.0.0.1:${port}/none`) }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`^cannot open the PostgreSQL store postgres://sts@127\\.0\\.0\\.1:${port}/none: .*ECONNREFUSED`));
          assert.ok(!err.message.includes(db.password));
          return true;
        },
      );
      assert.ok(Date.now() - started < 5000);
    });

    it('a database that does not exist', async () => {
      const url = db.url.replace(/\/\w+$/, '/no_such_database');
      await assert.rejects(openPostgresStore({ ...options(), connection: parsePostgresUrl(url) }), /database "no_such_database" does not exist/);
    });
  });
});

/** Waits (5 s at most) until `n` of the store's sessions wait for a lock, e.g. a row another session holds. */
async function untilLockWaiters(db: TestDatabase, n: number, what: string): Promise<void> {
  await until(async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'trustbridge' AND wait_event_type = 'Lock'`,
    );
    return (rows[0]?.n ?? 0) >= n;
  }, `${what} (${n} sessions waiting for a lock)`, 5000);
}
