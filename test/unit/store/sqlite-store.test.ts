import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import { SQLITE_MIGRATIONS } from '../../../src/store/sqlite/migrations';
import {
  AlreadyExistsError,
  type LedgerEntry,
  type RelyingPartyRecord,
  type SigningKeyRecord,
  type Store,
  type UserRecord,
} from '../../../src/store/store';

const T0 = new Date('2030-01-01T00:00:00.123Z');

function user(name: string, extra: Partial<UserRecord> = {}): UserRecord {
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

function relyingParty(appliesTo: string, extra: Partial<RelyingPartyRecord> = {}): RelyingPartyRecord {
  return {
    appliesTo,
    displayName: `RP ${appliesTo}`,
    tokenLifetimeSeconds: 600,
    releasedClaims: ['http://claims/role', '*'],
    endpointUrl: 'https://app.example/acs',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    expiredRenewalWindowSeconds: 0,
    encryptionCertificatePem: null,
    tokenEncryption: 'aes256-cbc',
    delegates: [],
    audience: null,
    profile: 'generic',
    sessionDurationSeconds: null,
    createdAt: T0,
    ...extra,
  };
}

function ledgerEntry(tokenId: string): Omit<LedgerEntry, 'cancelledAt'> {
  return {
    tokenId,
    tokenType: 'urn:oasis:names:tc:SAML:2.0:assertion',
    subject: 'alice',
    audience: 'https://app.example/',
    keyThumbprint: 'ab'.repeat(32),
    digest: 'ZGlnZXN0',
    issuedAt: T0,
    notBefore: T0,
    notOnOrAfter: new Date(T0.getTime() + 600_000),
    requestId: 'req-1',
    renewedFrom: null,
    renewAllow: true,
    renewAfterExpiry: false,
    actor: null,
  };
}

function signingKey(thumbprint: string, createdAt: Date, state: SigningKeyRecord['state'] = 'active'): SigningKeyRecord {
  return { thumbprint, state, certificatePem: `-----BEGIN CERTIFICATE-----\n${thumbprint}\n`, sealedPrivateKey: 'v1.a.b.c', createdAt };
}

describe('store/sqlite openSqliteStore', () => {
  let dir: string;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-unit-store-'));
    path = join(dir, 'test.db');
    store = openSqliteStore(path);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

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

  describe('users', () => {
    it('add, get (every field round-trips), list in name order', async () => {
      await store.users.add(user('zed'));
      await store.users.add(user('alice', { sealedPassword: 'v1.x.y.z', claims: [] }));
      const zed = await store.users.get('zed');
      assert.deepEqual(zed, user('zed'));
      assert.deepEqual(await store.users.get('alice'), user('alice', { sealedPassword: 'v1.x.y.z', claims: [] }));
      assert.deepEqual((await store.users.list()).map((u) => u.name), ['alice', 'zed']);
    });

    it('get of an unknown name is undefined', async () => {
      assert.equal(await store.users.get('nobody'), undefined);
    });

    it('names are exact (case-sensitive, no trimming)', async () => {
      await store.users.add(user('Alice'));
      assert.equal(await store.users.get('alice'), undefined);
      assert.equal(await store.users.get('Alice '), undefined);
    });

    it('a duplicate name is AlreadyExistsError', async () => {
      await store.users.add(user('alice'));
      await assert.rejects(store.users.add(user('alice')), (err: unknown) => err instanceof AlreadyExistsError && /alice/.test(err.message));
    });
  });

  describe('relying parties', () => {
    it('add, get, list in AppliesTo order', async () => {
      await store.relyingParties.add(relyingParty('https://b.example/'));
      await store.relyingParties.add(relyingParty('https://a.example/', { endpointUrl: null, releasedClaims: [] }));
      assert.deepEqual(await store.relyingParties.get('https://b.example/'), relyingParty('https://b.example/'));
      assert.deepEqual(
        await store.relyingParties.get('https://a.example/'),
        relyingParty('https://a.example/', { endpointUrl: null, releasedClaims: [] }),
      );
      assert.deepEqual((await store.relyingParties.list()).map((r) => r.appliesTo), ['https://a.example/', 'https://b.example/']);
      assert.equal(await store.relyingParties.get('https://c.example/'), undefined);
    });

    it('a duplicate AppliesTo is AlreadyExistsError', async () => {
      await store.relyingParties.add(relyingParty('https://a.example/'));
      await assert.rejects(store.relyingParties.add(relyingParty('https://a.example/')), AlreadyExistsError);
    });
  });

  describe('issuance ledger', () => {
    it('record, get, count', async () => {
      assert.equal(await store.ledger.count(), 0);
      await store.ledger.record(ledgerEntry('_t1'));
      await store.ledger.record(ledgerEntry('_t2'));
      assert.equal(await store.ledger.count(), 2);
      const got = await store.ledger.get('_t1');
      assert.ok(got);
      for (const [k, v] of Object.entries(ledgerEntry('_t1'))) {
        assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, k);
      }
      assert.equal(got.cancelledAt, null);
      assert.equal(await store.ledger.get('_unknown'), undefined);
    });

    it('a duplicate token id is AlreadyExistsError and changes nothing', async () => {
      await store.ledger.record(ledgerEntry('_dup'));
      await assert.rejects(store.ledger.record({ ...ledgerEntry('_dup'), subject: 'mallory' }), AlreadyExistsError);
      assert.equal(await store.ledger.count(), 1);
      assert.equal((await store.ledger.get('_dup'))?.subject, 'alice');
    });

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

    it('a duplicate in a batch fails alone: the others of its batch are recorded', async () => {
      await store.ledger.record(ledgerEntry('_old'));
      const results = await Promise.allSettled([
        store.ledger.record(ledgerEntry('_b1')),
        store.ledger.record({ ...ledgerEntry('_old'), subject: 'mallory' }),
        store.ledger.record(ledgerEntry('_b2')),
        store.ledger.record(ledgerEntry('_b2')),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
      );
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError);
      assert.equal(await store.ledger.count(), 3);
      assert.equal((await store.ledger.get('_old'))?.subject, 'alice');
    });

    it('close() commits what is waiting before the database closes', async () => {
      const waiting = store.ledger.record(ledgerEntry('_last'));
      await store.close();
      await waiting;
      const db = new Database(path, { readonly: true });
      try {
        assert.ok(db.prepare('SELECT 1 FROM issuance_ledger WHERE token_id = ?').get('_last'));
      } finally {
        db.close();
      }
      store = openSqliteStore(path);
    });

    it('cancel: true once, false after, false for an unknown token', async () => {
      await store.ledger.record(ledgerEntry('_c'));
      const at = new Date(T0.getTime() + 1000);
      assert.equal(await store.ledger.cancel('_c', at), true);
      assert.equal(await store.ledger.cancel('_c', at), false);
      assert.equal(await store.ledger.cancel('_none', at), false);
      assert.deepEqual((await store.ledger.get('_c'))?.cancelledAt, at);
    });
  });

  describe('replay cache', () => {
    const later = (): Date => new Date(Date.now() + 60_000);

    it('rememberOnce: true the first time, false after', async () => {
      assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), true);
      assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), false);
      assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), false);
    });

    it('scopes are independent', async () => {
      assert.equal(await store.replay.rememberOnce('a', 'k', later()), true);
      assert.equal(await store.replay.rememberOnce('b', 'k', later()), true);
    });

    it('is shared by two connections to one file', async () => {
      const other = openSqliteStore(path);
      try {
        assert.equal(await store.replay.rememberOnce('nonce', 'shared', later()), true);
        assert.equal(await other.replay.rememberOnce('nonce', 'shared', later()), false);
        assert.equal(await other.replay.rememberOnce('nonce', 'other', later()), true);
        assert.equal(await store.replay.rememberOnce('nonce', 'other', later()), false);
      } finally {
        await other.close();
      }
    });

    it('expired entries are swept eventually (and then the key can be remembered again)', async () => {
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
      assert.equal(await store.replay.rememberOnce('nonce', 'old', later()), true);
    });
  });

  describe('signing keys', () => {
    it('add and list in creation order', async () => {
      await store.signingKeys.add(signingKey('bb', new Date(T0.getTime() + 1000), 'pending'));
      await store.signingKeys.add(signingKey('aa', T0, 'active'));
      const keys = await store.signingKeys.list();
      assert.deepEqual(keys.map((k) => k.thumbprint), ['aa', 'bb']);
      assert.deepEqual(keys[0], signingKey('aa', T0, 'active'));
      assert.equal(keys[1]?.state, 'pending');
    });

    it('a duplicate thumbprint is AlreadyExistsError', async () => {
      await store.signingKeys.add(signingKey('aa', T0));
      await assert.rejects(store.signingKeys.add(signingKey('aa', T0, 'retired')), AlreadyExistsError);
    });

    it('an unknown state is refused by the schema', async () => {
      await assert.rejects(store.signingKeys.add(signingKey('cc', T0, 'bogus' as SigningKeyRecord['state'])));
      assert.equal((await store.signingKeys.list()).length, 0);
    });
  });

  describe('migrations', () => {
    it('reopening an existing database keeps its data', async () => {
      await store.users.add(user('kept'));
      await store.close();
      store = openSqliteStore(path);
      assert.equal((await store.users.get('kept'))?.name, 'kept');
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
