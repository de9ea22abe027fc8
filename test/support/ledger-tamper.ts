import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { inHome } from '../../src/instance/paths';
import { ledgerEntryHash, type LedgerTrust } from '../../src/store/ledger-chain';
import type { IssuanceLedger } from '../../src/store/store';

export interface ServerWithSqliteStore {
  readonly home: string;
  readonly instance: {
    readonly config: { readonly store: { readonly path: string } };
    readonly ledgerTrust: LedgerTrust;
    readonly store: { readonly ledger: IssuanceLedger };
  };
}

/**
 * Rewrites a ledger row's end of lifetime in the instance's SQLite database, as a test's stand-in for
 * the passing of time. The ledger is append-only, so the trigger that guards it is lifted for the one
 * statement and put back. The row's own HMAC is recomputed under the instance's chain key, as only
 * Trustbridge could: a lookup still takes the row for an issued token (without the key it would not),
 * while the next entry's link to it no longer matches (what `sts audit verify` would report).
 */
export async function setLedgerNotOnOrAfter(server: ServerWithSqliteStore, tokenId: string, when: Date): Promise<void> {
  const db = new Database(inHome(server.home, server.instance.config.store.path), { timeout: 5000 });
  try {
    const trigger = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'issuance_ledger_immutable'").get();
    assert.ok(trigger, 'the ledger immutability trigger exists');
    const entry = await server.instance.store.ledger.get(tokenId);
    assert.ok(entry, `no ledger row for ${tokenId}`);
    const link = db.prepare<[string], { previous_hash: string }>('SELECT previous_hash FROM issuance_ledger WHERE token_id = ?').get(tokenId);
    assert.ok(link);
    const entryHash = ledgerEntryHash(server.instance.ledgerTrust.chainKey, link.previous_hash, { ...entry, notOnOrAfter: when });
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
