import { strict as assert } from 'node:assert';
import { LEDGER_GENESIS_HASH, ledgerEntryHash, ledgerRowAuthentic, unkeyedLedgerEntryHash } from '../../../src/store/ledger-chain';
import { TEST_LEDGER_CHAIN_KEY } from '../../support/ledger-chain-key';
import { ledgerEntry } from '../../support/store-fixtures';

// The row check a lookup makes, where the store contract cannot reach it: an unlinked row (one with no
// sequence, read as 0) cannot be planted on PostgreSQL, whose schema holds sequence NOT NULL and > 0.
describe('store ledgerRowAuthentic: an unlinked row', () => {
  const entry = ledgerEntry('_unlinked');
  const keyed = { previousHash: LEDGER_GENESIS_HASH, entryHash: ledgerEntryHash(TEST_LEDGER_CHAIN_KEY, LEDGER_GENESIS_HASH, entry), hashScheme: 'hmac-sha256' };
  const plain = { previousHash: LEDGER_GENESIS_HASH, entryHash: unkeyedLedgerEntryHash(LEDGER_GENESIS_HASH, entry), hashScheme: 'sha256' };

  it('is not authentic, though its HMAC under the key is right', () => {
    assert.equal(ledgerRowAuthentic(TEST_LEDGER_CHAIN_KEY, entry, { ...keyed, sequence: 1 }, 0), true, 'the same row linked first is');
    assert.equal(ledgerRowAuthentic(TEST_LEDGER_CHAIN_KEY, entry, { ...keyed, sequence: 0 }, 0), false);
  });

  it('is not authentic with a right plain SHA-256 from the genesis hash, with or without an unkeyed prefix', () => {
    assert.equal(ledgerRowAuthentic(TEST_LEDGER_CHAIN_KEY, entry, { ...plain, sequence: 1 }, 1), true, 'the same row first in the unkeyed prefix is');
    assert.equal(ledgerRowAuthentic(TEST_LEDGER_CHAIN_KEY, entry, { ...plain, sequence: 0 }, 0), false);
    assert.equal(ledgerRowAuthentic(TEST_LEDGER_CHAIN_KEY, entry, { ...plain, sequence: 0 }, 1), false);
  });
});
