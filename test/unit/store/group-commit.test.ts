import { strict as assert } from 'node:assert';
import { GroupCommit, type BatchWriter } from '../../../src/store/group-commit';

// Both ledgers' group commit, against a scripted writer: which rows share a transaction,
// and who is told what when a transaction fails before or after it took its rows.
describe('store GroupCommit', () => {
  const explain = (item: string, err: unknown): Error => new Error(`${item}: ${(err as Error).message}`);
  const settle = (p: Promise<void>): Promise<string> => p.then(() => 'ok', (e: Error) => e.message);
  // A clock that stands still: rows added in one turn then share a transaction even on a machine
  // slow enough to take a millisecond between two adds.
  const oneInstant = (): number => 0;

  it('rows added in one turn share one transaction', async () => {
    const batches: string[][] = [];
    const commit = new GroupCommit<string>(async (take) => void batches.push([...take()]), explain, oneInstant);
    assert.deepEqual(await Promise.all(['a', 'b', 'c'].map((r) => settle(commit.add(r)))), ['ok', 'ok', 'ok']);
    assert.deepEqual(batches, [['a', 'b', 'c']]);
  });

  it('a batch failing after it took its rows is retried row by row: the failing row alone fails', async () => {
    const calls: string[][] = [];
    const writer: BatchWriter<string> = async (take) => {
      const rows = take();
      calls.push([...rows]);
      if (rows.includes('dup')) throw new Error('duplicate key');
    };
    const commit = new GroupCommit<string>(writer, explain, oneInstant);
    const results = await Promise.all(['a', 'dup', 'c'].map((r) => settle(commit.add(r))));
    assert.deepEqual(results, ['ok', 'dup: duplicate key', 'ok']);
    assert.deepEqual(calls, [['a', 'dup', 'c'], ['a'], ['dup'], ['c']]);
  });

  it('a failure before any row was taken (no connection) fails every waiting row at once, with one attempt, not one per row', async () => {
    let attempts = 0;
    const commit = new GroupCommit<string>(async () => {
      attempts++;
      throw new Error('connect ECONNREFUSED');
    }, explain, oneInstant);
    const results = await Promise.all(['a', 'b', 'c'].map((r) => settle(commit.add(r))));
    assert.deepEqual(results, ['a: connect ECONNREFUSED', 'b: connect ECONNREFUSED', 'c: connect ECONNREFUSED']);
    assert.equal(attempts, 1);
  });

  describe('a long turn: the oldest waiting row reaching 1 ms starts the transaction at once', () => {
    // A clock moved by hand, and a writer that notes whether it ran before the turn ended (setImmediate).
    const scripted = (): { commit: GroupCommit<string>; batches: string[][]; log: string[]; at: (ms: number) => void } => {
      let clock = 0;
      const batches: string[][] = [];
      const log: string[] = [];
      const commit = new GroupCommit<string>(
        async (take) => {
          const rows = [...take()];
          batches.push(rows);
          log.push(`commit ${rows.join(',')}`);
        },
        explain,
        () => clock,
      );
      return { commit, batches, log, at: (ms) => void (clock = ms) };
    };

    it('rows younger than 1 ms wait for the end of the turn; the row that finds the oldest 1 ms old commits with it at once', async () => {
      const { commit, batches, log, at } = scripted();
      at(10);
      const a = commit.add('a');
      at(10.9);
      const b = commit.add('b');
      assert.deepEqual(batches, [], 'nothing is committed while the oldest row is younger than 1 ms');
      at(11);
      const c = commit.add('c');
      // Started in add() itself, before the turn ends: the writer took a, b and c.
      assert.deepEqual(batches, [['a', 'b', 'c']]);
      at(11.2);
      const d = commit.add('d');
      const turnEnded = new Promise<void>((resolve) => setImmediate(() => resolve(void log.push('turn ended'))));
      assert.deepEqual(await Promise.all([a, b, c, d].map(settle)), ['ok', 'ok', 'ok', 'ok']);
      await turnEnded;
      // d arrived while the first transaction was under way, and went into the next one.
      assert.deepEqual(batches, [['a', 'b', 'c'], ['d']]);
      assert.deepEqual(log, ['commit a,b,c', 'commit d', 'turn ended']);
    });

    it('the age counts from the oldest row still waiting, not from the last commit', async () => {
      const { commit, batches, at } = scripted();
      at(0);
      const first = [commit.add('a'), commit.add('b')];
      assert.deepEqual(await Promise.all(first.map(settle)), ['ok', 'ok']);
      assert.deepEqual(batches, [['a', 'b']]);
      // Much later, a new row is the oldest: a second row 0.5 ms after it does not start a commit.
      at(50);
      const c = commit.add('c');
      at(50.5);
      const d = commit.add('d');
      assert.deepEqual(batches, [['a', 'b']]);
      assert.deepEqual(await Promise.all([c, d].map(settle)), ['ok', 'ok']);
      assert.deepEqual(batches, [['a', 'b'], ['c', 'd']]);
    });

    it('an early commit that fails after taking its rows is retried row by row like any other', async () => {
      let clock = 0;
      const calls: string[][] = [];
      const commit = new GroupCommit<string>(
        async (take) => {
          const rows = take();
          calls.push([...rows]);
          if (rows.includes('dup')) throw new Error('duplicate key');
        },
        explain,
        () => clock,
      );
      const a = commit.add('a');
      clock = 2;
      const dup = commit.add('dup');
      assert.deepEqual(calls, [['a', 'dup']], 'started by the second add');
      assert.deepEqual(await Promise.all([a, dup].map(settle)), ['ok', 'dup: duplicate key']);
      assert.deepEqual(calls, [['a', 'dup'], ['a'], ['dup']]);
    });
  });
});
