import { strict as assert } from 'node:assert';
import { GroupCommit, type BatchWriter } from '../../../src/store/group-commit';

// Both ledgers' group commit, against a scripted writer: which rows share a transaction,
// and who is told what when a transaction fails before or after it took its rows.
describe('store GroupCommit', () => {
  const explain = (item: string, err: unknown): Error => new Error(`${item}: ${(err as Error).message}`);
  const settle = (p: Promise<void>): Promise<string> => p.then(() => 'ok', (e: Error) => e.message);

  it('rows added in one turn share one transaction', async () => {
    const batches: string[][] = [];
    const commit = new GroupCommit<string>(async (take) => void batches.push([...take()]), explain);
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
    const commit = new GroupCommit<string>(writer, explain);
    const results = await Promise.all(['a', 'dup', 'c'].map((r) => settle(commit.add(r))));
    assert.deepEqual(results, ['ok', 'dup: duplicate key', 'ok']);
    assert.deepEqual(calls, [['a', 'dup', 'c'], ['a'], ['dup'], ['c']]);
  });

  it('a failure before any row was taken (no connection) fails every waiting row at once, with one attempt, not one per row', async () => {
    let attempts = 0;
    const commit = new GroupCommit<string>(async () => {
      attempts++;
      throw new Error('connect ECONNREFUSED');
    }, explain);
    const results = await Promise.all(['a', 'b', 'c'].map((r) => settle(commit.add(r))));
    assert.deepEqual(results, ['a: connect ECONNREFUSED', 'b: connect ECONNREFUSED', 'c: connect ECONNREFUSED']);
    assert.equal(attempts, 1);
  });
});
