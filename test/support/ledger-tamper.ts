import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { inHome } from '../../src/instance/paths';

export interface ServerWithSqliteStore {
  readonly home: string;
  readonly instance: { readonly config: { readonly store: { readonly path: string } } };
}

/**
 * Rewrites a ledger row's end of lifetime in the instance's SQLite database, as a test's stand-in for
 * the passing of time. The ledger is append-only, so the trigger that guards it is lifted for the one
 * statement and put back; the row's chain hash no longer matches (what `sts audit verify` would report).
 */
export function setLedgerNotOnOrAfter(server: ServerWithSqliteStore, tokenId: string, when: Date): void {
  const db = new Database(inHome(server.home, server.instance.config.store.path), { timeout: 5000 });
  try {
    const trigger = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'issuance_ledger_immutable'").get();
    assert.ok(trigger, 'the ledger immutability trigger exists');
    db.transaction(() => {
      db.exec('DROP TRIGGER issuance_ledger_immutable');
      const changed = db.prepare('UPDATE issuance_ledger SET not_on_or_after = ? WHERE token_id = ?').run(when.getTime(), tokenId);
      assert.equal(changed.changes, 1, `no ledger row for ${tokenId}`);
      db.exec(trigger.sql);
    }).immediate();
  } finally {
    db.close();
  }
}
