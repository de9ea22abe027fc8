import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { batchingLineWriter } from '../../../src/server/log-writer';
import { createJsonLogger } from '../../../src/server/log';

describe('batchingLineWriter', () => {
  it('writes the lines of one turn of the event loop in one write, in order, after that turn', async () => {
    const writes: string[] = [];
    const write = batchingLineWriter((t) => writes.push(t));
    write('a\n');
    write('b\n');
    write('c\n');
    assert.deepEqual(writes, [], 'nothing is written during the turn');
    await nextTurn();
    assert.deepEqual(writes, ['a\nb\nc\n']);
    write('d\n');
    await nextTurn();
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n']);
  });

  it('writes at once when 64 KiB are waiting, so a burst never holds much in memory', async () => {
    const writes: string[] = [];
    const write = batchingLineWriter((t) => writes.push(t));
    const line = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < 64; i++) write(line);
    assert.equal(writes.length, 1);
    assert.equal(writes[0], line.repeat(64));
    write('tail\n');
    await nextTurn();
    assert.deepEqual(writes.slice(1), ['tail\n']);
  });

  it('carries the JSON logger: each line whole and parseable', async () => {
    const writes: string[] = [];
    const logger = createJsonLogger('info', batchingLineWriter((t) => writes.push(t)));
    logger.log('info', 'one', { n: 1 });
    logger.log('debug', 'below the level');
    logger.log('error', 'two', { n: 2 });
    await nextTurn();
    assert.equal(writes.length, 1);
    const lines = (writes[0] ?? '').trimEnd().split('\n').map((l) => JSON.parse(l) as { msg: string; n: number });
    assert.deepEqual(lines.map((l) => [l.msg, l.n]), [['one', 1], ['two', 2]]);
  });

  it('writes what waits before the process exits, process.exit included (the fatal-error path)', () => {
    const module = join(__dirname, '..', '..', '..', 'src', 'server', 'log-writer.js');
    const script = `const w = require(${JSON.stringify(module)}).batchingLineWriter(); w('last words\\n'); process.exit(3);`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3);
    assert.equal(child.stdout, 'last words\n');
  });
});
