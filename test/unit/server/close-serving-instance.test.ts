import { strict as assert } from 'node:assert';
import { AuditTrail, type UnstoredEvents } from '../../../src/audit/audit-trail';
import type { AuditEvent, AuditRepository } from '../../../src/store/store';
import { FLAKY_STORE_ERROR, flakyRepository } from '../../support/flaky-audit-repository';
import type { KeyRolloverTask } from '../../../src/server/key-rollover-task';
import { closeServingInstance } from '../../../src/server/serve';
import type { Logger, LogLevel } from '../../../src/server/log';
import { STACK_TRACE } from '../../support/ext-trust';

// The last step of a serving process's shutdown, the same for a process serving alone, a worker and
// a cluster's primary: the rollover stops before the instance closes, and a failure is one error line
// (no stack) and an exit code of 1, never an exception out of the shutdown.

describe('server: closing a serving process\'s instance at shutdown', function () {
  this.timeout(20_000);
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
      close: async (storeWithinMs?: number): Promise<UnstoredEvents | undefined> => {
        steps.push(`audit closed, stored within ${storeWithinMs} ms`);
        return unstored;
      },
    } as unknown as AuditTrail,
  });
  beforeEach(() => {
    steps = [];
    lines = [];
  });

  it('stops the rollover, then closes the instance; true, and nothing logged', async () => {
    assert.equal(await closeServingInstance(instance(), rollover(), logger, 5000), true);
    assert.deepEqual(steps, ['rollover stopped', 'audit closed, stored within 5000 ms', 'instance closed']);
    assert.deepEqual(lines, []);
  });

  it('audit events the store refused at shutdown: false, one error line with how many, which (at most ten) and why, no stack; the instance is closed all the same', async () => {
    const events = Array.from({ length: 12 }, (_, i) => ({ eventId: `e-${i}` }) as AuditEvent);
    const failed = await closeServingInstance(instance(undefined, { events, storeError: new Error('database is locked') }), rollover(), logger, 5000);
    assert.equal(failed, false);
    assert.deepEqual(steps, ['rollover stopped', 'audit closed, stored within 5000 ms', 'instance closed']);
    assert.deepEqual(lines, [
      {
        level: 'error',
        msg: 'audit events not stored at shutdown: they are only in the audit file',
        fields: { events: 12, eventIds: events.slice(0, 10).map((e) => e.eventId), errorName: 'Error', errorMessage: 'database is locked' },
      },
    ]);
    assert.doesNotMatch(JSON.stringify(lines), STACK_TRACE);
  });

  describe('with a real audit trail whose store refuses its last events', () => {
    const trailOn = (repository: AuditRepository): AuditTrail => new AuditTrail({ repository, file: null, logger, now: () => new Date() });

    it('a store back within the bound (a restart as the node stops) takes them on the retry: true, nothing logged', async () => {
      const repository = flakyRepository(1);
      const trail = trailOn(repository);
      const { eventId } = trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
      const started = Date.now();
      assert.equal(await closeServingInstance({ audit: trail, close: async () => undefined }, undefined, logger, 5000), true);
      assert.deepEqual(repository.stored.map((e) => e.eventId), [eventId]);
      assert.equal(repository.calls, 2);
      assert.ok(Date.now() - started >= 2000, 'the retry came on the trail\'s 2 s schedule');
      assert.deepEqual(lines.filter((l) => l.level === 'error'), []);
    });

    it('a store still down at the bound: false, the one error line, and no try after the bound', async () => {
      const repository = flakyRepository(Number.POSITIVE_INFINITY);
      const trail = trailOn(repository);
      trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
      const started = Date.now();
      assert.equal(await closeServingInstance({ audit: trail, close: async () => undefined }, undefined, logger, 2500), false);
      assert.equal(repository.calls, 2, 'the first try and one retry 2 s later; the next would start past 2.5 s');
      assert.ok(Date.now() - started < 4000);
      assert.deepEqual(
        lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.fields?.['events'], l.fields?.['errorMessage']]),
        [['audit events not stored at shutdown: they are only in the audit file', 1, FLAKY_STORE_ERROR]],
      );
    });
  });

  it('without a rollover (a worker) only closes the instance', async () => {
    assert.equal(await closeServingInstance(instance(), undefined, logger, 5000), true);
    assert.deepEqual(steps, ['audit closed, stored within 5000 ms', 'instance closed']);
    assert.deepEqual(lines, []);
  });

  it('the instance failing to close: false, one error line with the error\'s name and message and no stack', async () => {
    const failed = await closeServingInstance(instance(async () => Promise.reject(new Error('disk I/O error'))), rollover(), logger, 5000);
    assert.equal(failed, false);
    assert.deepEqual(lines, [{ level: 'error', msg: 'closing the store failed', fields: { errorName: 'Error', errorMessage: 'disk I/O error' } }]);
    assert.doesNotMatch(JSON.stringify(lines), STACK_TRACE);
  });

  it('the rollover failing to stop: false, logged the same way, and the instance is not closed under a check still running', async () => {
    const failed = await closeServingInstance(instance(), rollover(async () => Promise.reject(new TypeError('check broke'))), logger, 5000);
    assert.equal(failed, false);
    assert.deepEqual(steps, ['rollover stopped']);
    assert.deepEqual(lines, [{ level: 'error', msg: 'closing the store failed', fields: { errorName: 'TypeError', errorMessage: 'check broke' } }]);
  });
});
