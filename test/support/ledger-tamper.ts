import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { inHome } from '../../src/instance/paths';
import { deriveLedgerChainKey, ledgerEntryHash } from '../../src/store/ledger-chain';

export interface ServerWithSqliteStore {
  readonly home: string;
  readonly instance: { readonly config: { readonly store: { readonly path: string } }; readonly masterKey: Buffer };
}

interface LedgerRow {
  token_id: string;
  token_type: string;
  subject: string;
  audience: string;
  key_thumbprint: string;
  digest: string;
  issued_at: number;
  not_before: number;
  request_id: string;
  renewed_from: string | null;
  renew_allow: number;
  renew_after_expiry: number;
  actor: string | null;
  previous_hash: string;
}

/**
 * Rewrites a ledger row's end of lifetime in the instance's SQLite database, as a test's stand-in for
 * the passing of time. The ledger is append-only, so the trigger that guards it is lifted for the one
 * statement and put back. The row's own HMAC is recomputed under the instance's chain key, as only
 * Trustbridge could: a lookup still takes the row for an issued token (without the key it would not),
 * while the next entry's link to it no longer matches (what `sts audit verify` would report).
 */
export function setLedgerNotOnOrAfter(server: ServerWithSqliteStore, tokenId: string, when: Date): void {
  const db = new Database(inHome(server.home, server.instance.config.store.path), { timeout: 5000 });
  try {
    const trigger = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'issuance_ledger_immutable'").get();
    assert.ok(trigger, 'the ledger immutability trigger exists');
    const row = db.prepare<[string], LedgerRow>('SELECT * FROM issuance_ledger WHERE token_id = ?').get(tokenId);
    assert.ok(row, `no ledger row for ${tokenId}`);
    const entryHash = ledgerEntryHash(deriveLedgerChainKey(server.instance.masterKey), row.previous_hash, {
      tokenId: row.token_id,
      tokenType: row.token_type,
      subject: row.subject,
      audience: row.audience,
      keyThumbprint: row.key_thumbprint,
      digest: row.digest,
      issuedAt: new Date(row.issued_at),
      notBefore: new Date(row.not_before),
      notOnOrAfter: when,
      requestId: row.request_id,
      renewedFrom: row.renewed_from,
      renewAllow: row.renew_allow === 1,
      renewAfterExpiry: row.renew_after_expiry === 1,
      actor: row.actor,
    });
    db.transaction(() => {
      db.exec('DROP TRIGGER issuance_ledger_immutable');
      const changed = db.prepare('UPDATE issuance_ledger SET not_on_or_after = ?, entry_hash = ? WHERE token_id = ?').run(when.getTime(), entryHash, tokenId);
      assert.equal(changed.changes, 1, `no ledger row for ${tokenId}`);
      db.exec(trigger.sql);
    }).immediate();
  } finally {
    db.close();
  }
}
