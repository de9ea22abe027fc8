// The issuance ledger's hash chain. Each entry's hash covers the hash of the entry before it and the
// entry's immutable fields, so rewriting, deleting or inserting a row afterwards breaks every hash
// from that point on. Both stores compute it with this one function, inside the transaction that
// appends, so the chain is the same whichever store (or node) wrote it.

import { createHash } from 'node:crypto';
import type { ChainedLedgerEntry, LedgerEntryInput } from './store';

/** previousHash of the first entry. */
export const LEDGER_GENESIS_HASH = '0'.repeat(64);

/** Hex SHA-256 over the previous hash and a canonical JSON array of the entry's immutable fields. */
export function ledgerEntryHash(previousHash: string, entry: LedgerEntryInput): string {
  // An array, not an object: the order is fixed here, not by whoever built the entry.
  const canonical = JSON.stringify([
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
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export type ChainBreak =
  | { readonly kind: 'gap'; readonly expectedSequence: number; readonly foundSequence: number }
  | { readonly kind: 'previous-hash'; readonly sequence: number; readonly tokenId: string }
  | { readonly kind: 'entry-hash'; readonly sequence: number; readonly tokenId: string };

export interface ChainVerdict {
  readonly entries: number;
  readonly headSequence: number;
  readonly headHash: string;
  /** The first break found, if any: where the ledger stops being trustworthy. */
  readonly broken: ChainBreak | null;
}

/** Walks the whole chain, page by page, and reports the first entry that does not follow from the one before. */
export async function verifyLedgerChain(
  chain: (afterSequence: number, limit: number) => Promise<ChainedLedgerEntry[]>,
  pageSize = 5000,
): Promise<ChainVerdict> {
  let expectedSequence = 1;
  let previousHash = LEDGER_GENESIS_HASH;
  let entries = 0;
  for (;;) {
    const page = await chain(expectedSequence - 1, pageSize);
    for (const entry of page) {
      const verdict = { entries, headSequence: expectedSequence - 1, headHash: previousHash };
      if (entry.sequence !== expectedSequence) {
        return { ...verdict, broken: { kind: 'gap', expectedSequence, foundSequence: entry.sequence } };
      }
      if (entry.previousHash !== previousHash) {
        return { ...verdict, broken: { kind: 'previous-hash', sequence: entry.sequence, tokenId: entry.tokenId } };
      }
      if (ledgerEntryHash(previousHash, entry) !== entry.entryHash) {
        return { ...verdict, broken: { kind: 'entry-hash', sequence: entry.sequence, tokenId: entry.tokenId } };
      }
      previousHash = entry.entryHash;
      expectedSequence += 1;
      entries += 1;
    }
    if (page.length < pageSize) return { entries, headSequence: expectedSequence - 1, headHash: previousHash, broken: null };
  }
}
