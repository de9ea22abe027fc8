// The Store contract (src/store/store.ts), written once and run against every implementation:
// sqlite-store.contract.test.ts and postgres-store.contract.test.ts. Each test gets a fresh, empty
// database; `open()` gives another store on it, as another worker process or node would have.
import { strict as assert } from 'node:assert';
import { LEDGER_GENESIS_HASH, ledgerEntryHash, verifyLedgerChain, type LedgerTrust } from '../../src/store/ledger-chain';
import {
  AlreadyExistsError,
  MAX_SAML_PROVIDER_CERTIFICATES,
  SecondActiveKeyError,
  type AuditEvent,
  type AwsRoleRecord,
  type RelyingPartyRecord,
  type SamlProviderRecord,
  type SigningKeyRecord,
  type Store,
  type TrustedIssuerPin,
  type UserRecord,
} from '../../src/store/store';
import { TEST_LEDGER_CHAIN_KEY, TEST_LEDGER_TRUST } from '../support/ledger-chain-key';
import { ledgerEntry, providerCertificate, T0 } from '../support/store-fixtures';

/** One test's database. */
export interface StoreHarness {
  /**
   * Opens a store on this database (migrating it on first open), its ledger trusted with this chain
   * key and unkeyed count (none: it cannot append to the ledger); the contract closes what it opens.
   */
  open(ledgerTrust?: LedgerTrust): Promise<Store>;
  /** Runs one SQL statement directly on the database, outside any store; resolves to the rows it changed. */
  exec(sql: string): Promise<number>;
  /** Drops the ledger's append-only triggers, as anyone who administers the database can. */
  liftLedgerGuards(): Promise<void>;
  /**
   * Makes the database remove a SAML provider (with its certificates) whenever a certificate is about
   * to be inserted for it: a removal that lands after addCertificate has found the provider and before
   * the row's foreign key is checked (a trigger, as SQLite runs no two writes at once).
   */
  removeProviderBeforeCertificateInsert(): Promise<void>;
  /** Makes the database refuse every DELETE from `table` (a trigger), as it does for a role without the privilege. */
  refuseDeletesFrom(table: string): Promise<void>;
  /** Removes the database (after every store on it is closed). */
  dispose(): Promise<void>;
}

const at = (ms: number): Date => new Date(T0.getTime() + ms);
const later = (): Date => new Date(Date.now() + 60_000);

const user = (name: string, extra: Partial<UserRecord> = {}): UserRecord => ({
  name,
  passwordHash: 'scrypt$2$1$1$c2FsdA==$aGFzaA==',
  sealedPassword: null,
  claims: [
    { name: 'http://claims/role', value: 'Staff' },
    { name: 'http://claims/role', value: 'Admin <&> "é" \u{1F511}' },
  ],
  createdAt: T0,
  failedLogins: 0,
  lastFailedAt: null,
  ...extra,
});

const relyingParty = (appliesTo: string, extra: Partial<RelyingPartyRecord> = {}): RelyingPartyRecord => ({
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
});

const signingKey = (thumbprint: string, state: SigningKeyRecord['state'], createdAt = T0): SigningKeyRecord => ({
  thumbprint,
  state,
  certificatePem: `-----BEGIN CERTIFICATE-----\n${thumbprint}\n-----END CERTIFICATE-----\n`,
  sealedPrivateKey: 'v1.a.b.c',
  createdAt,
});

const pin = (thumbprint: string, extra: Partial<TrustedIssuerPin> = {}): TrustedIssuerPin => ({
  issuer: 'https://idp.partner.example/',
  ...providerCertificate(thumbprint),
  ...extra,
});

const provider = (name: string, extra: Partial<SamlProviderRecord> = {}): SamlProviderRecord => ({
  name,
  entityId: `https://${name.toLowerCase()}.example/saml`,
  // Not in thumbprint order, to show the order added is kept.
  certificates: [providerCertificate('cc'), providerCertificate('aa', { state: 'pending', activateAt: at(100), retireAt: at(200) })],
  replay: 'once-per-role',
  createdAt: T0,
  ...extra,
});

const role = (name: string, extra: Partial<AwsRoleRecord> = {}): AwsRoleRecord => ({
  name,
  roleId: `AROA${name.toUpperCase().padEnd(17, 'X').slice(0, 17)}`,
  trustPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/P"},"Action":"sts:AssumeRoleWithSAML"}]}',
  maxSessionDurationSeconds: 3600,
  permissionsPolicy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}',
  createdAt: T0,
  ...extra,
});

let eventCounter = 0;
const auditEvent = (extra: Partial<AuditEvent> = {}): AuditEvent => ({
  eventId: `evt-${++eventCounter}`,
  eventTime: T0,
  eventName: 'Issue',
  eventSource: 'wstrust',
  requestId: 'req-1',
  sourceAddress: '192.0.2.1',
  userAgent: 'WCF/4.8',
  principal: 'alice',
  requestParameters: { appliesTo: 'https://app.example/', nested: { list: [1, 'two', null, true], empty: {} } },
  responseElements: { tokenId: '_abc' },
  additionalEventData: null,
  errorCode: null,
  errorMessage: null,
  alert: null,
  severity: 'info',
  ...extra,
});

