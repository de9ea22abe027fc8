import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { initInstance } from '../../src/instance/init-instance';
import { openInstance, type Instance } from '../../src/instance/open-instance';
import type { Logger, LogLevel } from '../../src/server/log';
import { endSessionHoldingExclusiveTaskLock, exclusiveTaskLockHolders } from '../support/exclusive-task-lock';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

// An exclusive task (the key rollover every node schedules) whose lock cannot be released: the
// session holding it ended under the task, so pg_advisory_unlock has no connection to run on. The
// store tells the instance (postgres-store.test.ts covers that report); this covers what the
// instance makes of it, the operator's one log line, and that nothing escapes the task's caller.

const MSG = 'the lock of an exclusive task could not be released; its connection was closed, which releases it';
// The failed unlock's error is node-postgres's, and its words are not ours to pin down: today it is
// "Client has encountered a connection error and is not queryable" (the server sends the terminated
// session its goodbye before the session leaves pg_stat_activity, which endSessionHoldingExclusiveTaskLock
// waits for), but a slower machine can send the unlock before the client has read that goodbye
// ("terminating connection due to administrator command", "Connection terminated unexpectedly", with
// other error names), and another driver version may word any of them differently. What matters is
// that the line carries the error's own message, and that it is about the connection.
const UNLOCK_ERROR = /terminat|connection/i;

interface Line {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown> | undefined;
}

describe('store/postgres: an exclusive task whose lock cannot be released is logged once, as a warning', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let db: TestDatabase;
  let instance: Instance | undefined;

  before(async () => {
    db = await createTestDatabase();
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-unlock-log-'));
    home = join(parent, 'instance');
    const passwordFile = join(parent, 'pg.password');
    writeFileSync(passwordFile, `${db.password}\n`, { mode: 0o600 });
    await initInstance(home, { demo: false, port: 0, store: { kind: 'postgres', url: db.url, passwordFile } });
  });
  after(async () => {
    await instance?.close();
    await db.drop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('the session holding the key-rollover lock ends mid-task: one warn line naming the task and the error, no rejection escapes, the lock is free again', async () => {
    const lines: Line[] = [];
    const logger: Logger = { log: (level, msg, fields) => lines.push({ level, msg, fields }) };
    const escaped: unknown[] = [];
    const onEscaped = (err: unknown): void => void escaped.push(err);
    process.prependListener('unhandledRejection', onEscaped);
    process.prependListener('uncaughtException', onEscaped);
    try {
      instance = await openInstance(home, { logger });
      const store = instance.store;
      let ran = false;
      assert.equal(
        await store.exclusive('key-rollover', async () => {
          await endSessionHoldingExclusiveTaskLock(db, 'key-rollover');
          ran = true;
        }),
        true,
        'the task ran; the failed unlock does not turn its outcome into a failure',
      );
      assert.equal(ran, true);
      // The socket's end arrives after the failed query: give a late rejection or 'error' the time to surface.
      await sleep(300);

      assert.equal(lines.length, 1, 'one line');
      const [line] = lines as [Line];
      assert.deepEqual({ level: line.level, msg: line.msg }, { level: 'warn', msg: MSG });
      // The task and the error by name and message, nothing more: no stack, no other field.
      assert.deepEqual(Object.keys(line.fields ?? {}).sort(), ['errorMessage', 'errorName', 'task']);
      const { task, errorName, errorMessage } = line.fields as Record<string, unknown>;
      assert.equal(task, 'key-rollover');
      assert.ok(typeof errorName === 'string' && errorName.length > 0, `the error's name: ${String(errorName)}`);
      assert.ok(typeof errorMessage === 'string', `the error's message: ${String(errorMessage)}`);
      assert.match(errorMessage, UNLOCK_ERROR);
      assert.doesNotMatch(errorMessage, /\n\s+at /, 'no stack trace in the message');
      assert.deepEqual(escaped, [], 'nothing escaped as an unhandled rejection or an uncaught exception');

      // The ended session took its lock with it; the broken connection was closed, not pooled.
      assert.deepEqual(await exclusiveTaskLockHolders(db, 'key-rollover'), [], 'nobody holds the lock');
      let ranAgain = false;
      assert.equal(await store.exclusive('key-rollover', async () => void (ranAgain = true)), true, 'the lock is taken again at once');
      assert.equal(ranAgain, true);
      assert.deepEqual(await exclusiveTaskLockHolders(db, 'key-rollover'), [], 'and released after');
      assert.equal(lines.length, 1, 'a clean unlock logs nothing');
      assert.deepEqual(escaped, []);
    } finally {
      process.removeListener('unhandledRejection', onEscaped);
      process.removeListener('uncaughtException', onEscaped);
    }
  });
});
