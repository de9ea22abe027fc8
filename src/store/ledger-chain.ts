// The issuance ledger's hash chain. Each entry's hash covers the hash of the entry before it and the
// entry's immutable fields, so rewriting, deleting or inserting a row afterwards breaks every hash
// from that point on. Both stores compute it with this one function, inside the transaction that
// appends, so the chain is the same whichever store (or node) wrote it.
//
// The hash is an HMAC under the chain key, derived from the master key, which is never in the
// database: with plain SHA-256 anyone able to write the store (a database administrator, an SQL
// injection, a restored backup) could slip in an entry for a forged token and recompute every hash
// after it. Entries written before the chain was keyed stay plain SHA-256 (their row says so); they
// can only form a prefix, so a plain entry after a keyed one is itself a break, and only as long a
// prefix as the deployment's config says it wrote (issuedLedgerEntries).

import { createHash, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { ChainedLedgerEntry, LedgerEntryInput, LedgerLink } from './store';

/** previousHash of the first entry. */
export const LEDGER_GENESIS_HASH = '0'.repeat(64);

/** How a row's entryHash was computed: 'sha256' for rows written before the chain was keyed, 'hmac-sha256' since. */
export type LedgerHashScheme = 'sha256' | 'hmac-sha256';

/** The scheme every new entry is written under. */
export const KEYED_LEDGER_HASH_SCHEME: LedgerHashScheme = 'hmac-sha256';

const MASTER_KEY_BYTES = 32;
const CHAIN_KEY_BYTES = 32;

/** The chain key: HKDF-SHA256 of the master key, so every node of a deployment (one master key) derives the same. */
export function deriveLedgerChainKey(masterKey: Buffer): KeyObject {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new Error('the master key must be 32 bytes');
  return createSecretKey(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'trustbridge:ledger-chain:v1', CHAIN_KEY_BYTES)));
}

/**
 * What a store, or a walk of the chain, needs to trust the issuance ledger: the chain key, and how
 * many entries at the chain's start may stand unkeyed. Without it a store refuses to append and
 * vouches for no row.
 */
export interface LedgerTrust {
  /** deriveLedgerChainKey of the master key. */
  readonly chainKey: KeyObject;
  /** How many entries were written before the chain was keyed: audit.unkeyedLedgerEntries (0 for an instance created since). */
  readonly unkeyedEntries: number;
}

/** What a store opened without the chain key answers to an append, rather than writing an entry anyone could forge. */
export class LedgerChainKeyMissingError extends Error {
  constructor() {
    super('this store was opened without the ledger chain key (derived from the master key): it cannot append to the issuance ledger');
    this.name = 'LedgerChainKeyMissingError';
  }
}

/** Hex HMAC-SHA256, under the chain key, of the previous hash and the entry's immutable fields: how entries are chained now. */
export function ledgerEntryHash(chainKey: KeyObject, previousHash: string, entry: LedgerEntryInput): string {
  return createHmac('sha256', chainKey).update(canonicalEntry(previousHash, entry), 'utf8').digest('hex');
}

/** Hex SHA-256 of the same: how entries written before the chain was keyed are chained. */
export function unkeyedLedgerEntryHash(previousHash: string, entry: LedgerEntryInput): string {
  return createHash('sha256').update(canonicalEntry(previousHash, entry), 'utf8').digest('hex');
}

function canonicalEntry(previousHash: string, entry: LedgerEntryInput): string {
  // An array, not an object: the order is fixed here, not by whoever built the entry.
  return JSON.stringify([
    previousHash,
    entry.tokenId,
    entry.tokenType,
    entry.subject,
    entry.audience,
    entry.keyThumbprint,
    entry.digest,
    entry.issuedAt.getTime(),
    entry.notBefore.getTime(),
    entry.notOnOrAfter.getTime(),
    entry.requestId,
    entry.renewedFrom,
    entry.renewAllow,
    entry.renewAfterExpiry,
    entry.actor,
  ]);
}

/**
 * The unkeyed prefix's last sequence, as a store reads it: sha256 rows before the first keyed one
 * (0 when there are none). Only rows up to it may be unkeyed; the chain is keyed from there on.
 */
export const UNKEYED_PREFIX_SQL = `SELECT coalesce(max(sequence), 0) AS n FROM issuance_ledger WHERE hash_scheme = 'sha256'
  AND sequence < coalesce((SELECT min(sequence) FROM issuance_ledger WHERE hash_scheme = '${KEYED_LEDGER_HASH_SCHEME}'), 9223372036854775807)`;

/**
 * Whether a stored row is one Trustbridge wrote, judged on the row alone: keyed, with an HMAC that
 * verifies under the chain key, or within the accepted unkeyed prefix (sequence up to `unkeyedThrough`) with
 * its plain hash right. A row planted by someone who can write the database but lacks the key (the
 * entry a forged token needs) fails, and so does one rewritten afterwards or never linked; a lookup
 * then answers as for a token never issued, which raises the forged-token alert. The full walk
 * (verifyLedgerChain) also finds deleted and reordered rows, which one row cannot show.
 */
export function ledgerRowAuthentic(chainKey: KeyObject, entry: LedgerEntryInput, link: LedgerLink, unkeyedThrough: number): boolean {
  if (link.sequence < 1) return false;
  if (link.hashScheme !== KEYED_LEDGER_HASH_SCHEME && link.sequence > unkeyedThrough) return false;
  return schemeEntryHash(chainKey, link.hashScheme, link.previousHash, entry) === link.entryHash;
}

