import { strict as assert } from 'node:assert';
import type Database from 'better-sqlite3';
import { readConfigFile } from '../../src/instance/config-file';
import { loadMasterKey } from '../../src/instance/master-key';
import { inHome } from '../../src/instance/paths';
import {
  deriveLedgerChainKey,
  LEDGER_GENESIS_HASH,
  ledgerEntryHash,
  unkeyedLedgerEntryHash,
  verifyLedgerChain,
  type LedgerTrust,
} from '../../src/store/ledger-chain';
import type { LedgerEntryInput, Store } from '../../src/store/store';

/** The chain key for stores a test opens itself (an instance derives its own from its master key). */
export const TEST_LEDGER_CHAIN_KEY = deriveLedgerChainKey(Buffer.alloc(32, 0x4c));

/** What a store a test opens itself trusts its ledger with: TEST_LEDGER_CHAIN_KEY, no unkeyed entry (an instance created since keying). */
export const TEST_LEDGER_TRUST: LedgerTrust = { chainKey: TEST_LEDGER_CHAIN_KEY, unkeyedEntries: 0 };

/** The ledger trust of the instance in `home`, from its master key file and config as the instance derives it. */
export function instanceLedgerTrust(home: string): LedgerTrust {
  const config = readConfigFile(home);
  return { chainKey: deriveLedgerChainKey(loadMasterKey(inHome(home, config.masterKeyFile))), unkeyedEntries: config.audit.unkeyedLedgerEntries };
}

/** A key the attacker might guess or bring: the right length, derived the right way, from another master key. */
export const OTHER_LEDGER_CHAIN_KEY = deriveLedgerChainKey(Buffer.alloc(32, 0x57));

export type UnkeyedRow = LedgerEntryInput & { readonly sequence: number; readonly previousHash: string; readonly entryHash: string };

/** Entries chained as Trustbridge wrote them before the chain was keyed (plain SHA-256), for a database of that schema. */
export function unkeyedChain(entries: readonly LedgerEntryInput[]): UnkeyedRow[] {
  let previousHash = LEDGER_GENESIS_HASH;
  return entries.map((e, i) => {
    const entryHash = unkeyedLedgerEntryHash(previousHash, e);
    const row = { ...e, sequence: i + 1, previousHash, entryHash };
    previousHash = entryHash;
    return row;
  });
}

/**
 * Inserts chained rows straight into a SQLite database, marked `hashScheme`, or, left out, as a
 * database from before the hash_scheme column holds them.
 */
export function insertLedgerRows(db: Database.Database, rows: readonly UnkeyedRow[], hashScheme?: string): void {
  const insert = db.prepare(
    `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
       not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor, sequence, previous_hash, entry_hash
       ${hashScheme === undefined ? '' : ', hash_scheme'}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${hashScheme === undefined ? '' : ', ?'})`,
  );
  for (const e of rows) {
    insert.run(e.tokenId, e.tokenType, e.subject, e.audience, e.keyThumbprint, e.digest, e.issuedAt.getTime(), e.notBefore.getTime(),
      e.notOnOrAfter.getTime(), e.requestId, e.renewedFrom, e.renewAllow ? 1 : 0, e.renewAfterExpiry ? 1 : 0, e.actor, e.sequence,
      e.previousHash, e.entryHash, ...(hashScheme === undefined ? [] : [hashScheme]));
  }
}

/**
 * What a store opened (with TEST_LEDGER_CHAIN_KEY) on a migrated database holding the unkeyed rows
 * `legacy` must show. Opened as an instance created since keying is (no unkeyed entry accepted), it
 * takes none of them for issued, and verify breaks at the first. Opened accepting as many as there
 * are (audit.unkeyedLedgerEntries, what the operator of the upgraded instance sets): those rows
 * marked sha256 and verifying as the unkeyed prefix; `next`, recorded now, keyed and chained on from
 * the last of them; under another key, a break at the first keyed entry. `open` opens another store
 * on the database each time; this function closes the first, the caller the second.
 */
export async function expectUnkeyedPrefixThenKeyed(
  open: (ledgerTrust: LedgerTrust) => Promise<Store>,
  legacy: readonly UnkeyedRow[],
  next: readonly LedgerEntryInput[],
): Promise<void> {
  const n = legacy.length;
  const last = legacy[n - 1] as UnkeyedRow;
  const first = legacy[0] as UnkeyedRow;
  const strict = await open(TEST_LEDGER_TRUST);
  try {
    assert.equal(strict.ledger.unkeyedAtOpen, n);
    for (const e of legacy) assert.equal(await strict.ledger.get(e.tokenId), undefined, `${e.tokenId} is not taken for issued unless the config accepts it`);
    assert.deepEqual(await verifyLedgerChain((a, l) => strict.ledger.chain(a, l), TEST_LEDGER_TRUST), {
      entries: 0,
      headSequence: 0,
      headHash: LEDGER_GENESIS_HASH,
      unkeyedEntries: 0,
      firstKeyedSequence: null,
      broken: { kind: 'unkeyed-beyond-accepted', sequence: 1, tokenId: first.tokenId, accepted: 0 },
    });
  } finally {
    await strict.close();
  }

  const store = await open({ ...TEST_LEDGER_TRUST, unkeyedEntries: n });
  const verify = (chainKey = TEST_LEDGER_CHAIN_KEY) => verifyLedgerChain((a, l) => store.ledger.chain(a, l), { chainKey, unkeyedEntries: n });
  assert.deepEqual(
    (await store.ledger.chain(0, 100)).map((e) => [e.sequence, e.tokenId, e.previousHash, e.entryHash, e.hashScheme]),
    legacy.map((e) => [e.sequence, e.tokenId, e.previousHash, e.entryHash, 'sha256']),
  );
  assert.deepEqual(await verify(), { entries: n, headSequence: n, headHash: last.entryHash, unkeyedEntries: n, firstKeyedSequence: null, broken: null });

  for (const e of next) await store.ledger.record(e);
  const appended = (await store.ledger.chain(n, 100))[0];
  assert.equal(appended?.previousHash, last.entryHash);
  assert.equal(appended?.hashScheme, 'hmac-sha256');
  assert.equal(appended?.entryHash, ledgerEntryHash(TEST_LEDGER_CHAIN_KEY, last.entryHash, next[0] as LedgerEntryInput));
  const verdict = await verify();
  assert.equal(verdict.broken, null);
  assert.deepEqual([verdict.entries, verdict.unkeyedEntries, verdict.firstKeyedSequence], [n + next.length, n, n + 1]);
  // A lookup finds the unkeyed prefix's rows and the keyed ones alike: both are Trustbridge's.
  for (const e of [...legacy, ...next]) assert.equal((await store.ledger.get(e.tokenId))?.tokenId, e.tokenId);

  assert.deepEqual(await verify(OTHER_LEDGER_CHAIN_KEY), {
    entries: n,
    headSequence: n,
    headHash: last.entryHash,
    unkeyedEntries: n,
    firstKeyedSequence: n + 1,
    broken: { kind: 'entry-hash', sequence: n + 1, tokenId: next[0]?.tokenId },
  });
}
