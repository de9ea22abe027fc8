import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { ServingInstance } from '../../src/instance/open-instance';
import { inHome } from '../../src/instance/paths';

/** Every table of an instance's SQLite store: how many rows, and a digest of all of them. */
export interface StoreSnapshot {
  readonly tables: Readonly<Record<string, { readonly rows: number; readonly digest: string }>>;
}

/**
 * Reads the whole store through a read-only connection of its own (never the server's), so a test
 * sees exactly what is committed: the ledger, replay caches, cancellations, keys, users, everything
 * but the audit trail.
 */
export function takeStoreSnapshot(server: { readonly home: string; readonly instance: ServingInstance }): StoreSnapshot {
  const db = new Database(inHome(server.home, server.instance.config.store.path), { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const names = db
      // The audit trail records every attack (that is its job): it is the one table meant to grow.
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'audit_events' ORDER BY name`)
      .all() as { name: string }[];
    const tables: Record<string, { rows: number; digest: string }> = {};
    for (const { name } of names) {
      const columns = (db.prepare(`SELECT count(*) AS n FROM pragma_table_info(?)`).get(name) as { n: number }).n;
      const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
      const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY ${order}`).raw().all();
      tables[name] = { rows: rows.length, digest: createHash('sha256').update(JSON.stringify(rows)).digest('base64') };
    }
    return { tables };
  } finally {
    db.close();
  }
}

/** Fails naming every table whose rows differ between the two snapshots. */
export function assertStoreUnchanged(before: StoreSnapshot, after: StoreSnapshot): void {
  assertStoreChange(before, after, {});
}

/**
 * Fails unless exactly the tables in `rowsAdded` changed, each by that many new rows, and every
 * other table is as it was, row for row.
 */
export function assertStoreChange(before: StoreSnapshot, after: StoreSnapshot, rowsAdded: Readonly<Record<string, number>>): void {
  const tables = [...new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])];
  const changed = tables
    .filter((t) => before.tables[t]?.digest !== after.tables[t]?.digest)
    .map((t) => `${t} (${before.tables[t]?.rows ?? 'absent'} → ${after.tables[t]?.rows ?? 'absent'} rows)`);
  const expected = Object.entries(rowsAdded).map(([t, n]) => `${t} (${before.tables[t]?.rows ?? 'absent'} → ${(before.tables[t]?.rows ?? 0) + n} rows)`);
  assert.deepEqual(changed.sort(), expected.sort(), `the store changed: ${changed.join(', ') || 'nothing'}`);
}
