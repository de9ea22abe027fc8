import { strict as assert } from 'node:assert';
import type { AuditTrail, UnstoredEvents } from '../../../src/audit/audit-trail';
import type { AuditEvent } from '../../../src/store/store';
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
  const instance = (close: () => Promise<void> = async () => undefined, unstored?: UnstoredEvents) => ({
    close: async () => {
      steps.push('instance closed');
      await close();
    },
    audit: {
      close: async (): Promise<UnstoredEvents | undefined> => {
        steps.push('audit closed');
        return unstored;
      },
    } as unknown as AuditTrail,
  });
  beforeEach(() => {
    steps = [];
    lines = [];
  });

  it('stops the rollover, then closes the instance; true, and nothing logged', async () => {
    assert.equal(await closeServingInstance(instance(), rollover(), logger), true);
    assert.deepEqual(steps, ['rollover stopped', 'audit closed', 'instance closed']);
    assert.deepEqual(lines, []);
  });

  it('audit events the store refused at shutdown: false, one error line with how many, which (at most ten) and why, no stack; the instance is closed all the same', async () => {
    const events = Array.from({ length: 12 }, (_, i) => ({ eventId: `e-${i}` }) as AuditEvent);
    const failed = await closeServingInstance(instance(undefined, { events, storeError: new Error('database is locked') }), rollover(), logger);
    assert.equal(failed, false);
    assert.deepEqual(steps, ['rollover stopped', 'audit closed', 'instance closed']);
    assert.deepEqual(lines, [
      {
        level: 'error',
        msg: 'audit events not stored at shutdown: they are only in the audit file',
        fields: { events: 12, eventIds: events.slice(0, 10).map((e) => e.eventId), errorName: 'Error', errorMessage: 'database is locked' },
      },
    ]);
    assert.doesNotMatch(JSON.stringify(lines), STACK_TRACE);
  });

  it('without a rollover (a worker) only closes the instance', async () => {
    assert.equal(await closeServingInstance(instance(), undefined, logger), true);
    assert.deepEqual(steps, ['audit closed', 'instance closed']);
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