/** The whole Store contract against one implementation; `fresh` makes an empty database per test. */
export function describeStoreContract(kind: string, fresh: () => Promise<StoreHarness>): void {
  describe(`store contract: ${kind}`, function () {
    this.timeout(60_000);
    let harness: StoreHarness;
    let opened: Store[];
    let store: Store;
    /** Another store on the same database: what a second worker or node sees. */
    const another = async (): Promise<Store> => {
      const s = await harness.open(TEST_LEDGER_TRUST);
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      harness = await fresh();
      opened = [];
      store = await another();
    });
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await harness.dispose();
    });

    it('ping resolves on an open store', async () => {
      await store.ping();
    });

    describe('users', () => {
      it('add, get (every field round-trips), list in byte order of the name', async () => {
        await store.users.add(user('alice', { sealedPassword: 'v1.x.y.z', claims: [] }));
        await store.users.add(user('Zed'));
        await store.users.add(user('émile'));
        assert.deepEqual(await store.users.get('Zed'), user('Zed'));
        assert.deepEqual(await store.users.get('alice'), user('alice', { sealedPassword: 'v1.x.y.z', claims: [] }));
        assert.deepEqual((await store.users.list()).map((u) => u.name), ['Zed', 'alice', 'émile']);
      });

      it('get of an unknown name is undefined; names are exact (case, spaces)', async () => {
        await store.users.add(user('Alice'));
        assert.equal(await store.users.get('nobody'), undefined);
        assert.equal(await store.users.get('alice'), undefined);
        assert.equal(await store.users.get('Alice '), undefined);
      });

      it('a duplicate name is AlreadyExistsError naming it, and the first stays as it was', async () => {
        await store.users.add(user('alice'));
        await assert.rejects(store.users.add(user('alice', { passwordHash: 'other' })), (err: unknown) => {
          assert.ok(err instanceof AlreadyExistsError);
          assert.equal(err.message, 'user alice already exists');
          return true;
        });
        assert.deepEqual(await store.users.get('alice'), user('alice'));
      });

      it('what one store adds, another sees', async () => {
        const other = await another();
        await store.users.add(user('shared'));
        assert.deepEqual(await other.users.get('shared'), user('shared'));
      });

      describe('failed logins (the extranet lockout\'s count)', () => {
        // A windowStart earlier than every failure below: the count only ever grows.
        const NO_RESTART = new Date(0);
        it('recordFailedLogin counts one more each time, stamps the time and resolves to the new count; get and list show it', async () => {
          await store.users.add(user('alice'));
          await store.users.add(user('bob'));
          assert.equal(await store.users.recordFailedLogin('alice', at(1000), NO_RESTART), 1);
          assert.equal(await store.users.recordFailedLogin('alice', at(2000), NO_RESTART), 2);
          assert.deepEqual(await store.users.get('alice'), user('alice', { failedLogins: 2, lastFailedAt: at(2000) }));
          assert.deepEqual(await store.users.list(), [user('alice', { failedLogins: 2, lastFailedAt: at(2000) }), user('bob')]);
        });

        it('the latest time is kept when an earlier failure is written after a later one', async () => {
          await store.users.add(user('alice'));
          await store.users.recordFailedLogin('alice', at(5000), NO_RESTART);
          assert.equal(await store.users.recordFailedLogin('alice', at(3000), NO_RESTART), 2);
          assert.deepEqual((await store.users.get('alice'))?.lastFailedAt, at(5000));
        });

        it('an unknown user (names are exact) resolves to undefined and nothing is written', async () => {
          await store.users.add(user('alice'));
          assert.equal(await store.users.recordFailedLogin('nobody', at(1000), NO_RESTART), undefined);
          assert.equal(await store.users.recordFailedLogin('Alice', at(1000), NO_RESTART), undefined);
          assert.deepEqual(await store.users.list(), [user('alice')]);
        });

        it('clearFailedLogins forgets one user\'s count and time, and no other\'s; an unknown or clean user is fine', async () => {
          await store.users.add(user('alice'));
          await store.users.add(user('bob'));
          await store.users.add(user('carol'));
          await store.users.recordFailedLogin('alice', at(1000), NO_RESTART);
          await store.users.recordFailedLogin('bob', at(2000), NO_RESTART);
          await store.users.clearFailedLogins('alice');
          await store.users.clearFailedLogins('carol');
          await store.users.clearFailedLogins('nobody');
          assert.deepEqual(await store.users.list(), [user('alice'), user('bob', { failedLogins: 1, lastFailedAt: at(2000) }), user('carol')]);
          assert.equal(await store.users.recordFailedLogin('alice', at(3000), NO_RESTART), 1, 'counting starts again from nothing');
        });

        it('a wrong password whose predecessor came at or before windowStart starts the count again from 1', async () => {
          await store.users.add(user('alice'));
          await store.users.recordFailedLogin('alice', at(1000), NO_RESTART);
          assert.equal(await store.users.recordFailedLogin('alice', at(2000), at(999)), 2, 'the last one (at 1000) is after 999: counted on');
          assert.equal(await store.users.recordFailedLogin('alice', at(9000), at(2000)), 1, 'the last one (at 2000) is not after 2000: counted afresh');
          assert.deepEqual(await store.users.get('alice'), user('alice', { failedLogins: 1, lastFailedAt: at(9000) }));
        });

        it('counts from stores on one database add up, none lost when they race (an atomic increment)', async () => {
          const other = await another();
          await store.users.add(user('alice'));
          const counts = await Promise.all(
            Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? store : other).users.recordFailedLogin('alice', at(i), NO_RESTART)),
          );
          assert.deepEqual([...counts].sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 30 }, (_, i) => i + 1), 'each count handed out once');
          assert.deepEqual(await other.users.get('alice'), user('alice', { failedLogins: 30, lastFailedAt: at(29) }));
        });
      });
    });

    describe('relying parties', () => {
      const full = relyingParty('https://full.example/', {
        releasedClaims: [],
        endpointUrl: null,
        expiredRenewalWindowSeconds: 600,
        encryptionCertificatePem: '-----BEGIN CERTIFICATE-----\nENC\n-----END CERTIFICATE-----\n',
        tokenEncryption: 'aes256-gcm',
        delegates: ['svc-frontend', 'svc-batch'],
        audience: 'https://signin.aws.amazon.com/saml',
        profile: 'aws',
        sessionDurationSeconds: 3600,
      });

      it('add, get (every field round-trips), list in AppliesTo order', async () => {
        await store.relyingParties.add(relyingParty('https://b.example/'));
        await store.relyingParties.add(full);
        await store.relyingParties.add(relyingParty('URN:upper'));
        assert.deepEqual(await store.relyingParties.get('https://b.example/'), relyingParty('https://b.example/'));
        assert.deepEqual(await store.relyingParties.get('https://full.example/'), full);
        assert.deepEqual((await store.relyingParties.list()).map((r) => r.appliesTo), ['URN:upper', 'https://b.example/', 'https://full.example/']);
        assert.equal(await store.relyingParties.get('https://c.example/'), undefined);
      });

      it('a duplicate AppliesTo is AlreadyExistsError and leaves the first', async () => {
        await store.relyingParties.add(relyingParty('https://a.example/'));
        await assert.rejects(store.relyingParties.add(relyingParty('https://a.example/', { displayName: 'other' })), (err: unknown) => {
          assert.ok(err instanceof AlreadyExistsError);
          assert.equal(err.message, 'relying party https://a.example/ already exists');
          return true;
        });
        assert.equal((await store.relyingParties.get('https://a.example/'))?.displayName, 'RP https://a.example/');
      });

      it('an unknown token encryption or profile is refused by the database, and nothing is stored', async () => {
        await assert.rejects(store.relyingParties.add(relyingParty('https://x.example/', { tokenEncryption: 'des' as never })), (err: unknown) => !(err instanceof AlreadyExistsError));
        await assert.rejects(store.relyingParties.add(relyingParty('https://y.example/', { profile: 'gcp' as never })), (err: unknown) => !(err instanceof AlreadyExistsError));
        assert.deepEqual(await store.relyingParties.list(), []);
      });
    });

    describe('issuance ledger', () => {
      it('record, get (every field round-trips), count; an unknown token is undefined', async () => {
        const renewed = ledgerEntry('_t2', {
          renewedFrom: '_t1',
          renewAllow: false,
          renewAfterExpiry: true,
          actor: 'svc-frontend',
          tokenType: 'urn:oasis:names:tc:SAML:1.0:assertion',
          issuedAt: at(5),
          notBefore: at(6),
          notOnOrAfter: at(7),
        });
        assert.equal(await store.ledger.count(), 0);
        await store.ledger.record(ledgerEntry('_t1'));
        await store.ledger.record(renewed);
        assert.equal(await store.ledger.count(), 2);
        assert.deepEqual(await store.ledger.get('_t1'), { ...ledgerEntry('_t1'), cancelledAt: null });
        assert.deepEqual(await store.ledger.get('_t2'), { ...renewed, cancelledAt: null });
        assert.equal(await store.ledger.get('_unknown'), undefined);
      });

      it('a duplicate token id is AlreadyExistsError and changes nothing (the chain included)', async () => {
        await store.ledger.record(ledgerEntry('_dup'));
        await assert.rejects(store.ledger.record(ledgerEntry('_dup', { subject: 'mallory' })), (err: unknown) => {
          assert.ok(err instanceof AlreadyExistsError);
          assert.equal(err.message, 'token _dup already exists');
          return true;
        });
        assert.equal(await store.ledger.count(), 1);
        assert.equal((await store.ledger.get('_dup'))?.subject, 'alice');
        await store.ledger.record(ledgerEntry('_next'));
        assert.deepEqual((await store.ledger.chain(0, 10)).map((e) => [e.sequence, e.tokenId]), [[1, '_dup'], [2, '_next']]);
      });

      it('a failing row in a batch fails its caller alone: the others of its batch are recorded', async () => {
        await store.ledger.record(ledgerEntry('_old'));
        const results = await Promise.allSettled([
          store.ledger.record(ledgerEntry('_b1')),
          store.ledger.record(ledgerEntry('_old', { subject: 'mallory' })),
          store.ledger.record(ledgerEntry('_b2')),
          store.ledger.record(ledgerEntry('_b2', { subject: 'mallory' })),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason));
        assert.equal(await store.ledger.count(), 3);
        assert.equal((await store.ledger.get('_old'))?.subject, 'alice');
        assert.equal((await store.ledger.get('_b2'))?.subject, 'alice');
        assert.equal((await verifyLedgerChain((a, l) => store.ledger.chain(a, l), TEST_LEDGER_TRUST)).broken, null);
      });

      it('each record() resolves only once its row is visible to another store', async () => {
        const other = await another();
        const ids = Array.from({ length: 8 }, (_, i) => `_v${i}`);
        await Promise.all(
          ids.map((id) =>
            store.ledger.record(ledgerEntry(id)).then(async () => {
              assert.ok(await other.ledger.get(id), `${id} resolved before another store could read it`);
            }),
          ),
        );
        assert.equal(await other.ledger.count(), ids.length);
      });

      it('close() writes the rows still waiting for their commit', async () => {
        const waiting = store.ledger.record(ledgerEntry('_last'));
        await store.close();
        await waiting;
        const reopened = await another();
        assert.deepEqual(await reopened.ledger.get('_last'), { ...ledgerEntry('_last'), cancelledAt: null });
      });

      it('chain: sequences 1, 2, 3… each linked by hash to the one before, from the genesis hash', async () => {
        for (let i = 1; i <= 5; i++) await store.ledger.record(ledgerEntry(`_c${i}`, { issuedAt: at(i) }));
        const chain = await store.ledger.chain(0, 100);
        assert.deepEqual(chain.map((e) => [e.sequence, e.tokenId]), [1, 2, 3, 4, 5].map((i) => [i, `_c${i}`]));
        let previous = LEDGER_GENESIS_HASH;
        for (const e of chain) {
          assert.equal(e.previousHash, previous);
          assert.equal(e.entryHash, ledgerEntryHash(TEST_LEDGER_CHAIN_KEY, previous, e));
          assert.equal(e.hashScheme, 'hmac-sha256');
          assert.equal(e.cancelledAt, null);
          previous = e.entryHash;
        }
        assert.deepEqual((await store.ledger.chain(2, 2)).map((e) => e.sequence), [3, 4]);
        assert.deepEqual(await store.ledger.chain(5, 10), []);
        const verdict = await verifyLedgerChain((a, l) => store.ledger.chain(a, l), TEST_LEDGER_TRUST, { pageSize: 2 });
        assert.deepEqual(verdict, { entries: 5, headSequence: 5, headHash: previous, unkeyedEntries: 0, firstKeyedSequence: 1, broken: null });
      });

      it('two stores recording concurrently build one chain: no fork, no gap, every entry once', async () => {
        const other = await another();
        // Warm both stores up, so their appends overlap from the first one.
        await Promise.all([store, other, store, other].map((s) => s.ping()));
        // Many small batches from each store, a turn of the event loop apart, all in flight at once.
        const rounds = 40;
        const perRound = 3;
        const pending: Promise<void>[] = [];
        for (let round = 0; round < rounds; round++) {
          for (let i = 0; i < perRound; i++) {
            pending.push(store.ledger.record(ledgerEntry(`_p${round}-${i}`, { requestId: `req-p${round}` })));
            pending.push(other.ledger.record(ledgerEntry(`_q${round}-${i}`, { requestId: `req-q${round}` })));
          }
          await new Promise((r) => setImmediate(r));
        }
        await Promise.all(pending);
        const n = rounds * perRound * 2;
        const verdict = await verifyLedgerChain((a, l) => other.ledger.chain(a, l), TEST_LEDGER_TRUST, { pageSize: 40 });
        assert.equal(verdict.broken, null, JSON.stringify(verdict));
        assert.equal(verdict.entries, n);
        assert.equal(await store.ledger.count(), n);
        const ids = new Set((await store.ledger.chain(0, 1000)).map((e) => e.tokenId));
        assert.equal(ids.size, n);
      });

      it('cancel: true once, false after, false for an unknown token; cancelledAt is kept and the chain still verifies', async () => {
        await store.ledger.record(ledgerEntry('_c'));
        assert.equal(await store.ledger.cancel('_c', at(1000)), true);
        assert.equal(await (await another()).ledger.cancel('_c', at(2000)), false);
        assert.equal(await store.ledger.cancel('_none', at(1000)), false);
        assert.deepEqual((await store.ledger.get('_c'))?.cancelledAt, at(1000));
        assert.equal(await store.ledger.get('_none'), undefined);
        assert.equal((await verifyLedgerChain((a, l) => store.ledger.chain(a, l), TEST_LEDGER_TRUST)).broken, null);
      });

      describe('append-only, enforced by the database itself', () => {
        beforeEach(async () => {
          await store.ledger.record(ledgerEntry('_a1'));
          await store.ledger.record(ledgerEntry('_a2'));
        });
        const refused: Array<[string, string, RegExp]> = [
          ['DELETE of one row', `DELETE FROM issuance_ledger WHERE token_id = '_a1'`, /append-only/],
          ['DELETE of every row', 'DELETE FROM issuance_ledger', /append-only/],
          ['UPDATE of a recorded field (subject)', `UPDATE issuance_ledger SET subject = 'mallory' WHERE token_id = '_a1'`, /cannot be changed/],
          ['UPDATE of the digest', `UPDATE issuance_ledger SET digest = 'Zm9yZ2Vk' WHERE token_id = '_a2'`, /cannot be changed/],
          ['UPDATE of the sequence', `UPDATE issuance_ledger SET sequence = sequence + 1000 WHERE token_id = '_a2'`, /cannot be changed/],
          ['UPDATE of the chain hashes', `UPDATE issuance_ledger SET entry_hash = previous_hash WHERE token_id = '_a1'`, /cannot be changed/],
          ['UPDATE of the hash scheme', `UPDATE issuance_ledger SET hash_scheme = 'sha256' WHERE token_id = '_a1'`, /cannot be changed/],
          ['UPDATE of the token id', `UPDATE issuance_ledger SET token_id = '_forged' WHERE token_id = '_a1'`, /cannot be changed/],
        ];
        for (const [what, sql, message] of refused) {
          it(`${what} is refused, and the ledger is unchanged`, async () => {
            const before = await store.ledger.chain(0, 10);
            await assert.rejects(harness.exec(sql), message);
            assert.deepEqual(await store.ledger.chain(0, 10), before);
            assert.equal((await verifyLedgerChain((a, l) => store.ledger.chain(a, l), TEST_LEDGER_TRUST)).broken, null);
          });
        }

        it('cancelled_at, state beside the chain, may change', async () => {
          assert.equal(await store.ledger.cancel('_a1', at(1)), true);
          assert.equal(await harness.exec(`UPDATE issuance_ledger SET cancelled_at = NULL WHERE token_id = '_a1'`), 1);
          assert.equal((await store.ledger.get('_a1'))?.cancelledAt, null);
        });
      });
    });

    describe('replay cache', () => {
      it('rememberOnce: true the first time, false after', async () => {
        assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), true);
        assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), false);
        assert.equal(await store.replay.rememberOnce('nonce', 'k1', later()), false);
      });

      it('scopes are independent', async () => {
        assert.equal(await store.replay.rememberOnce('a', 'k', later()), true);
        assert.equal(await store.replay.rememberOnce('b', 'k', later()), true);
        assert.equal(await store.replay.rememberOnce('a', 'k', later()), false);
      });

      it('is shared between stores on one database', async () => {
        const other = await another();
        assert.equal(await store.replay.rememberOnce('nonce', 'shared', later()), true);
        assert.equal(await other.replay.rememberOnce('nonce', 'shared', later()), false);
        assert.equal(await other.replay.rememberOnce('nonce', 'other', later()), true);
        assert.equal(await store.replay.rememberOnce('nonce', 'other', later()), false);
      });

      it('two stores racing on one key: exactly one true', async () => {
        const other = await another();
        for (let round = 0; round < 5; round++) {
          const results = await Promise.all(
            Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? store : other).replay.rememberOnce('race', `key-${round}`, later())),
          );
          assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(results)}`);
        }
      });

      it('an expired key is forgotten eventually and can then be remembered again; live keys are kept', async () => {
        assert.equal(await store.replay.rememberOnce('nonce', 'old', new Date(Date.now() - 1000)), true);
        for (let i = 0; i < 1000; i++) await store.replay.rememberOnce('filler', `k${i}`, later());
        assert.equal(await store.replay.rememberOnce('nonce', 'old', later()), true);
        assert.equal(await store.replay.rememberOnce('filler', 'k0', later()), false, 'a live entry was forgotten');
        assert.equal(await store.replay.rememberOnce('filler', 'k999', later()), false, 'a live entry was forgotten');
      });
    });

    describe('signing keys', () => {
      it('add, get (the optional lifecycle fields round-trip, absent when unset), list oldest first', async () => {
        const withTimes = { ...signingKey('aa', 'retired'), notAfter: at(9_000), activatedAt: at(1), retiringAt: at(2), retiredAt: at(3) };
        await store.signingKeys.add(signingKey('bb', 'pending', at(1000)));
        await store.signingKeys.add(withTimes);
        await store.signingKeys.add(signingKey('AC', 'active', at(1000)));
        assert.deepEqual(await store.signingKeys.get('aa'), withTimes);
        assert.deepEqual(await store.signingKeys.get('bb'), signingKey('bb', 'pending', at(1000)));
        assert.equal(await store.signingKeys.get('zz'), undefined);
        assert.deepEqual((await store.signingKeys.list()).map((k) => k.thumbprint), ['aa', 'AC', 'bb']);
      });

      it('a duplicate thumbprint is AlreadyExistsError', async () => {
        await store.signingKeys.add(signingKey('aa', 'pending'));
        await assert.rejects(store.signingKeys.add(signingKey('aa', 'retired')), (err: unknown) => err instanceof AlreadyExistsError && err.message === 'signing key aa already exists');
        assert.equal((await store.signingKeys.get('aa'))?.state, 'pending');
      });

      it('an unknown state is refused by the database', async () => {
        await assert.rejects(store.signingKeys.add(signingKey('cc', 'bogus' as SigningKeyRecord['state'])));
        assert.deepEqual(await store.signingKeys.list(), []);
      });

      it('a second active key is refused, by add and by setState, and nothing changes', async () => {
        await store.signingKeys.add(signingKey('aa', 'active'));
        await store.signingKeys.add(signingKey('bb', 'pending'));
        await assert.rejects(store.signingKeys.add(signingKey('cc', 'active')), SecondActiveKeyError);
        await assert.rejects(store.signingKeys.setState('bb', ['pending'], 'active', T0), SecondActiveKeyError);
        assert.deepEqual((await store.signingKeys.list()).map((k) => [k.thumbprint, k.state]), [['aa', 'active'], ['bb', 'pending']]);
      });

      it('setState moves a key only from the states given, stamping the new state', async () => {
        await store.signingKeys.add(signingKey('rr', 'retiring'));
        assert.equal(await store.signingKeys.setState('rr', ['active'], 'retired', at(1)), false);
        assert.equal(await store.signingKeys.setState('rr', ['retiring'], 'retired', at(1)), true);
        assert.equal(await store.signingKeys.setState('rr', ['retiring'], 'retired', at(2)), false);
        assert.deepEqual((await store.signingKeys.get('rr'))?.retiredAt, at(1));
        assert.equal(await store.signingKeys.setState('rr', ['pending', 'retiring', 'retired'], 'revoked', at(3)), true);
        const rr = await store.signingKeys.get('rr');
        assert.equal(rr?.state, 'revoked');
        assert.deepEqual(rr?.revokedAt, at(3));
        assert.equal(await store.signingKeys.setState('missing', ['pending'], 'revoked', at(3)), false);
        assert.equal(await store.signingKeys.setState('rr', [], 'pending', at(4)), false);
      });

      it('promote: the pending key becomes active and the active one retiring, with their times', async () => {
        await store.signingKeys.add(signingKey('aa', 'active'));
        await store.signingKeys.add(signingKey('bb', 'pending', at(1)));
        assert.deepEqual(await store.signingKeys.promote('bb', at(5)), { promoted: true, previous: 'aa' });
        const [a, b] = await store.signingKeys.list();
        assert.equal(a?.state, 'retiring');
        assert.deepEqual(a?.retiringAt, at(5));
        assert.equal(b?.state, 'active');
        assert.deepEqual(b?.activatedAt, at(5));
      });

      it('promote with no active key makes the first one active (previous null)', async () => {
        await store.signingKeys.add(signingKey('aa', 'pending'));
        assert.deepEqual(await store.signingKeys.promote('aa', at(1)), { promoted: true, previous: null });
        assert.equal((await store.signingKeys.get('aa'))?.state, 'active');
      });

      it('promote with revokePrevious revokes the active key in the same step', async () => {
        await store.signingKeys.add(signingKey('aa', 'active'));
        await store.signingKeys.add(signingKey('bb', 'pending', at(1)));
        assert.deepEqual(await store.signingKeys.promote('bb', at(5), { revokePrevious: true }), { promoted: true, previous: 'aa' });
        const a = await store.signingKeys.get('aa');
        assert.equal(a?.state, 'revoked');
        assert.deepEqual(a?.revokedAt, at(5));
        assert.equal(a?.retiringAt, undefined);
      });

      it('promote refuses a key that is not pending, says what it is, and changes nothing', async () => {
        await store.signingKeys.add(signingKey('aa', 'active'));
        await store.signingKeys.add(signingKey('rr', 'retiring', at(1)));
        await store.signingKeys.add(signingKey('vv', 'revoked', at(2)));
        await store.signingKeys.add(signingKey('tt', 'retired', at(3)));
        const before = await store.signingKeys.list();
        assert.deepEqual(await store.signingKeys.promote('aa', at(9)), { promoted: false, state: 'active' });
        assert.deepEqual(await store.signingKeys.promote('rr', at(9)), { promoted: false, state: 'retiring' });
        assert.deepEqual(await store.signingKeys.promote('vv', at(9)), { promoted: false, state: 'revoked' });
        assert.deepEqual(await store.signingKeys.promote('tt', at(9)), { promoted: false, state: 'retired' });
        assert.deepEqual(await store.signingKeys.promote('nope', at(9)), { promoted: false, state: null });
        assert.deepEqual(await store.signingKeys.list(), before);
      });

      it('two stores promoting concurrently (every key raced by both): each promoted once, one active key at every read', async () => {
        const other = await another();
        const watcher = await another();
        await store.signingKeys.add(signingKey('k00', 'active'));
        const names = Array.from({ length: 16 }, (_, i) => `k${String(i + 1).padStart(2, '0')}`);
        for (const [i, n] of names.entries()) await store.signingKeys.add(signingKey(n, 'pending', at(i + 1)));
        let done = false;
        const seen = new Set<number>();
        let reads = 0;
        const watching = (async () => {
          while (!done) {
            seen.add((await watcher.signingKeys.list()).filter((k) => k.state === 'active').length);
            reads++;
            await new Promise((r) => setImmediate(r));
          }
        })();
        const promoteAll = async (s: Store): Promise<boolean[]> => {
          const results: boolean[] = [];
          for (const n of names) results.push((await s.signingKeys.promote(n, new Date())).promoted);
          return results;
        };
        const [mine, theirs] = await Promise.all([promoteAll(store), promoteAll(other)]);
        done = true;
        await watching;
        assert.deepEqual([...seen], [1], `active-key counts seen: ${[...seen].join(', ')}`);
        assert.ok(reads > 0);
        names.forEach((n, i) => assert.equal(Number(mine[i]) + Number(theirs[i]), 1, `${n} promoted ${Number(mine[i]) + Number(theirs[i])} times`));
        const keys = await store.signingKeys.list();
        assert.deepEqual(keys.filter((k) => k.state === 'active').map((k) => k.thumbprint), ['k16']);
        assert.equal(keys.filter((k) => k.state === 'retiring').length, names.length);
      });
    });

    describe('trusted-issuer pins', () => {
      it('pin, list (by issuer, then age; every field round-trips), unpin', async () => {
        const scheduled = pin('p2', { state: 'pending', activateAt: at(100), retireAt: at(200), createdAt: at(1), stateChangedAt: at(1) });
        await store.trustedIssuers.pin(scheduled);
        await store.trustedIssuers.pin(pin('p1'));
        await store.trustedIssuers.pin(pin('p3', { issuer: 'https://a-idp.example/' }));
        assert.deepEqual(await store.trustedIssuers.list(), [pin('p3', { issuer: 'https://a-idp.example/' }), pin('p1'), scheduled]);
        assert.equal(await store.trustedIssuers.unpin('p1'), true);
        assert.equal(await store.trustedIssuers.unpin('p1'), false);
        assert.equal(await store.trustedIssuers.unpin('unknown'), false);
        assert.deepEqual((await store.trustedIssuers.list()).map((p) => p.thumbprint), ['p3', 'p2']);
      });

      it('a thumbprint pinned already (for any issuer) is AlreadyExistsError', async () => {
        await store.trustedIssuers.pin(pin('p1'));
        await assert.rejects(store.trustedIssuers.pin(pin('p1', { issuer: 'https://other.example/' })), (err: unknown) => err instanceof AlreadyExistsError && err.message === 'pin p1 already exists');
        assert.deepEqual(await store.trustedIssuers.list(), [pin('p1')]);
      });

      it('an unknown pin state is refused by the database', async () => {
        await assert.rejects(store.trustedIssuers.pin(pin('p1', { state: 'trusted' as never })));
        assert.deepEqual(await store.trustedIssuers.list(), []);
      });

      it('setState moves a pin only from the states given, stamping stateChangedAt; unknown pins are false', async () => {
        await store.trustedIssuers.pin(pin('p1', { state: 'pending' }));
        assert.equal(await store.trustedIssuers.setState('p1', ['active'], 'retired', at(5)), false);
        assert.equal(await store.trustedIssuers.setState('p1', ['pending'], 'active', at(5)), true);
        assert.equal(await store.trustedIssuers.setState('p1', ['pending'], 'active', at(6)), false);
        assert.deepEqual((await store.trustedIssuers.list())[0], pin('p1', { state: 'active', stateChangedAt: at(5) }));
        assert.equal(await store.trustedIssuers.setState('p1', ['pending', 'active'], 'revoked', at(7)), true);
        assert.equal((await store.trustedIssuers.list())[0]?.state, 'revoked');
        assert.equal(await store.trustedIssuers.setState('nope', ['pending', 'active', 'retired', 'revoked'], 'active', at(8)), false);
      });

      it('two stores racing to move one pin: exactly one succeeds', async () => {
        const other = await another();
        await store.trustedIssuers.pin(pin('p1', { state: 'pending' }));
        const results = await Promise.all([
          ...Array.from({ length: 4 }, () => store.trustedIssuers.setState('p1', ['pending'], 'active', at(1))),
          ...Array.from({ length: 4 }, () => other.trustedIssuers.setState('p1', ['pending'], 'revoked', at(2))),
        ]);
        assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
      });
    });

    describe('SAML providers', () => {
      it('add, get (every field round-trips, certificates in order), list in name order', async () => {
        await store.samlProviders.add(provider('Zeta', { replay: 'off' }));
        await store.samlProviders.add(provider('Alpha', { replay: 'once', certificates: [] }));
        assert.deepEqual(await store.samlProviders.get('Zeta'), provider('Zeta', { replay: 'off' }));
        assert.deepEqual(await store.samlProviders.get('Alpha'), provider('Alpha', { replay: 'once', certificates: [] }));
        assert.deepEqual(await store.samlProviders.list(), [provider('Alpha', { replay: 'once', certificates: [] }), provider('Zeta', { replay: 'off' })]);
      });

      it('get of an unknown name is undefined; names are case-sensitive', async () => {
        await store.samlProviders.add(provider('Partner'));
        assert.equal(await store.samlProviders.get('nobody'), undefined);
        assert.equal(await store.samlProviders.get('partner'), undefined);
      });

      it('a duplicate name is AlreadyExistsError and leaves the first as it was', async () => {
        await store.samlProviders.add(provider('Partner'));
        await assert.rejects(store.samlProviders.add(provider('Partner', { entityId: 'https://other.example/' })), (err: unknown) => {
          assert.ok(err instanceof AlreadyExistsError);
          assert.equal(err.message, 'SAML provider Partner already exists');
          return true;
        });
        assert.deepEqual(await store.samlProviders.get('Partner'), provider('Partner'));
      });

      it('a replay mode outside off/once-per-role/once is refused by the database', async () => {
        await assert.rejects(store.samlProviders.add(provider('Bad', { replay: 'twice' as never })), (err: unknown) => !(err instanceof AlreadyExistsError));
        assert.equal(await store.samlProviders.get('Bad'), undefined);
      });

      it('a provider whose certificate is refused is not stored at all (one transaction)', async () => {
        await assert.rejects(store.samlProviders.add(provider('Bad', { certificates: [providerCertificate('aa'), providerCertificate('bb', { state: 'trusted' as never })] })));
        assert.equal(await store.samlProviders.get('Bad'), undefined);
        assert.deepEqual(await store.samlProviders.list(), []);
      });
    });

    describe('SAML providers\' certificates', () => {
      it('addCertificate appends after the provider\'s others (every field round-trips); no-provider for an unknown provider', async () => {
        await store.samlProviders.add(provider('Partner'));
        const next = providerCertificate('bb', { state: 'pending', activateAt: null, retireAt: at(500), createdAt: at(9), stateChangedAt: at(9) });
        assert.deepEqual(await store.samlProviders.addCertificate('Partner', next), { outcome: 'added' });
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates, [...provider('Partner').certificates, next]);
        assert.deepEqual(await store.samlProviders.getCertificate('Partner', 'bb'), next);
        assert.deepEqual(await store.samlProviders.addCertificate('Nobody', providerCertificate('dd')), { outcome: 'no-provider' });
        assert.equal(await store.samlProviders.getCertificate('Nobody', 'dd'), undefined);
      });

      it('a thumbprint the provider has already is AlreadyExistsError; another provider may have it too', async () => {
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.add(provider('Other', { certificates: [] }));
        await assert.rejects(
          store.samlProviders.addCertificate('Partner', providerCertificate('cc', { state: 'revoked' })),
          (err: unknown) => err instanceof AlreadyExistsError && err.message === 'certificate cc of SAML provider Partner already exists',
        );
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates, provider('Partner').certificates);
        assert.deepEqual(await store.samlProviders.addCertificate('Other', providerCertificate('cc', { state: 'pending' })), { outcome: 'added' });
        assert.equal((await store.samlProviders.getCertificate('Other', 'cc'))?.state, 'pending');
        assert.equal((await store.samlProviders.getCertificate('Partner', 'cc'))?.state, 'active');
      });

      it('getCertificate is scoped to its provider and exact', async () => {
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.add(provider('Other', { certificates: [providerCertificate('ee')] }));
        assert.deepEqual(await store.samlProviders.getCertificate('Partner', 'cc'), providerCertificate('cc'));
        assert.equal(await store.samlProviders.getCertificate('Partner', 'ee'), undefined);
        assert.equal(await store.samlProviders.getCertificate('Other', 'cc'), undefined);
        assert.equal(await store.samlProviders.getCertificate('partner', 'cc'), undefined);
        assert.equal(await store.samlProviders.getCertificate('Partner', 'CC'), undefined);
      });

      it('an unknown certificate state is refused by the database', async () => {
        await store.samlProviders.add(provider('Partner', { certificates: [] }));
        await assert.rejects(store.samlProviders.addCertificate('Partner', providerCertificate('aa', { state: 'trusted' as never })));
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates, []);
      });

      it('setCertificateState moves one provider\'s certificate only from the states given, stamping stateChangedAt', async () => {
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.add(provider('Other'));
        assert.equal(await store.samlProviders.setCertificateState('Partner', 'aa', ['active'], 'retired', at(5)), false);
        assert.equal(await store.samlProviders.setCertificateState('Partner', 'aa', ['pending'], 'active', at(5)), true);
        assert.equal(await store.samlProviders.setCertificateState('Partner', 'aa', ['pending'], 'active', at(6)), false);
        assert.deepEqual(
          await store.samlProviders.getCertificate('Partner', 'aa'),
          providerCertificate('aa', { state: 'active', activateAt: at(100), retireAt: at(200), stateChangedAt: at(5) }),
        );
        assert.equal((await store.samlProviders.getCertificate('Other', 'aa'))?.state, 'pending', 'the same thumbprint of another provider is untouched');
        assert.equal(await store.samlProviders.setCertificateState('Partner', 'cc', ['pending', 'active', 'retired'], 'revoked', at(7)), true);
        assert.equal((await store.samlProviders.getCertificate('Partner', 'cc'))?.state, 'revoked');
        assert.equal(await store.samlProviders.setCertificateState('Partner', 'zz', ['pending', 'active', 'retired', 'revoked'], 'active', at(8)), false);
        assert.equal(await store.samlProviders.setCertificateState('Nobody', 'cc', ['revoked'], 'active', at(8)), false);
      });

      it('removeCertificate removes one provider\'s certificate; false when it has none such', async () => {
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.add(provider('Other'));
        assert.equal(await store.samlProviders.removeCertificate('Partner', 'cc'), true);
        assert.equal(await store.samlProviders.removeCertificate('Partner', 'cc'), false);
        assert.equal(await store.samlProviders.removeCertificate('Nobody', 'aa'), false);
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates.map((c) => c.thumbprint), ['aa']);
        assert.deepEqual((await store.samlProviders.get('Other'))?.certificates.map((c) => c.thumbprint), ['cc', 'aa']);
      });

      it('a certificate added after a removal goes last', async () => {
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.removeCertificate('Partner', 'cc');
        await store.samlProviders.addCertificate('Partner', providerCertificate('cc'));
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates.map((c) => c.thumbprint), ['aa', 'cc']);
      });

      it('what one store changes, another reads at once', async () => {
        const other = await another();
        await store.samlProviders.add(provider('Partner'));
        await store.samlProviders.setCertificateState('Partner', 'cc', ['active'], 'revoked', at(1));
        assert.equal((await other.samlProviders.getCertificate('Partner', 'cc'))?.state, 'revoked');
        await other.samlProviders.addCertificate('Partner', providerCertificate('dd'));
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates.map((c) => c.thumbprint), ['cc', 'aa', 'dd']);
      });

      it('addCertificate whose provider is removed after the INSERT found it: no-provider, and no certificate row without its provider', async () => {
        await store.samlProviders.add(provider('Partner'));
        await harness.removeProviderBeforeCertificateInsert();
        assert.deepEqual(await store.samlProviders.addCertificate('Partner', providerCertificate('dd')), { outcome: 'no-provider' });
        assert.equal(await store.samlProviders.getCertificate('Partner', 'dd'), undefined);
        // The removal the trigger made fails with the INSERT it was part of: the provider is as it was.
        assert.deepEqual(await store.samlProviders.list(), [provider('Partner')]);
      });

      it(`a provider with ${MAX_SAML_PROVIDER_CERTIFICATES} certificates takes no more (limit-reached, with the count); one removed makes room`, async () => {
        const full = Array.from({ length: MAX_SAML_PROVIDER_CERTIFICATES }, (_, i) => providerCertificate(`f${i}`, { state: 'retired' }));
        await store.samlProviders.add(provider('Partner', { certificates: full }));
        await store.samlProviders.add(provider('Other', { certificates: [] }));
        assert.deepEqual(await store.samlProviders.addCertificate('Partner', providerCertificate('dd')), {
          outcome: 'limit-reached',
          certificates: MAX_SAML_PROVIDER_CERTIFICATES,
        });
        // At the limit, a thumbprint it has already is the limit too: nothing is tried.
        assert.deepEqual(await store.samlProviders.addCertificate('Partner', providerCertificate('f0')), {
          outcome: 'limit-reached',
          certificates: MAX_SAML_PROVIDER_CERTIFICATES,
        });
        assert.deepEqual((await store.samlProviders.get('Partner'))?.certificates, full);
        assert.deepEqual(await store.samlProviders.addCertificate('Other', providerCertificate('dd')), { outcome: 'added' }, 'the limit is per provider');
        assert.equal(await store.samlProviders.removeCertificate('Partner', 'f3'), true);
        assert.deepEqual(await store.samlProviders.addCertificate('Partner', providerCertificate('dd')), { outcome: 'added' });
        assert.equal((await store.samlProviders.get('Partner'))?.certificates.length, MAX_SAML_PROVIDER_CERTIFICATES);
      });

      it('two stores adding the last certificate a provider may take, at once: exactly one added, the other limit-reached', async () => {
        // Truly at once on PostgreSQL; SQLite's calls in one process run one after the other, so
        // sqlite-certificate-limit.test.ts races two processes (and postgres-store.test.ts two held at a lock).
        const other = await another();
        const nine = Array.from({ length: MAX_SAML_PROVIDER_CERTIFICATES - 1 }, (_, i) => providerCertificate(`f${i}`));
        await store.samlProviders.add(provider('Partner', { certificates: nine }));
        const results = await Promise.all([
          store.samlProviders.addCertificate('Partner', providerCertificate('d1')),
          other.samlProviders.addCertificate('Partner', providerCertificate('d2')),
        ]);
        assert.deepEqual(
          results.map((r) => r.outcome).sort(),
          ['added', 'limit-reached'],
          JSON.stringify(results),
        );
        assert.equal((await store.samlProviders.get('Partner'))?.certificates.length, MAX_SAML_PROVIDER_CERTIFICATES);
      });

      it('two stores racing to move one certificate: exactly one succeeds', async () => {
        const other = await another();
        await store.samlProviders.add(provider('Partner'));
        const results = await Promise.all([
          ...Array.from({ length: 4 }, () => store.samlProviders.setCertificateState('Partner', 'aa', ['pending'], 'active', at(1))),
          ...Array.from({ length: 4 }, () => other.samlProviders.setCertificateState('Partner', 'aa', ['pending'], 'revoked', at(2))),
        ]);
        assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
      });
    });

    describe('AWS roles', () => {
      it('add, get (every field round-trips, a null permissions policy too), list in name order', async () => {
        await store.awsRoles.add(role('Developers', { maxSessionDurationSeconds: 43200 }));
        await store.awsRoles.add(role('Auditors', { permissionsPolicy: null }));
        assert.deepEqual(await store.awsRoles.get('Developers'), role('Developers', { maxSessionDurationSeconds: 43200 }));
        assert.deepEqual(await store.awsRoles.get('Auditors'), role('Auditors', { permissionsPolicy: null }));
        assert.deepEqual((await store.awsRoles.list()).map((r) => r.name), ['Auditors', 'Developers']);
        assert.equal(await store.awsRoles.get('Nobody'), undefined);
      });

      it('the trust policy is kept byte for byte (whitespace and key order)', async () => {
        const policy = '{ "Version" : "2012-10-17",\n  "Statement": [ {"Effect":"Allow", "Action":"sts:AssumeRoleWithSAML", "Principal":{"Federated":"x"}} ] }';
        await store.awsRoles.add(role('Exact', { trustPolicy: policy }));
        assert.equal((await store.awsRoles.get('Exact'))?.trustPolicy, policy);
      });

      it('a duplicate name is AlreadyExistsError and leaves the first as it was', async () => {
        await store.awsRoles.add(role('Developers'));
        await assert.rejects(store.awsRoles.add(role('Developers', { roleId: 'AROAOTHEROTHEROTHER', trustPolicy: '{}' })), (err: unknown) => {
          assert.ok(err instanceof AlreadyExistsError);
          assert.equal(err.message, 'role Developers already exists');
          return true;
        });
        assert.deepEqual(await store.awsRoles.get('Developers'), role('Developers'));
      });

      it('a role id is unique: a second role with the same id is refused and not stored', async () => {
        await store.awsRoles.add(role('Developers', { roleId: 'AROASAMESAMESAMESAM' }));
        await assert.rejects(store.awsRoles.add(role('Auditors', { roleId: 'AROASAMESAMESAMESAM' })), (err: unknown) => err instanceof AlreadyExistsError && err.message === 'role Auditors already exists');
        assert.deepEqual((await store.awsRoles.list()).map((r) => r.name), ['Developers']);
      });

      it('providers and roles are separate name spaces', async () => {
        await store.samlProviders.add(provider('Same'));
        await store.awsRoles.add(role('Same'));
        assert.equal((await store.samlProviders.get('Same'))?.name, 'Same');
        assert.equal((await store.awsRoles.get('Same'))?.name, 'Same');
      });
    });

    describe('removeInitRecords (what a failed sts init takes back)', () => {
      const NOTHING = { signingKeys: [], relyingParties: [], awsRoles: [], users: [] };
      const addTwoOfEach = async (): Promise<void> => {
        await store.signingKeys.add(signingKey('aa', 'active'));
        await store.signingKeys.add(signingKey('bb', 'pending', at(1)));
        await store.relyingParties.add(relyingParty('urn:amazon:webservices'));
        await store.relyingParties.add(relyingParty('https://kept.example/'));
        await store.awsRoles.add(role('TrustbridgeDemo'));
        await store.awsRoles.add(role('Kept'));
        await store.users.add(user('demo@trustbridge.localhost'));
        await store.users.add(user('kept'));
      };
      const remaining = async (s: Store): Promise<string[][]> => [
        (await s.signingKeys.list()).map((k) => k.thumbprint),
        (await s.relyingParties.list()).map((r) => r.appliesTo),
        (await s.awsRoles.list()).map((r) => r.name),
        (await s.users.list()).map((u) => u.name),
      ];

      it('removes the rows named, of each kind, and no other; every store sees it, and a new active key can then be added', async () => {
        await addTwoOfEach();
        await store.removeInitRecords({
          signingKeys: ['aa'],
          relyingParties: ['urn:amazon:webservices'],
          awsRoles: ['TrustbridgeDemo'],
          users: ['demo@trustbridge.localhost'],
        });
        const expected = [['bb'], ['https://kept.example/'], ['Kept'], ['kept']];
        assert.deepEqual(await remaining(store), expected);
        assert.deepEqual(await remaining(await another()), expected);
        await store.signingKeys.add(signingKey('cc', 'active', at(2)));
        assert.equal((await store.signingKeys.get('cc'))?.state, 'active');
      });

      it('a key named but not there is passed over (names are exact); naming nothing removes nothing', async () => {
        await addTwoOfEach();
        const before = await remaining(store);
        await store.removeInitRecords({ signingKeys: ['AA', 'zz'], relyingParties: ['urn:amazon:webservices/'], awsRoles: ['trustbridgedemo'], users: ['nobody'] });
        await store.removeInitRecords(NOTHING);
        assert.deepEqual(await remaining(store), before);
      });

      it('all or none: when one row cannot be removed, every other named row stays too', async () => {
        await addTwoOfEach();
        const before = await remaining(store);
        await harness.refuseDeletesFrom('aws_roles');
        await assert.rejects(
          store.removeInitRecords({ signingKeys: ['aa'], relyingParties: ['urn:amazon:webservices'], awsRoles: ['TrustbridgeDemo'], users: ['demo@trustbridge.localhost'] }),
          // The refusal itself, after the users' and relying parties' rows were deleted in the same transaction.
          /deletes refused/,
        );
        assert.deepEqual(await remaining(store), before);
      });
    });

    describe('audit events', () => {
      it('append and query: every field round-trips, in the order appended', async () => {
        const alert = auditEvent({
          eventName: 'forged-token',
          eventSource: 'detector',
          requestId: null,
          sourceAddress: null,
          userAgent: null,
          principal: null,
          requestParameters: null,
          responseElements: null,
          additionalEventData: { tokenId: '_f', keyThumbprint: 'ab'.repeat(32), reasons: ['not in ledger'] },
          errorCode: 'InvalidSecurityToken',
          errorMessage: 'not issued by us',
          alert: 'forged-token',
          severity: 'critical',
        });
        const events = [auditEvent(), alert, auditEvent({ eventName: 'Validate' })];
        await store.audit.append(events);
        assert.deepEqual(await store.audit.query({ limit: 10 }), events);
      });

      it('an empty batch is fine; a batch with one event the database refuses is refused whole', async () => {
        await store.audit.append([]);
        const first = auditEvent();
        await store.audit.append([first]);
        await assert.rejects(store.audit.append([auditEvent(), { ...auditEvent(), eventName: null as unknown as string }]));
        assert.deepEqual(await store.audit.query({ limit: 10 }), [first]);
      });

      it('query filters: from (inclusive), to (exclusive), principal, eventName, alertsOnly, combined', async () => {
        const e = [
          auditEvent({ eventTime: at(0), principal: 'alice', eventName: 'Issue' }),
          auditEvent({ eventTime: at(1000), principal: 'bob', eventName: 'Issue' }),
          auditEvent({ eventTime: at(2000), principal: 'alice', eventName: 'Renew', alert: 'request-burst', severity: 'high' }),
          auditEvent({ eventTime: at(3000), principal: 'bob', eventName: 'Cancel' }),
        ];
        await store.audit.append(e);
        const ids = async (q: Parameters<Store['audit']['query']>[0]): Promise<string[]> => (await store.audit.query(q)).map((x) => x.eventId);
        const id = (i: number): string => e[i]?.eventId ?? '';
        assert.deepEqual(await ids({ limit: 10, from: at(1000) }), [id(1), id(2), id(3)]);
        assert.deepEqual(await ids({ limit: 10, to: at(2000) }), [id(0), id(1)]);
        assert.deepEqual(await ids({ limit: 10, from: at(1000), to: at(3000) }), [id(1), id(2)]);
        assert.deepEqual(await ids({ limit: 10, principal: 'alice' }), [id(0), id(2)]);
        assert.deepEqual(await ids({ limit: 10, principal: 'carol' }), []);
        assert.deepEqual(await ids({ limit: 10, eventName: 'Issue' }), [id(0), id(1)]);
        assert.deepEqual(await ids({ limit: 10, alertsOnly: true }), [id(2)]);
        assert.deepEqual(await ids({ limit: 10, principal: 'bob', eventName: 'Issue', from: at(500) }), [id(1)]);
      });

      it('query by claimedUserName: the refused logins whose additionalEventData names that user, with the other filters', async () => {
        const refused = (claimedUserName: string, extra: Partial<AuditEvent> = {}): AuditEvent =>
          auditEvent({ principal: null, errorCode: 'wsse:FailedAuthentication', additionalEventData: { claimedUserName }, ...extra });
        const e = [
          refused('alice', { eventTime: at(0) }),
          refused('bob', { eventTime: at(1000) }),
          auditEvent({ eventTime: at(2000), principal: 'alice' }),
          // A NUL elsewhere in a row's JSON (a hostile request's, in an alert's facts) must not break the query.
          auditEvent({ eventTime: at(2500), principal: 'dave', additionalEventData: { tokenId: 'alice', odd: 'a\u0000b', quoted: '"claimedUserName":"alice"' } }),
          refused('alice', { eventTime: at(3000), eventName: 'Renew' }),
          refused('o\'brien\\\\"x%_\u00e9\u{1F511}', { eventTime: at(4000) }),
        ];
        await store.audit.append(e);
        const ids = async (q: Parameters<Store['audit']['query']>[0]): Promise<string[]> => (await store.audit.query(q)).map((x) => x.eventId);
        const id = (i: number): string => e[i]?.eventId ?? '';
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'alice' }), [id(0), id(4)]);
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'alice', from: at(1000) }), [id(4)]);
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'alice', eventName: 'Issue' }), [id(0)]);
        assert.deepEqual(await ids({ limit: 1, claimedUserName: 'alice' }), [id(4)]);
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'o\'brien\\\\"x%_\u00e9\u{1F511}' }), [id(5)]);
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'o\'brien' }), [], 'the whole name, not a prefix');
        assert.deepEqual(await ids({ limit: 10, claimedUserName: 'carol' }), []);
        assert.deepEqual(await ids({ limit: 10, principal: 'alice' }), [id(2)], 'a claimed name is not a principal');
      });

      it('limit: the newest N matching events, oldest first (ties in time kept in append order)', async () => {
        const e = Array.from({ length: 6 }, (_, i) => auditEvent({ eventTime: at(i < 3 ? 0 : 1000) }));
        await store.audit.append(e.slice(0, 3));
        await store.audit.append(e.slice(3));
        assert.deepEqual((await store.audit.query({ limit: 4 })).map((x) => x.eventId), e.slice(2).map((x) => x.eventId));
        assert.deepEqual((await store.audit.query({ limit: 2 })).map((x) => x.eventId), e.slice(4).map((x) => x.eventId));
        assert.deepEqual((await store.audit.query({ limit: 1, to: at(1000) })).map((x) => x.eventId), [e[2]?.eventId]);
      });

      it('what a hostile request carried (a NUL, markup, unicode) is stored, and its JSON exactly', async () => {
        const odd = auditEvent({
          principal: 'mal\u0000lory',
          userAgent: '<script>\u0000',
          requestParameters: { RoleSessionName: 'a\u0000b', '<x>': '"\'&\u{1F511}', deep: { n: 1.5, big: 2 ** 53 - 1 } },
        });
        await store.audit.append([odd]);
        const [got] = await store.audit.query({ limit: 1 });
        assert.deepEqual(got?.requestParameters, odd.requestParameters);
        // Text columns may hold the NUL as U+FFFD (PostgreSQL text cannot hold U+0000); the rest is exact.
        assert.match(got?.principal ?? '', /^mal[\u0000\uFFFD]lory$/);
        assert.match(got?.userAgent ?? '', /^<script>[\u0000\uFFFD]$/);
      });

      it('what one store appends, another queries', async () => {
        const other = await another();
        const e = auditEvent();
        await store.audit.append([e]);
        assert.deepEqual(await other.audit.query({ limit: 5 }), [e]);
      });
    });

    describe('lifetime', () => {
      it('what was stored is there after every store is closed and one reopened', async () => {
        await store.users.add(user('kept'));
        await store.signingKeys.add(signingKey('kk', 'active'));
        await store.ledger.record(ledgerEntry('_kept'));
        await store.close();
        const reopened = await another();
        assert.equal((await reopened.users.get('kept'))?.name, 'kept');
        assert.equal((await reopened.signingKeys.get('kk'))?.state, 'active');
        assert.equal((await verifyLedgerChain((a, l) => reopened.ledger.chain(a, l), TEST_LEDGER_TRUST)).entries, 1);
      });

      it('after close, operations are refused', async () => {
        await store.close();
        await assert.rejects(Promise.resolve().then(() => store.ping()));
        await assert.rejects(Promise.resolve().then(() => store.users.get('x')));
      });
    });
  });
}
