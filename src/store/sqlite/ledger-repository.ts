import type { KeyObject } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  issuedLedgerEntries,
  KEYED_LEDGER_HASH_SCHEME,
  LEDGER_GENESIS_HASH,
  LedgerChainKeyMissingError,
  ledgerEntryHash,
  type LedgerTrust,
  UNKEYED_PREFIX_SQL,
  unkeyedLedgerEntryHash,
} from '../ledger-chain';
import type { ChainedLedgerEntry, IssuanceLedger, LedgerEntry, LedgerEntryInput, LedgerLink } from '../store';
import { GroupCommit } from '../group-commit';
import { immediateWrite } from './immediate-write';

interface LedgerRow {
  token_id: string;
  token_type: string;
  subject: string;
  audience: string;
  key_thumbprint: string;
  digest: string;
  issued_at: number;
  not_before: number;
  not_on_or_after: number;
  request_id: string;
  renewed_from: string | null;
  renew_allow: number;
  renew_after_expiry: number;
  cancelled_at: number | null;
  actor: string | null;
  sequence: number | null;
  previous_hash: string | null;
  entry_hash: string | null;
  hash_scheme: string;
}

interface ChainHead {
  sequence: number;
  entry_hash: string;
}

export interface SqliteLedger extends IssuanceLedger {
  /** Commits rows still waiting for their group commit (before the database closes). */
  flush(): Promise<void>;
}

/**
 * The issuance ledger on SQLite: each row is appended with the next sequence number and the hash
 * chaining it to the row before, inside the write transaction, so worker processes appending at the
 * same time still build one chain (SQLite has one writer at a time; BEGIN IMMEDIATE takes the lock
 * before the head is read). Without the chain key it reads but refuses to append.
 */