/** What a ledger lookup answers for a stored row: the entry if Trustbridge wrote it, else undefined (as never issued). */
export type IssuedLedgerEntry = <E extends LedgerEntryInput>(entry: E, link: LedgerLink) => E | undefined;

/**
 * The ledger lookup of both stores, for the trust a store was opened with and the unkeyed prefix it
 * found when it opened (UNKEYED_PREFIX_SQL): an entry only if ledgerRowAuthentic. The prefix accepted
 * ends there, but never past the entries the deployment says it wrote before the chain was keyed
 * (audit.unkeyedLedgerEntries, 0 for an instance created since): the prefix alone is not enough, since
 * someone able to write the database could rewrite the whole chain in plain SHA-256, an entry for a
 * forged token included, and every row would then be "prefix"; the bound comes from the config, which
 * that someone does not write. A store opened without the trust cannot tell, so it answers as for a
 * token never issued: a lookup never vouches for a row it could not check (chain() still reads the
 * rows as stored).
 */
export function issuedLedgerEntries(trust: LedgerTrust | undefined, unkeyedAtOpen: number): IssuedLedgerEntry {
  if (trust === undefined) return () => undefined;
  const unkeyedThrough = Math.min(unkeyedAtOpen, trust.unkeyedEntries);
  return (entry, link) => (ledgerRowAuthentic(trust.chainKey, entry, link, unkeyedThrough) ? entry : undefined);
}

/** The hash `scheme` gives the entry following `previousHash`; undefined for a scheme Trustbridge never writes. */
function schemeEntryHash(chainKey: KeyObject, scheme: string, previousHash: string, entry: LedgerEntryInput): string | undefined {
  if (scheme === KEYED_LEDGER_HASH_SCHEME) return ledgerEntryHash(chainKey, previousHash, entry);
  if (scheme === 'sha256') return unkeyedLedgerEntryHash(previousHash, entry);
  return undefined;
}

export type ChainBreak =
  | { readonly kind: 'gap'; readonly expectedSequence: number; readonly foundSequence: number }
  | { readonly kind: 'previous-hash'; readonly sequence: number; readonly tokenId: string }
  | { readonly kind: 'entry-hash'; readonly sequence: number; readonly tokenId: string }
  /** An unkeyed entry after a keyed one: keying never stops, so it was written by someone without the key. */
  | { readonly kind: 'downgrade'; readonly sequence: number; readonly tokenId: string }
  /** An unkeyed entry past the number the deployment wrote before keying (audit.unkeyedLedgerEntries, `accepted`). */
  | { readonly kind: 'unkeyed-beyond-accepted'; readonly sequence: number; readonly tokenId: string; readonly accepted: number }
  | { readonly kind: 'unknown-scheme'; readonly sequence: number; readonly tokenId: string; readonly scheme: string };

export interface ChainVerdict {
  readonly entries: number;
  readonly headSequence: number;
  readonly headHash: string;
  /**
   * Entries verified without the key: the prefix written before the chain was keyed (sequences 1 to
   * this). Anyone able to write the store could have rewritten them.
   */
  readonly unkeyedEntries: number;
  /** The sequence of the first entry recorded as keyed, once the walk reached one (whether or not it verified). */
  readonly firstKeyedSequence: number | null;
  /** The first break found, if any: where the ledger stops being trustworthy. */
  readonly broken: ChainBreak | null;
}

export interface VerifyLedgerChainOptions {
  readonly pageSize?: number;
}

/** Walks the whole chain, page by page, and reports the first entry that does not follow from the one before. */
export async function verifyLedgerChain(
  chain: (afterSequence: number, limit: number) => Promise<ChainedLedgerEntry[]>,
  trust: LedgerTrust,
  options: VerifyLedgerChainOptions = {},
): Promise<ChainVerdict> {
  const { chainKey, unkeyedEntries: accepted } = trust;
  const { pageSize = 5000 } = options;
  let expectedSequence = 1;
  let previousHash = LEDGER_GENESIS_HASH;
  let unkeyedEntries = 0;
  let firstKeyedSequence: number | null = null;
  const verdict = (broken: ChainBreak | null): ChainVerdict => ({
    entries: expectedSequence - 1,
    headSequence: expectedSequence - 1,
    headHash: previousHash,
    unkeyedEntries,
    firstKeyedSequence,
    broken,
  });
  for (;;) {
    const page = await chain(expectedSequence - 1, pageSize);
    for (const entry of page) {
      if (entry.sequence !== expectedSequence) return verdict({ kind: 'gap', expectedSequence, foundSequence: entry.sequence });
      const at = { sequence: entry.sequence, tokenId: entry.tokenId };
      if (entry.previousHash !== previousHash) return verdict({ kind: 'previous-hash', ...at });
      const keyed = entry.hashScheme === KEYED_LEDGER_HASH_SCHEME;
      if (keyed) firstKeyedSequence ??= entry.sequence;
      else if (entry.hashScheme === 'sha256') {
        if (firstKeyedSequence !== null) return verdict({ kind: 'downgrade', ...at });
        if (entry.sequence > accepted) return verdict({ kind: 'unkeyed-beyond-accepted', ...at, accepted });
      }
      const expected = schemeEntryHash(chainKey, entry.hashScheme, previousHash, entry);
      if (expected === undefined) return verdict({ kind: 'unknown-scheme', ...at, scheme: entry.hashScheme });
      if (expected !== entry.entryHash) return verdict({ kind: 'entry-hash', ...at });
      if (!keyed) unkeyedEntries += 1;
      previousHash = entry.entryHash;
      expectedSequence += 1;
    }
    if (page.length < pageSize) return verdict(null);
  }
}
