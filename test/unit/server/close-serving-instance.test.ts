import { strict as assert } from 'node:assert';
import type { KeyRolloverTask } from '../../../src/server/key-rollover-task';
import { closeServingInstance } from '../../../src/server/serve';
import type { Logger, LogLevel } from '../../../src/server/log';
import { STACK_TRACE } from '../../support/ext-trust';

// The last step of a serving process's shutdown, the same for a process serving alone, a worker and
// a cluster's primary: the rollover stops before the instance closes, and a failure is one error line
// (no stack) and an exit code of 1, never an exception out of the shutdown.

describe('server: closing a serving process\'s instance at shutdown', () => {
  let steps: string[];
  let lines: Array<{ level: LogLevel; msg: string; fields: Record<string, unknown> | undefined }>;
  const logger: Logger = { log: (level, msg, fields) => lines.push({ level, msg, fields }) };
  const rollover = (stop: () => Promise<void> = async () => undefined): KeyRolloverTask => ({
    stop: async () => {
      steps.push('rollover stopped');
      await stop();
    },
    check: async () => undefined,
  });
  const instance = (close: () => Promise<void> = async () => undefined) => ({
    close: async () => {
      steps.push('instance closed');
      await close();
    },
  });
  beforeEach(() => {
    steps = [];
    lines = [];
  });

  it('stops the rollover, then closes the instance; true, and nothing logged', async () => {
    assert.equal(await closeServingInstance(instance(), rollover(), logger), true);
    assert.deepEqual(steps, ['rollover stopped', 'instance closed']);
    assert.deepEqual(lines, []);
  });

  it('without a rollover (a worker) only closes the instance', async () => {
    assert.equal(await closeServingInstance(instance(), undefined, logger), true);
    assert.deepEqual(steps, ['instance closed']);
    assert.deepEqual(lines, []);
  });

  it('the instance failing to close: false, one error line with the error\'s name and message and no stack', async () => {
    const failed = await closeServingInstance(instance(async () => Promise.reject(new Error('disk I/O error'))), rollover(), logger);
    assert.equal(failed, false);
    assert.deepEqual(lines, [{ level: 'error', msg: 'closing the store failed', fields: { errorName: 'Error', errorMessage: 'disk I/O error' } }]);
    assert.doesNotMatch(JSON.stringify(lines), STACK_TRACE);
  });

  it('the rollover failing to stop: false, logged the same way, and the instance is not closed under a check still running', async () => {
    const failed = await closeServingInstance(instance(), rollover(async () => Promise.reject(new TypeError('check broke'))), logger);
    assert.equal(failed, false);
    assert.deepEqual(steps, ['rollover stopped']);
    assert.deepEqual(lines, [{ level: 'error', msg: 'closing the store failed', fields: { errorName: 'TypeError', errorMessage: 'check broke' } }]);
  });
});
