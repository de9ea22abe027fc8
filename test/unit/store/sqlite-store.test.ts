import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditTrail } from '../../../src/audit/audit-trail';
import { WriteLockBusyError } from '../../../src/store/sqlite/immediate-write';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import { SQLITE_MIGRATIONS } from '../../../src/store/sqlite/migrations';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { certificateThumbprintSha256 } from '../../../src/keys/signing-key';
import type { AuditEvent, NewUserRecord, Store } from '../../../src/store/store';
import { expectUnkeyedPrefixThenKeyed, insertLedgerRows, TEST_LEDGER_TRUST, unkeyedChain } from '../../support/ledger-chain-key';
import { ledgerEntry, T0 } from '../../support/store-fixtures';

function user(name: string, extra: Partial<NewUserRecord> = {}): NewUserRecord {
  return {
    name,
    passwordHash: `scrypt$2$1$1$c2FsdA==$aGFzaA==`,
    sealedPassword: null,
    claims: [
      { name: 'http://claims/role', value: 'Staff' },
      { name: 'http://claims/role', value: 'Admin <&> "é"' },
    ],
    createdAt: T0,
    ...extra,
  };
}

/** An audit event as a request records it. */
function auditEvent(eventId: string): AuditEvent {
  return {
    eventId,
    eventTime: T0,
    eventName: 'Issue',
    eventSource: 'wstrust',
    requestId: null,
    sourceAddress: null,
    userAgent: null,
    principal: 'alice',
    requestParameters: null,
    responseElements: null,
    additionalEventData: null,
    errorCode: null,
    errorMessage: null,
    alert: null,
    severity: 'info',
  };
}

