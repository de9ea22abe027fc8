import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { initInstance } from '../../src/instance/init-instance';
import { openInstance } from '../../src/instance/open-instance';
import type { Logger } from '../../src/server/log';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { startWalCheckpointer } from '../../src/store/sqlite/wal-checkpointer';
import { until } from '../support/until';
import type { Store } from '../../src/store/store';

// The checkpointer thread copies the write-ahead log into the database file so the serving thread's
// COMMITs do not (src/store/sqlite/wal-checkpointer.ts). Until a checkpoint, new pages live only in
// the -wal file; the main file growing is the sign that someone copied them back.

const USERS = 400;
/** Longer than the thread's interval (500 ms) with room for a slow machine. */
const SETTLE_MS = 1500;


/**
 * Makes the next checkpoints of the database at `path` fail with a real I/O error: `write` adds frames
 * to the log while a reader holds the snapshot before them (so no checkpoint may copy them yet), then
 * the log is cut short under them and the reader lets go. Resolves to a function that puts the log back.
 */
async function cutLogUnderNewFrames(path: string, write: () => Promise<void> | void): Promise<() => void> {
  const reader = new Database(path);
  try {
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM sqlite_master').get();
    await write();
    const log = readFileSync(`${path}-wal`);
    truncateSync(`${path}-wal`, 0);
    return () => writeFileSync(`${path}-wal`, log);
  } finally {
    reader.exec('COMMIT');
    reader.close();
  }
}

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

  it('a process that never stops the thread still exits on its own (a serve that fails after opening its store must not hang)', async () => {
    const path = join(dir, 'orphan.db');
    new Database(path).close();
    const started = Date.now();
    const child = spawnSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(require.resolve('../../src/store/sqlite/wal-checkpointer'))}).startWalCheckpointer(${JSON.stringify(path)}, { onError: () => undefined }); console.log('started')`],
      { encoding: 'utf8', timeout: 15_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, 'started\n');
    assert.ok(Date.now() - started < 10_000, 'exited without waiting for the thread');
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

  it('a thread that cannot open the file fails alone: reported once through onError, no exception reaches the process, stop() still resolves', async () => {
    const failures: unknown[] = [];
    const onUncaught = (err: unknown): void => void failures.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const reported: Error[] = [];
      const checkpointer = startWalCheckpointer(join(dir, 'missing.db'), { intervalMs: 50, onError: (err) => reported.push(err) });
      await until(() => reported.length > 0, 'the failure reported');
      await sleep(300);
      await checkpointer.stop();
      assert.deepEqual(reported.map((e) => e.message), ['unable to open database file']);
      assert.deepEqual(failures, []);
      assert.equal(existsSync(join(dir, 'missing.db')), false, 'the thread did not create the file it could not open');
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('checkpoints that start failing (an I/O error) are reported once, not every round; once one succeeds, the next failure is reported again', async () => {
    const db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.transaction(() => {
      const row = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 200; i++) row.run('x'.repeat(500));
    });
    const reported: Error[] = [];
    const checkpointer = startWalCheckpointer(dbPath, { intervalMs: 50, onError: (err) => reported.push(err) });
    try {
      const restore = await cutLogUnderNewFrames(dbPath, () => insert());
      await until(() => reported.length === 1, 'the first failure reported');
      await sleep(500);
      assert.deepEqual(reported.map((e) => e.message), ['disk I/O error'], 'about ten failed rounds, one report');

      const before = statSync(dbPath).size;
      restore();
      await until(() => statSync(dbPath).size > before, 'a checkpoint succeeded once the log was back');
      await cutLogUnderNewFrames(dbPath, () => insert());
      await until(() => reported.length === 2, 'the next failure reported');
      assert.deepEqual(reported.map((e) => e.message), ['disk I/O error', 'disk I/O error']);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('an instance with the checkpoint thread logs its\'s failure once, at error level, with the error\'s message and nothing more (no stack)', async () => {
    const home = join(dir, 'instance');
    await initInstance(home, { demo: false, port: 0 });
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> | undefined }> = [];
    const logger: Logger = { log: (level, msg, fields) => lines.push({ level, msg, fields }) };
    const instance = await openInstance(home, { logger, walCheckpointThread: true });
    try {
      const restore = await cutLogUnderNewFrames(join(home, 'trustbridge.db'), () => addUsers(instance.store));
      const failed = (): typeof lines => lines.filter((l) => l.msg.startsWith('the SQLite checkpoint thread failed'));
      await until(() => failed().length > 0, 'the failure logged');
      await sleep(SETTLE_MS);
      assert.deepEqual(failed(), [
        {
          level: 'error',
          msg: 'the SQLite checkpoint thread failed; the write-ahead log grows until a commit copies it back, inside a request',
          fields: { errorMessage: 'disk I/O error' },
        },
      ]);
      restore();
    } finally {
      await instance.close();
    }
  });
});
