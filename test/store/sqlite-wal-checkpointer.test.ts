import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { startWalCheckpointer } from '../../src/store/sqlite/wal-checkpointer';
import type { Store } from '../../src/store/store';

// The checkpointer thread copies the write-ahead log into the database file so the serving thread's
// COMMITs do not (src/store/sqlite/wal-checkpointer.ts). Until a checkpoint, new pages live only in
// the -wal file; the main file growing is the sign that someone copied them back.

const USERS = 400;
/** Longer than the thread's interval (500 ms) with room for a slow machine. */
const SETTLE_MS = 1500;

async function addUsers(store: Store): Promise<void> {
  for (let i = 0; i < USERS; i++) {
    await store.users.add({ name: `user-${i}`, passwordHash: 'h'.repeat(200), sealedPassword: null, claims: [], createdAt: new Date() });
  }
}

describe('SQLite store: WAL checkpoints on a thread of their own', function () {
  this.timeout(20_000);
  let dir: string;
  let dbPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sts-wal-'));
    dbPath = join(dir, 'sts.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a serving store (backgroundCheckpoints) has its log copied into the database file while it runs', async () => {
    const store = openSqliteStore(dbPath, { backgroundCheckpoints: true });
    try {
      const before = statSync(dbPath).size;
      await addUsers(store);
      await sleep(SETTLE_MS);
      const after = statSync(dbPath).size;
      assert.ok(after > before + 100_000, `the database file grew from ${before} to ${after} bytes without any COMMIT crossing the autocheckpoint`);
      assert.equal((await store.users.list()).length, USERS, 'the store reads every row as before');
    } finally {
      await store.close();
    }
  });

  it('a store opened without it (a CLI command) leaves the log alone below the autocheckpoint threshold', async () => {
    const store = openSqliteStore(dbPath);
    try {
      const before = statSync(dbPath).size;
      await addUsers(store);
      await sleep(SETTLE_MS);
      assert.equal(statSync(dbPath).size, before, 'nothing copied the log: the thread is what did it above');
    } finally {
      await store.close();
    }
  });

  it('close() stops the thread promptly and leaves every row readable by a new connection', async () => {
    const store = openSqliteStore(dbPath, { backgroundCheckpoints: true });
    await addUsers(store);
    const started = Date.now();
    await store.close();
    assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
    const db = new Database(dbPath, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM users').get(), { n: USERS });
    } finally {
      db.close();
    }
  });

  it('a thread that cannot open the file fails alone: no exception reaches the process, stop() still resolves', async () => {
    const failures: unknown[] = [];
    const onUncaught = (err: unknown): void => void failures.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const checkpointer = startWalCheckpointer(join(dir, 'missing.db'), 50);
      await sleep(300);
      await checkpointer.stop();
      assert.deepEqual(failures, []);
      assert.equal(existsSync(join(dir, 'missing.db')), false, 'the thread did not create the file it could not open');
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
