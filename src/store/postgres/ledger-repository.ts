import type { KeyObject } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  issuedLedgerEntries,
  KEYED_LEDGER_HASH_SCHEME,
  LEDGER_GENESIS_HASH,
  LedgerChainKeyMissingError,
  ledgerEntryHash,
  type LedgerTrust,
  UNKEYED_PREFIX_SQL,
} from '../ledger-chain';
import { AlreadyExistsError, type ChainedLedgerEntry, type IssuanceLedger, type LedgerEntry, type LedgerEntryInput, type LedgerLink } from '../store';
import { ADVISORY_LOCK_SPACE, LEDGER_APPEND_LOCK } from './advisory-locks';
import { GroupCommit } from '../group-commit';
import { isUniqueViolation } from './pg-errors';

interface LedgerRow {
  token_id: string;
  token_type: string;
  subject: string;
  audience: string;
  key_thumbprint: string;
  digest: string;
  issued_at: Date;
  not_before: Date;
  not_on_or_after: Date;
  request_id: string;
  renewed_from: string | null;
  renew_allow: boolean;
  renew_after_expiry: boolean;
  cancelled_at: Date | null;
  actor: string | null;
  sequence: string;
  previous_hash: string;
  entry_hash: string;
  hash_scheme: string;
}

export interface PostgresLedger extends IssuanceLedger {
  /** Resolves once rows waiting for their group commit are written (before the pool closes). */
  flush(): Promise<void>;
}

// Writers serialise on an advisory lock taken inside the appending transaction, then read the head.
// Why a lock rather than SELECT … FOR UPDATE on a one-row head table: the head is the ledger's last
// row itself (read through the unique sequence index), so there is no second copy to keep in step,
// nothing to update per batch, and the lock goes with the transaction whatever ends it (commit,
// rollback, a node killed mid-write). The three statements go in one round trip: in READ COMMITTED
// each statement takes a fresh snapshot, so the head is read after the lock is held.
const LOCK_AND_READ_HEAD =
  `BEGIN; SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LEDGER_APPEND_LOCK}); ` +
  'SELECT sequence, entry_hash FROM issuance_ledger ORDER BY sequence DESC LIMIT 1';

// One statement for any batch size: the rows go in as parallel arrays, the batch's one hash scheme beside them.
const INSERT_ROWS = {
  name: 'ledger-insert',
  text: `INSERT INTO issuance_ledger (token_id, token_type, subject, audience, key_thumbprint, digest, issued_at, not_before,
           not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor, sequence, previous_hash, entry_hash,
           hash_scheme)
         SELECT rows.*, $18::text FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
           $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::boolean[], $13::boolean[], $14::text[],
           $15::bigint[], $16::text[], $17::text[]) AS rows`,
};

/** The unkeyed prefix's last sequence (see UNKEYED_PREFIX_SQL), read once when the store opens: rows appended since are keyed. */
export async function readUnkeyedLedgerPrefix(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(UNKEYED_PREFIX_SQL);
  return Number(rows[0]?.n ?? 0);
}

/**
 * The issuance ledger on PostgreSQL: rows are appended with the next sequence number and the hash
 * chaining them to the row before, inside the transaction that holds the append lock, so any number
 * of nodes appending at once still build one chain. Without the chain key it reads but refuses to append;
 * with it, a lookup takes only rows whose own hash verifies (issuedLedgerEntries).
 */