describe('store/sqlite openSqliteStore', () => {
  let dir: string;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-unit-store-'));
    path = join(dir, 'test.db');
    store = openSqliteStore(path, { ledgerTrust: TEST_LEDGER_TRUST });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The tests that hold another connection's write lock past the busy timeout reopen the store with
   * a short one, rather than wait out the default 5 s; the lock is held until the write has failed.
   */
  const SHORT_BUSY_TIMEOUT_MS = 400;
  const reopenWithShortBusyTimeout = async (): Promise<void> => {
    await store.close();
    store = openSqliteStore(path, { ledgerTrust: TEST_LEDGER_TRUST, busyTimeoutMs: SHORT_BUSY_TIMEOUT_MS });
  };
  /** Waited out the busy timeout once: not less, and not a second time. */
  const assertWaitedOneBusyTimeout = (waitedMs: number): void =>
    assert.ok(waitedMs >= SHORT_BUSY_TIMEOUT_MS - 10 && waitedMs < 2 * SHORT_BUSY_TIMEOUT_MS, `waited ${waitedMs} ms`);

  it('opens in WAL mode (checked from an independent connection)', () => {
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('also opens in memory', async () => {
    const memory = openSqliteStore(':memory:');
    await memory.users.add(user('m'));
    assert.equal((await memory.users.get('m'))?.name, 'm');
    await memory.close();
  });

  // The Store contract itself (every repository, on SQLite and PostgreSQL) is test/store/store-contract.ts;
  // what is here is particular to SQLite.
  describe('issuance ledger: group commit', () => {
    it('concurrent records are committed together after the turn that made them, each visible to another connection once its promise resolves', async () => {
      const other = new Database(path, { readonly: true });
      try {
        const countOther = (): number => (other.prepare('SELECT COUNT(*) AS n FROM issuance_ledger').get() as { n: number }).n;
        const ids = Array.from({ length: 6 }, (_, i) => `_g${i}`);
        const settled = ids.map((id) =>
          store.ledger.record(ledgerEntry(id)).then(() => {
            assert.ok(countOther() >= 1, `${id} resolved before its row was committed`);
            assert.ok(other.prepare('SELECT 1 FROM issuance_ledger WHERE token_id = ?').get(id), `${id} is committed when it resolves`);
          }),
        );
        assert.equal(countOther(), 0, 'nothing is written before the batch commits');
        await Promise.all(settled);
        assert.equal(countOther(), 6);
      } finally {
        other.close();
      }
    });

    it('a write lock held by another process past the busy timeout fails every waiting row once, together; the next record links to the chain as if nothing happened', async () => {
      await reopenWithShortBusyTimeout();
      await store.ledger.record(ledgerEntry('_before'));
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      let settled: string[];
      try {
        settled = await Promise.all(
          ['_w1', '_w2', '_w3'].map((id) => store.ledger.record(ledgerEntry(id)).then(() => 'ok', (err: { code?: string }) => String(err.code))),
        );
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      const waitedMs = Date.now() - started;
      assert.deepEqual(settled, ['SQLITE_BUSY', 'SQLITE_BUSY', 'SQLITE_BUSY']);
      // One busy timeout for the batch, not one per row retried alone.
      assertWaitedOneBusyTimeout(waitedMs);
      await store.ledger.record(ledgerEntry('_after'));
      const chained = await store.ledger.chain(0, 10);
      assert.deepEqual(chained.map((e) => e.tokenId), ['_before', '_after']);
      assert.equal(chained[1]?.previousHash, chained[0]?.entryHash);
    });
  });

  // Each of these writes once waited in SQLite's busy handler, asleep on the event loop: the timer
  // that releases the lock could not fire until the 5 s timeout, and the write failed SQLITE_BUSY.
  describe('writes on the request path wait for another process\'s write lock without stopping the event loop', () => {
    const whileLockedFor50Ms = async <T>(write: () => Promise<T>): Promise<{ result: T; tookMs: number }> => {
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      const release = setTimeout(() => locker.exec('COMMIT'), 50);
      try {
        const result = await write();
        return { result, tookMs: Date.now() - started };
      } finally {
        clearTimeout(release);
        if (locker.inTransaction) locker.exec('ROLLBACK');
        locker.close();
      }
    };

    it('the replay cache remembers a key once the lock is released', async () => {
      const { result, tookMs } = await whileLockedFor50Ms(() => store.replay.rememberOnce('nonce', 'k1', new Date(Date.now() + 60_000)));
      assert.equal(result, true);
      assert.ok(tookMs >= 45 && tookMs < 2000, `took ${tookMs} ms`);
      assert.equal(await store.replay.rememberOnce('nonce', 'k1', new Date(Date.now() + 60_000)), false, 'the key was stored');
    });

    it('the ledger commits a record once the lock is released, linked to the chain', async () => {
      await store.ledger.record(ledgerEntry('_unlocked'));
      const { tookMs } = await whileLockedFor50Ms(() => store.ledger.record(ledgerEntry('_locked')));
      assert.ok(tookMs >= 45 && tookMs < 2000, `took ${tookMs} ms`);
      const chained = await store.ledger.chain(0, 10);
      assert.deepEqual(chained.map((e) => e.tokenId), ['_unlocked', '_locked']);
      assert.equal(chained[1]?.previousHash, chained[0]?.entryHash);
    });

    it('the audit trail stores its batch once the lock is released', async () => {
      const { tookMs } = await whileLockedFor50Ms(() => store.audit.append([auditEvent('e-locked')]));
      assert.ok(tookMs >= 45 && tookMs < 2000, `took ${tookMs} ms`);
      assert.deepEqual((await store.audit.query({ limit: 10 })).map((e) => [e.eventId, e.principal]), [['e-locked', 'alice']]);
    });
  });

  describe('audit trail past the busy timeout', () => {
    const storedIds = async (): Promise<string[]> => (await store.audit.query({ limit: 10 })).map((e) => e.eventId);

    it('with another process holding the write lock past the busy timeout, a batch fails SQLITE_BUSY and stores none of its events; appended again once the lock is released, each is stored once, in order', async () => {
      await reopenWithShortBusyTimeout();
      await store.audit.append([auditEvent('e-before')]);
      const batch = ['e-1', 'e-2', 'e-3'].map(auditEvent);
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      let failure: unknown;
      try {
        failure = await store.audit.append(batch).then(
          () => undefined,
          (err: unknown) => err,
        );
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      const waitedMs = Date.now() - started;
      assert.ok(failure instanceof WriteLockBusyError, `failed with ${String(failure)}`);
      assert.equal(failure.code, 'SQLITE_BUSY');
      assertWaitedOneBusyTimeout(waitedMs);
      assert.deepEqual(await storedIds(), ['e-before'], 'part of the failed batch was stored');
      // The audit trail appends the same batch again (event ids need not be unique: a half-stored batch would now be there twice).
      await store.audit.append(batch);
      assert.deepEqual(await storedIds(), ['e-before', 'e-1', 'e-2', 'e-3']);
    });

    // Requests only record events; the trail stores them off the request's path (src/audit/audit-trail.ts),
    // so a request does not fail or wait when the store cannot take them: they must wait for it instead.
    it('through the audit trail: the events wait (filed, logged as not yet stored), and the next flush after the lock is released stores each once', async () => {
      await reopenWithShortBusyTimeout();
      const logs: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
      const file = join(dir, 'audit.jsonl');
      const trail = new AuditTrail({ repository: store.audit, file, logger: { log: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }) }, now: () => T0 });
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      let recorded: AuditEvent[];
      try {
        recorded = ['Issue', 'Validate'].map((eventName) => trail.record({ eventName, eventSource: 'wstrust', principal: 'alice' }));
        await trail.flush();
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      assert.deepEqual(await storedIds(), []);
      assert.deepEqual(logs, [
        {
          level: 'warn',
          msg: 'audit events not yet stored',
          fields: { waiting: 2, errorName: 'WriteLockBusyError', errorMessage: `database is locked: another process held the write lock for ${SHORT_BUSY_TIMEOUT_MS} ms` },
        },
      ]);
      const filedIds = (): string[] => readFileSync(file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { eventId: string }).eventId);
      assert.deepEqual(filedIds(), recorded.map((e) => e.eventId), 'the file has them already');

      await trail.close();
      assert.deepEqual(await storedIds(), recorded.map((e) => e.eventId));
      assert.deepEqual(filedIds(), recorded.map((e) => e.eventId), 'filed once');
      assert.equal(logs.length, 1);
    });
  });

  describe('replay cache', () => {
    const later = (): Date => new Date(Date.now() + 60_000);

    it('with another process holding the write lock past the busy timeout, remembering fails SQLITE_BUSY and stores nothing: the request fails rather than let a replay through', async () => {
      await reopenWithShortBusyTimeout();
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      let failure: unknown;
      try {
        failure = await store.replay.rememberOnce('assertion', 'k-busy', later()).then(
          () => undefined,
          (err: unknown) => err,
        );
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      assert.ok(failure instanceof WriteLockBusyError, `failed with ${String(failure)}`);
      assert.equal(failure.code, 'SQLITE_BUSY');
      assertWaitedOneBusyTimeout(Date.now() - started);
      assert.equal(await store.replay.rememberOnce('assertion', 'k-busy', later()), true, 'the key was not stored by the failed call');
    });

    it('expired entries are swept from the table after 500 inserts, live ones are kept', async () => {
      const past = new Date(Date.now() - 1000);
      assert.equal(await store.replay.rememberOnce('nonce', 'old', past), true);
      for (let i = 0; i < 1000; i++) await store.replay.rememberOnce('filler', `k${i}`, later());
      const db = new Database(path, { readonly: true });
      try {
        const row = db.prepare("SELECT COUNT(*) AS n FROM replay_cache WHERE scope = 'nonce' AND key = 'old'").get() as { n: number };
        assert.equal(row.n, 0, 'the expired entry is still there after 1000 inserts');
        const live = db.prepare("SELECT COUNT(*) AS n FROM replay_cache WHERE scope = 'filler'").get() as { n: number };
        assert.equal(live.n, 1000, 'a live entry was swept');
      } finally {
        db.close();
      }
    });
  });

  it('a value outside a CHECK constraint is SQLITE_CONSTRAINT_CHECK, not AlreadyExistsError', async () => {
    await assert.rejects(
      store.samlProviders.add({ name: 'Bad', entityId: 'https://bad.example/', certificates: [], replay: 'twice' as never, createdAt: T0 }),
      (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_CHECK',
    );
  });

  describe('migrations', () => {
    /** Replaces the test's database with one at schema `version`, holding the rows `fill` writes. */
    const databaseAtSchema = async (version: number, fill: (db: Database.Database) => void): Promise<void> => {
      await store.close();
      rmSync(path);
      const db = new Database(path);
      try {
        // Version 7 calls pem_sha256 (migrateSqlite registers it) on providers' certificates; there are none here.
        db.function('pem_sha256', (_pem: unknown) => '');
        for (const sql of SQLITE_MIGRATIONS.slice(0, version)) db.exec(sql);
        db.pragma(`user_version = ${version}`);
        fill(db);
      } finally {
        db.close();
      }
    };

    it('reopening an existing database keeps its data', async () => {
      await store.users.add(user('kept'));
      await store.close();
      store = openSqliteStore(path);
      assert.equal((await store.users.get('kept'))?.name, 'kept');
    });

    it('version 6 keeps the audit events of a version-5 database, in order, and lets two share an id', async () => {
      await databaseAtSchema(5, (old) => {
        const insert = old.prepare(
          `INSERT INTO audit_events (event_id, event_time, event_name, event_source, request_parameters, severity)
             VALUES (?, ?, ?, 'sts', ?, 'info')`,
        );
        insert.run('e1', T0.getTime(), 'Issue', '{"appliesTo":"urn:rp"}');
        insert.run('e2', T0.getTime(), 'Validate', null);
      });
      store = openSqliteStore(path);
      const events = await store.audit.query({ limit: 10 });
      assert.deepEqual(events.map((e) => [e.eventId, e.eventName, e.requestParameters]), [
        ['e1', 'Issue', { appliesTo: 'urn:rp' }],
        ['e2', 'Validate', null],
      ]);
      // No index on the random id any more (nothing looks an event up by it).
      await store.audit.append([{ ...events[0]!, eventName: 'Renew' }]);
      assert.equal((await store.audit.query({ limit: 10 })).length, 3);
    });

    it('version 7: the certificates of providers registered before become rows, active, with their SHA-256 thumbprints', async () => {
      const first = generateSelfSignedCertificate({ commonName: 'sqlite-migrated-1', validDays: 2 }).certificatePem;
      const second = generateSelfSignedCertificate({ commonName: 'sqlite-migrated-2', validDays: 2 }).certificatePem;
      await databaseAtSchema(5, (db) => {
        db.prepare('INSERT INTO saml_providers (name, entity_id, certificates, replay, created_at) VALUES (?, ?, ?, ?, ?)').run(
          'Partner', 'https://idp.partner.example/', JSON.stringify([second, first]), 'once', T0.getTime(),
        );
      });
      store = openSqliteStore(path);
      const thumbprint = (pem: string): string => certificateThumbprintSha256(new X509Certificate(pem).raw);
      assert.deepEqual(await store.samlProviders.get('Partner'), {
        name: 'Partner',
        entityId: 'https://idp.partner.example/',
        replay: 'once',
        createdAt: T0,
        certificates: [second, first].map((pem) => ({
          thumbprint: thumbprint(pem), certificatePem: pem, createdAt: T0, state: 'active', activateAt: null, retireAt: null, stateChangedAt: T0,
        })),
      });
    });

    it('version 8: users of a version-7 database keep everything and start with no failed logins', async () => {
      await databaseAtSchema(7, (db) => {
        db.prepare('INSERT INTO users (name, password_hash, sealed_password, claims, created_at) VALUES (?, ?, ?, ?, ?)').run(
          'veteran', 'scrypt$2$1$1$c2FsdA==$aGFzaA==', null, '[]', T0.getTime(),
        );
      });
      store = openSqliteStore(path);
      assert.deepEqual(await store.users.get('veteran'), { ...user('veteran', { claims: [] }), failedLogins: 0, lastFailedAt: null });
      assert.equal(await store.users.recordFailedLogin('veteran', T0, new Date(0)), 1);
    });

    it('version 9: ledger rows of a version-8 database are marked sha256 and verify as the unkeyed prefix; new rows are keyed after them', async () => {
      const legacy = unkeyedChain(['_old1', '_old2', '_old3'].map((id) => ledgerEntry(id)));
      await databaseAtSchema(8, (db) => insertLedgerRows(db, legacy));
      await expectUnkeyedPrefixThenKeyed(
        async (ledgerTrust) => (store = openSqliteStore(path, { ledgerTrust })),
        legacy,
        [ledgerEntry('_new1'), ledgerEntry('_new2')],
      );
    });

    it('a database from a newer version is refused', async () => {
      await store.close();
      const db = new Database(path);
      db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
      db.close();
      assert.throws(() => openSqliteStore(path), /newer/);
      store = openSqliteStore(':memory:'); // for afterEach
    });
  });
});