export function sqliteLedger(
  db: Database.Database,
  explain: (what: string, err: unknown) => unknown,
  trust: LedgerTrust | undefined,
): SqliteLedger {
  chainUnlinkedLedgerRows(db);
  const st = {
    head: db.prepare<[], ChainHead>(
      'SELECT sequence, entry_hash FROM issuance_ledger WHERE sequence IS NOT NULL ORDER BY sequence DESC LIMIT 1',
    ),
    add: db.prepare(
      `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest,
         issued_at, not_before, not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor,
         sequence, previous_hash, entry_hash, hash_scheme)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    cancel: db.prepare('UPDATE issuance_ledger SET cancelled_at = ? WHERE token_id = ? AND cancelled_at IS NULL'),
    get: db.prepare<[string], LedgerRow>('SELECT * FROM issuance_ledger WHERE token_id = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM issuance_ledger'),
    chain: db.prepare<[number, number], LedgerRow>(
      'SELECT * FROM issuance_ledger WHERE sequence > ? ORDER BY sequence LIMIT ?',
    ),
    unkeyedPrefix: db.prepare<[], { n: number }>(UNKEYED_PREFIX_SQL),
  };
  // Read once: rows appended from now on are keyed, so the prefix cannot legitimately grow.
  const unkeyedAtOpen = st.unkeyedPrefix.get()?.n ?? 0;
  const issued = issuedLedgerEntries(trust, unkeyedAtOpen);
  // The chain's head, read once per transaction (under the write lock) and moved on by each append.
  let head: ChainHead = { sequence: 0, entry_hash: LEDGER_GENESIS_HASH };
  const readHead = (): void => {
    head = st.head.get() ?? { sequence: 0, entry_hash: LEDGER_GENESIS_HASH };
  };
  const append = (key: KeyObject, e: LedgerEntryInput): void => {
    const previousHash = head.entry_hash;
    const entryHash = ledgerEntryHash(key, previousHash, e);
    const sequence = head.sequence + 1;
    st.add.run(
      e.tokenId,
      e.tokenType,
      e.subject,
      e.audience,
      e.keyThumbprint,
      e.digest,
      e.issuedAt.getTime(),
      e.notBefore.getTime(),
      e.notOnOrAfter.getTime(),
      e.requestId,
      e.renewedFrom,
      e.renewAllow ? 1 : 0,
      e.renewAfterExpiry ? 1 : 0,
      e.actor,
      sequence,
      previousHash,
      entryHash,
      KEYED_LEDGER_HASH_SCHEME,
    );
    head = { sequence, entry_hash: entryHash };
  };
  // BEGIN IMMEDIATE takes the write lock first (waiting up to busy_timeout for another process, off
  // the event loop), so the head read inside cannot change before the rows are in.
  const appendAll = immediateWrite(db, (key: KeyObject, take: () => readonly LedgerEntryInput[]) => {
    readHead();
    for (const e of take()) append(key, e);
  });
  // Every Issue and Renew writes one ledger row before its reply leaves: concurrent requests share a transaction.
  const writes =
    trust === undefined
      ? undefined
      : new GroupCommit<LedgerEntryInput>((take) => appendAll(trust.chainKey, take), (e, err) => explain(`token ${e.tokenId}`, err));
  return {
    record: (e) => (writes === undefined ? Promise.reject(new LedgerChainKeyMissingError()) : writes.add(e)),
    cancel: async (tokenId, at) => st.cancel.run(at.getTime(), tokenId).changes === 1,
    get: async (tokenId) => {
      const row = st.get.get(tokenId);
      return row === undefined ? undefined : issued(toLedgerEntry(row), toLedgerLink(row));
    },
    unkeyedAtOpen,
    count: async () => st.count.get()?.n ?? 0,
    chain: async (afterSequence, limit) => st.chain.all(afterSequence, limit).map(toChainedEntry),
    flush: async () => writes?.flush(),
  };
}

/**
 * Links rows written before the chain existed (schema 4 and older), in the order they were inserted.
 * Unkeyed, whatever key the store holds: a row slipped in unlinked must not gain a valid keyed hash
 * from a restart. Linked after a keyed entry, it is a downgrade, which verification names.
 */
function chainUnlinkedLedgerRows(db: Database.Database): void {
  const unlinked = db.prepare<[], LedgerRow>('SELECT * FROM issuance_ledger WHERE sequence IS NULL ORDER BY rowid');
  const head = db.prepare<[], ChainHead>(
    'SELECT sequence, entry_hash FROM issuance_ledger WHERE sequence IS NOT NULL ORDER BY sequence DESC LIMIT 1',
  );
  const link = db.prepare(
    "UPDATE issuance_ledger SET sequence = ?, previous_hash = ?, entry_hash = ?, hash_scheme = 'sha256' WHERE token_id = ?",
  );
  db.transaction(() => {
    const start = head.get();
    let sequence = start?.sequence ?? 0;
    let previousHash = start?.entry_hash ?? LEDGER_GENESIS_HASH;
    for (const row of unlinked.all()) {
      const entryHash = unkeyedLedgerEntryHash(previousHash, toLedgerEntry(row));
      sequence += 1;
      link.run(sequence, previousHash, entryHash, row.token_id);
      previousHash = entryHash;
    }
  }).immediate();
}

const toLedgerEntry = (r: LedgerRow): LedgerEntry => ({
  tokenId: r.token_id,
  tokenType: r.token_type,
  subject: r.subject,
  audience: r.audience,
  keyThumbprint: r.key_thumbprint,
  digest: r.digest,
  issuedAt: new Date(r.issued_at),
  notBefore: new Date(r.not_before),
  notOnOrAfter: new Date(r.not_on_or_after),
  requestId: r.request_id,
  renewedFrom: r.renewed_from,
  renewAllow: r.renew_allow === 1,
  renewAfterExpiry: r.renew_after_expiry === 1,
  cancelledAt: r.cancelled_at === null ? null : new Date(r.cancelled_at),
  actor: r.actor,
});

// An unlinked row (no sequence yet) has sequence 0, which no authentic entry has.
const toLedgerLink = (r: LedgerRow): LedgerLink => ({
  sequence: r.sequence ?? 0,
  previousHash: r.previous_hash ?? '',
  entryHash: r.entry_hash ?? '',
  hashScheme: r.hash_scheme,
});

const toChainedEntry = (r: LedgerRow): ChainedLedgerEntry => ({ ...toLedgerEntry(r), ...toLedgerLink(r) });