export function postgresLedger(pool: Pool, trust: LedgerTrust | undefined, unkeyedAtOpen: number): PostgresLedger {
  const issued = issuedLedgerEntries(trust, unkeyedAtOpen);
  const appendAll = async (key: KeyObject, take: () => readonly LedgerEntryInput[]): Promise<void> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await appendInTransaction(client, key, take);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
  // Every Issue and Renew writes one ledger row before its reply leaves: concurrent requests share a transaction.
  // Only the token id's key means "already exists"; a clash on the sequence would be a fork averted, not a duplicate.
  const explain = (e: LedgerEntryInput, err: unknown): unknown =>
    isUniqueViolation(err, 'issuance_ledger_pkey') ? new AlreadyExistsError(`token ${e.tokenId}`) : err;
  const writes = trust === undefined ? undefined : new GroupCommit<LedgerEntryInput>((take) => appendAll(trust.chainKey, take), explain);

  return {
    record: (e) => (writes === undefined ? Promise.reject(new LedgerChainKeyMissingError()) : writes.add(e)),
    cancel: async (tokenId, at) => {
      const result = await pool.query('UPDATE issuance_ledger SET cancelled_at = $1 WHERE token_id = $2 AND cancelled_at IS NULL', [at, tokenId]);
      return result.rowCount === 1;
    },
    get: async (tokenId) => {
      const { rows } = await pool.query<LedgerRow>({ name: 'ledger-get', text: 'SELECT * FROM issuance_ledger WHERE token_id = $1', values: [tokenId] });
      const row = rows[0];
      return row === undefined ? undefined : issued(toLedgerEntry(row), toLedgerLink(row));
    },
    unkeyedAtOpen,
    count: async () => {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM issuance_ledger');
      return Number(rows[0]?.n ?? 0);
    },
    chain: async (afterSequence, limit) => {
      const { rows } = await pool.query<LedgerRow>('SELECT * FROM issuance_ledger WHERE sequence > $1 ORDER BY sequence LIMIT $2', [
        afterSequence,
        limit,
      ]);
      return rows.map(toChainedEntry);
    },
    flush: async () => writes?.flush(),
  };
}

/** Takes the rows to write once the lock is held: those that queued while it was awaited join in. */
async function appendInTransaction(client: PoolClient, key: KeyObject, take: () => readonly LedgerEntryInput[]): Promise<void> {
  const results = (await client.query(LOCK_AND_READ_HEAD)) as unknown as Array<{ rows: Array<{ sequence: string; entry_hash: string }> }>;
  const entries = take();
  const head = results[2]?.rows[0];
  let sequence = head === undefined ? 0 : Number(head.sequence);
  let previousHash = head?.entry_hash ?? LEDGER_GENESIS_HASH;
  const columns: unknown[][] = Array.from({ length: 17 }, () => []);
  for (const e of entries) {
    const entryHash = ledgerEntryHash(key, previousHash, e);
    sequence += 1;
    const values = [
      e.tokenId,
      e.tokenType,
      e.subject,
      e.audience,
      e.keyThumbprint,
      e.digest,
      e.issuedAt,
      e.notBefore,
      e.notOnOrAfter,
      e.requestId,
      e.renewedFrom,
      e.renewAllow,
      e.renewAfterExpiry,
      e.actor,
      sequence,
      previousHash,
      entryHash,
    ];
    values.forEach((v, i) => columns[i]?.push(v));
    previousHash = entryHash;
  }
  await client.query({ ...INSERT_ROWS, values: [...columns, KEYED_LEDGER_HASH_SCHEME] });
  await client.query('COMMIT');
}

const toLedgerEntry = (r: LedgerRow): LedgerEntry => ({
  tokenId: r.token_id,
  tokenType: r.token_type,
  subject: r.subject,
  audience: r.audience,
  keyThumbprint: r.key_thumbprint,
  digest: r.digest,
  issuedAt: r.issued_at,
  notBefore: r.not_before,
  notOnOrAfter: r.not_on_or_after,
  requestId: r.request_id,
  renewedFrom: r.renewed_from,
  renewAllow: r.renew_allow,
  renewAfterExpiry: r.renew_after_expiry,
  cancelledAt: r.cancelled_at,
  actor: r.actor,
});

const toLedgerLink = (r: LedgerRow): LedgerLink => ({
  sequence: Number(r.sequence),
  previousHash: r.previous_hash,
  entryHash: r.entry_hash,
  hashScheme: r.hash_scheme,
});

const toChainedEntry = (r: LedgerRow): ChainedLedgerEntry => ({ ...toLedgerEntry(r), ...toLedgerLink(r) });
