import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { immediateWrite, WriteLockBusyError } from '../../../src/store/sqlite/immediate-write';

// Two connections to one WAL database stand for two worker processes: `other` holds the write lock.
describe('store/sqlite immediateWrite', () => {
  let dir: string;
  let db: Database.Database;
  let other: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-unit-immediate-'));
    const path = join(dir, 'test.db');
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
    other = new Database(path);
  });
  afterEach(() => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): string[] => db.prepare<[], { v: string }>('SELECT v FROM t ORDER BY rowid').all().map((r) => r.v);

  it('writes at once when the lock is free, and leaves the busy timeout as it was', async () => {
    const insert = immediateWrite(db, (v: string) => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes);
    assert.equal(await insert('a'), 1);
    assert.deepEqual(rows(), ['a']);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  });

  it('waits for a lock another connection holds without stopping the event loop: the timer that releases the lock fires, and the write then commits', async () => {
    let bodies = 0;
    const insert = immediateWrite(db, (v: string) => {
      bodies++;
      // The body runs with the lock held and the connection's own timeout back in place.
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
      db.prepare('INSERT INTO t (v) VALUES (?)').run(v);
    });
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    let releasedAt = 0;
    // SQLite's busy handler would sleep on this thread for the whole 5 s timeout: this timer could
    // not fire until then, the lock would never be released in time, and the write would fail busy.
    const release = setTimeout(() => {
      releasedAt = performance.now() - started;
      other.exec('COMMIT');
    }, 50);
    try {
      await insert('waited');
    } finally {
      clearTimeout(release);
    }
    const tookMs = performance.now() - started;
    assert.ok(releasedAt >= 45 && releasedAt < 1000, `the releasing timer fired at ${releasedAt.toFixed(0)} ms`);
    assert.ok(tookMs >= releasedAt && tookMs < 2000, `the write took ${tookMs.toFixed(0)} ms`);
    assert.equal(bodies, 1, 'the body ran once, after the lock was free');
    assert.deepEqual(rows(), ['waited']);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  });

  it('a lock held past the busy timeout fails with SQLITE_BUSY, without running the body, and the busy timeout is restored', async () => {
    db.pragma('busy_timeout = 300');
    let bodies = 0;
    const insert = immediateWrite(db, () => {
      bodies++;
    });
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    let ticks = 0;
    let lastTick = performance.now();
    let longestGapMs = 0;
    const ticker = setInterval(() => {
      ticks++;
      longestGapMs = Math.max(longestGapMs, performance.now() - lastTick);
      lastTick = performance.now();
    }, 10);
    const err = await insert().then(
      () => assert.fail('wrote through a held lock'),
      (e: unknown) => e,
    );
    clearInterval(ticker);
    const waitedMs = performance.now() - started;
    assert.ok(err instanceof WriteLockBusyError);
    assert.equal(err.code, 'SQLITE_BUSY');
    assert.match(err.message, /another process held the write lock for 300 ms/);
    assert.ok(waitedMs >= 290 && waitedMs < 2000, `gave up after ${waitedMs.toFixed(0)} ms`);
    // A 10 ms timer kept firing while the write waited (blocked, it would not have fired at all),
    // never held up for long: no attempt sleeps, whatever the retry it is. The bound on the longest
    // gap leaves room for a busy CI machine's pauses (GC, the scheduler), well under the 300 ms a
    // sleep in SQLite's busy handler would take.
    assert.ok(ticks >= 10, `the event loop ran ${ticks} ticks of 10 ms in ${waitedMs.toFixed(0)} ms`);
    assert.ok(longestGapMs < 250, `the timer once waited ${longestGapMs.toFixed(0)} ms`);
    assert.equal(bodies, 0);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 300);
    other.exec('ROLLBACK');
    assert.deepEqual(rows(), []);
  });

  it('a BEGIN that fails for another reason than a busy lock fails at once, without running the body', async () => {
    let bodies = 0;
    const insert = immediateWrite(db, () => {
      bodies++;
    });
    // query_only: SQLite refuses BEGIN IMMEDIATE itself, as not a write this connection may make.
    db.pragma('query_only = ON');
    const started = performance.now();
    await assert.rejects(insert(), (err: { code?: string }) => err.code === 'SQLITE_READONLY');
    assert.ok(performance.now() - started < 1000);
    assert.equal(bodies, 0);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  });

  it('an error from the body is not retried, even one coded busy, and its writes are rolled back', async () => {
    let bodies = 0;
    const failing = immediateWrite(db, () => {
      bodies++;
      db.prepare('INSERT INTO t (v) VALUES (?)').run('rolled back');
      throw Object.assign(new Error('busy inside the transaction'), { code: 'SQLITE_BUSY' });
    });
    await assert.rejects(failing(), /busy inside the transaction/);
    assert.equal(bodies, 1);
    assert.deepEqual(rows(), []);
    assert.equal(db.inTransaction, false);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  });
});
