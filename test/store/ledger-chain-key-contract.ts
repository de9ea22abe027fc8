// The keyed ledger chain against every store: sqlite-store.contract.test.ts and
// postgres-store.contract.test.ts run it beside the Store contract. The attacker here can write the
// database (lift its triggers, rewrite and insert rows, recompute every hash) but does not hold the
// chain key, which is derived from the master key and never stored.
import { strict as assert } from 'node:assert';
import type { KeyObject } from 'node:crypto';
import {
  LEDGER_GENESIS_HASH,
  LedgerChainKeyMissingError,
  ledgerEntryHash,
  unkeyedLedgerEntryHash,
  verifyLedgerChain,
  type ChainVerdict,
  type LedgerTrust,
} from '../../src/store/ledger-chain';
import type { LedgerEntryInput, Store } from '../../src/store/store';
import { OTHER_LEDGER_CHAIN_KEY, TEST_LEDGER_CHAIN_KEY, TEST_LEDGER_TRUST } from '../support/ledger-chain-key';
import { ledgerEntry } from '../support/store-fixtures';
import type { StoreHarness } from './store-contract';

export function describeLedgerChainKeyContract(kind: string, fresh: () => Promise<StoreHarness>): void {
  describe(`the ledger's keyed chain: ${kind}`, function () {
    this.timeout(60_000);
    let harness: StoreHarness;
    let opened: Store[];
    let store: Store;
    const open = async (ledgerTrust?: LedgerTrust): Promise<Store> => {
      const s = await harness.open(ledgerTrust);
      opened.push(s);
      return s;
    };
    const verify = (chainKey: KeyObject = TEST_LEDGER_CHAIN_KEY): Promise<ChainVerdict> =>
      verifyLedgerChain((a, l) => store.ledger.chain(a, l), { ...TEST_LEDGER_TRUST, chainKey });
    /** Records _k1.._kN, each keyed. */
    const recordKeyed = async (n: number): Promise<void> => {
      for (let i = 1; i <= n; i++) await store.ledger.record(ledgerEntry(`_k${i}`));
    };

    /**
     * What an attacker writing the database does to entry `sequence`: gives it another subject, then
     * recomputes its hash and every later one with `hash`, marking them `scheme`.
     */
    async function rewriteFrom(sequence: number, hash: (previousHash: string, e: LedgerEntryInput) => string, scheme: string): Promise<void> {
      await harness.liftLedgerGuards();
      const entries = await store.ledger.chain(0, 100);
      let previousHash = entries[sequence - 2]?.entryHash ?? LEDGER_GENESIS_HASH;
      for (const e of entries.slice(sequence - 1)) {
        const subject = e.sequence === sequence ? 'mallory' : e.subject;
        const entryHash = hash(previousHash, { ...e, subject });
        const changed = await harness.exec(
          `UPDATE issuance_ledger SET subject = '${subject}', previous_hash = '${previousHash}', entry_hash = '${entryHash}',
             hash_scheme = '${scheme}' WHERE sequence = ${e.sequence}`,
        );
        assert.equal(changed, 1);
        previousHash = entryHash;
      }
    }

    beforeEach(async () => {
      harness = await fresh();
      opened = [];
      store = await open(TEST_LEDGER_TRUST);
    });
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await harness.dispose();
    });

    it('a store opened without the key refuses to append, saying why, and writes nothing; it still reads the chain, but vouches for no row', async () => {
      const keyless = await open();
      await assert.rejects(keyless.ledger.record(ledgerEntry('_unkeyed')), (err: unknown) => {
        assert.ok(err instanceof LedgerChainKeyMissingError);
        assert.match(err.message, /opened without the ledger chain key .*: it cannot append to the issuance ledger/);
        return true;
      });
      assert.equal(await store.ledger.count(), 0);
      assert.equal(await keyless.ledger.get('_unkeyed'), undefined);
      await recordKeyed(2);
      assert.deepEqual((await keyless.ledger.chain(0, 10)).map((e) => [e.sequence, e.tokenId, e.hashScheme]), [
        [1, '_k1', 'hmac-sha256'],
        [2, '_k2', 'hmac-sha256'],
      ]);
      assert.equal(await keyless.ledger.get('_k1'), undefined, 'it cannot check a row, so a lookup does not take it for issued');
      assert.equal((await store.ledger.get('_k1'))?.tokenId, '_k1');
      await keyless.close();
      assert.equal((await verify()).broken, null);
    });

    it('the attack: an entry rewritten and every later hash recomputed with plain SHA-256 (marked sha256) is a downgrade there', async () => {
      await recordKeyed(5);
      const intact = await store.ledger.chain(0, 10);
      await rewriteFrom(3, unkeyedLedgerEntryHash, 'sha256');
      assert.equal(await store.ledger.get('_k3'), undefined, 'a lookup does not take the rewritten row for an issued token');
      const overstated = await open({ ...TEST_LEDGER_TRUST, unkeyedEntries: 100 });
      assert.equal(await overstated.ledger.get('_k3'), undefined, 'nor does one accepting more unkeyed entries than the chain starts with (none here)');
      assert.equal((await store.ledger.get('_k2'))?.subject, 'alice');
      assert.deepEqual(await verify(), {
        entries: 2,
        headSequence: 2,
        headHash: intact[1]?.entryHash,
        unkeyedEntries: 0,
        firstKeyedSequence: 1,
        broken: { kind: 'downgrade', sequence: 3, tokenId: '_k3' },
      });
    });

    it('the attack: an entry for a forged token slipped in at the head with a plain SHA-256 hash is a downgrade there', async () => {
      await recordKeyed(2);
      const head = (await store.ledger.chain(0, 10))[1];
      assert.ok(head);
      const forged = { ...ledgerEntry('_forged'), subject: 'administrator' };
      const forgedHash = unkeyedLedgerEntryHash(head.entryHash, forged);
      await harness.exec(
        `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
           not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor, sequence, previous_hash, entry_hash, hash_scheme)
         SELECT '_forged', token_type, 'administrator', audience, key_thumbprint, digest, issued_at, not_before, not_on_or_after,
           request_id, renewed_from, renew_allow, renew_after_expiry, actor, 3, entry_hash, '${forgedHash}', 'sha256'
         FROM issuance_ledger WHERE sequence = 2`,
      );
      assert.equal(await store.ledger.get('_forged'), undefined, 'the store holds the forged entry, but a lookup does not take it for an issued token');
      const verdict = await verify();
      assert.deepEqual(verdict.broken, { kind: 'downgrade', sequence: 3, tokenId: '_forged' });
      assert.equal(verdict.entries, 2);
      // The store above read where the unkeyed prefix ends when it opened, before the plant; one opened now
      // reads it from rows that include the plant, and a plain row after keyed ones is not part of the prefix.
      const reopened = await open(TEST_LEDGER_TRUST);
      assert.equal(await reopened.ledger.get('_forged'), undefined, 'a store opened after the plant does not take the forged entry either');
      assert.equal((await reopened.ledger.get('_k2'))?.tokenId, '_k2');
    });

    it('the attack: the whole chain rewritten in plain SHA-256 with a forged entry in it: a store opened since takes none of it for issued', async () => {
      await recordKeyed(4);
      // Rewritten from the first entry, every row is "before keying", so the stored prefix is the whole
      // chain, forged entry (subject mallory at 1) included; only the config's count bounds what counts.
      await rewriteFrom(1, unkeyedLedgerEntryHash, 'sha256');
      const reopened = await open(TEST_LEDGER_TRUST);
      assert.equal(reopened.ledger.unkeyedAtOpen, 4);
      for (const id of ['_k1', '_k2', '_k3', '_k4']) assert.equal(await reopened.ledger.get(id), undefined, `${id} answers as never issued`);
      assert.deepEqual(await verify(), {
        entries: 0,
        headSequence: 0,
        headHash: LEDGER_GENESIS_HASH,
        unkeyedEntries: 0,
        firstKeyedSequence: null,
        broken: { kind: 'unkeyed-beyond-accepted', sequence: 1, tokenId: '_k1', accepted: 0 },
      });
      // An instance upgraded from before keying says how many entries it wrote then: those count (rewritten
      // or not: an unkeyed entry is only as good as the database's guard), the rest do not.
      const upgraded = await open({ ...TEST_LEDGER_TRUST, unkeyedEntries: 1 });
      assert.equal((await upgraded.ledger.get('_k1'))?.subject, 'mallory');
      assert.equal(await upgraded.ledger.get('_k2'), undefined);
      const verdict = await verifyLedgerChain((a, l) => store.ledger.chain(a, l), { ...TEST_LEDGER_TRUST, unkeyedEntries: 1 });
      assert.deepEqual([verdict.entries, verdict.unkeyedEntries, verdict.broken], [
        1,
        1,
        { kind: 'unkeyed-beyond-accepted', sequence: 2, tokenId: '_k2', accepted: 1 },
      ]);
      // A store that accepts more than there are takes them all, as before the bound: the count is the operator's word.
      const lax = await open({ ...TEST_LEDGER_TRUST, unkeyedEntries: 100 });
      assert.equal((await lax.ledger.get('_k4'))?.tokenId, '_k4');
    });

    // An unlinked row (no sequence) is refused too; PostgreSQL's schema cannot hold one, so
    // test/unit/store/ledger-chain.test.ts tests that on the row check itself.
    it('a lookup takes a row for an issued token only if its own hash verifies under the key: rewritten or planted rows are not issued', async () => {
      await recordKeyed(3);
      assert.equal((await store.ledger.get('_k2'))?.tokenId, '_k2');
      await harness.liftLedgerGuards();
      // A field changed in place (the hash left as it was): what a forger extending a token's life would do.
      assert.equal(await harness.exec(`UPDATE issuance_ledger SET subject = 'mallory' WHERE sequence = 2`), 1);
      assert.equal(await store.ledger.get('_k2'), undefined);
      // A row planted with a keyed scheme but a hash made without the key.
      await harness.exec(
        `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
           not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor, sequence, previous_hash, entry_hash, hash_scheme)
         SELECT '_planted', token_type, 'administrator', audience, key_thumbprint, digest, issued_at, not_before, not_on_or_after,
           request_id, renewed_from, renew_allow, renew_after_expiry, actor, 4, entry_hash, '${'f'.repeat(64)}', 'hmac-sha256'
         FROM issuance_ledger WHERE sequence = 3`,
      );
      assert.equal(await store.ledger.get('_planted'), undefined);
      // A row with a scheme no Trustbridge writes.
      assert.equal(await harness.exec(`UPDATE issuance_ledger SET hash_scheme = 'none' WHERE sequence = 3`), 1);
      assert.equal(await store.ledger.get('_k3'), undefined);
      assert.equal((await store.ledger.get('_k1'))?.tokenId, '_k1', 'the untouched row is still issued');
    });

    it('the attack: the same rewrite recomputed with HMAC under a wrong key breaks at the rewritten entry', async () => {
      await recordKeyed(5);
      await rewriteFrom(3, (previousHash, e) => ledgerEntryHash(OTHER_LEDGER_CHAIN_KEY, previousHash, e), 'hmac-sha256');
      const verdict = await verify();
      assert.deepEqual(verdict.broken, { kind: 'entry-hash', sequence: 3, tokenId: '_k3' });
      assert.equal(verdict.entries, 2);
      assert.equal(await store.ledger.get('_k3'), undefined);
    });

    it('verified under another key, an untouched chain breaks at its first keyed entry', async () => {
      await recordKeyed(3);
      assert.deepEqual(await verify(OTHER_LEDGER_CHAIN_KEY), {
        entries: 0,
        headSequence: 0,
        headHash: LEDGER_GENESIS_HASH,
        unkeyedEntries: 0,
        firstKeyedSequence: 1,
        broken: { kind: 'entry-hash', sequence: 1, tokenId: '_k1' },
      });
      assert.equal((await verify()).broken, null);
    });

    it('an entry whose scheme is unknown is a break naming the scheme (its hash is not even looked at)', async () => {
      await recordKeyed(3);
      await harness.liftLedgerGuards();
      assert.equal(await harness.exec(`UPDATE issuance_ledger SET hash_scheme = 'none' WHERE sequence = 2`), 1);
      const verdict = await verify();
      assert.deepEqual(verdict.broken, { kind: 'unknown-scheme', sequence: 2, tokenId: '_k2', scheme: 'none' });
      assert.equal(verdict.entries, 1);
    });
  });
}
