import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { initDemoInstance, jsonLines } from '../support/ops-client';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { freePort, killAllStsProcesses, SERVE_READY, StsProcess } from '../support/unit-cli';
import { until } from '../support/until';

// SQLite's write-ahead log is copied back into the database file by one process per host: the one
// serving alone, or a cluster's primary for all its workers, so no worker pays a thread (and its
// heap) for it. Until someone checkpoints, new pages live only in the -wal file: the database file
// growing is the sign that someone copied them back.

/** Longer than the checkpoint interval (500 ms), with room for a slow machine. */
const SETTLE_MS = 1500;
const ROWS = 2000;

/** Writes some 300 KB through a connection of the test's own, in one transaction: below its autocheckpoint, so it copies nothing back itself. */
function writeRows(db: Database.Database, scope: string): void {
  const insert = db.prepare('INSERT INTO replay_cache (scope, key, expires_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(scope, `${i}-${'k'.repeat(120)}`, Number.MAX_SAFE_INTEGER);
  })();
}

function checkpointLines(sts: StsProcess): Array<Record<string, unknown>> {
  return jsonLines(sts.stdout)
    .filter((l) => l['msg'] === 'SQLite checkpoints')
    .map(({ pid, by, for: forWhom }) => ({ pid, by, ...(forWhom === undefined ? {} : { for: forWhom }) }));
}

describe('ops: who copies SQLite\'s write-ahead log back', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let dbPath: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ops-checkpoints-'));
    home = join(parent, 'instance');
    initDemoInstance(home);
    dbPath = join(home, 'trustbridge.db');
  });
  afterEach(async () => {
    await killAllStsProcesses();
    rmSync(parent, { recursive: true, force: true });
  });

  it('with two workers the primary does it for both: paused, nothing is copied; running, the log is copied back; it shuts down cleanly', async () => {
    const { sts, workers } = await serveTwoWorkers(home);
    await sts.waitForLines('"SQLite checkpoints"', 3);
    assert.deepEqual(
      checkpointLines(sts).sort((a, b) => Number(a['pid']) - Number(b['pid'])),
      [{ pid: sts.pid, by: 'this process', for: 'its workers' }, ...workers.map((pid) => ({ pid, by: 'the primary' }))].sort(
        (a, b) => Number(a.pid) - Number(b.pid),
      ),
    );

    const db = new Database(dbPath);
    try {
      db.pragma('busy_timeout = 5000');
      // The primary stopped, the workers running: nobody else copies the log back.
      process.kill(sts.pid, 'SIGSTOP');
      let before: number;
      try {
        before = statSync(dbPath).size;
        writeRows(db, 'while-the-primary-is-stopped');
        await sleep(SETTLE_MS);
        assert.equal(statSync(dbPath).size, before, 'no worker checkpointed');
      } finally {
        process.kill(sts.pid, 'SIGCONT');
      }
      await until(() => statSync(dbPath).size > before + 100_000, 'the primary copied the log back', 10_000);
    } finally {
      db.close();
    }

    sts.child.kill('SIGTERM');
    assert.deepEqual(await sts.waitForExit(30_000), { code: 0, signal: null });
    const primaryEnd = jsonLines(sts.stdout).filter((l) => l['pid'] === sts.pid && l['msg'] === 'shut down');
    assert.equal(primaryEnd.length, 1);
    assert.equal(primaryEnd[0]?.['level'], 'info');
    assert.equal(jsonLines(sts.stdout).filter((l) => l['level'] === 'error').length, 0, sts.stdout);
    assert.equal(sts.stderr, '');
  });

  it('a process serving alone does it itself', async () => {
    const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(await freePort())]);
    await sts.waitForOutput(SERVE_READY, 30_000);
    await sts.waitForLines('"SQLite checkpoints"', 1);
    assert.deepEqual(checkpointLines(sts), [{ pid: sts.pid, by: 'this process' }]);
    const db = new Database(dbPath);
    try {
      const before = statSync(dbPath).size;
      writeRows(db, 'alone');
      await until(() => statSync(dbPath).size > before + 100_000, 'the serving process copied the log back', 10_000);
    } finally {
      db.close();
    }
  });
});
