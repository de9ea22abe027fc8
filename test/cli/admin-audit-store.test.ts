import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ConfigJson } from '../../bench/instance';
import { HOME_FLAG, parseArgs } from '../../src/cli/args';
import { main } from '../../src/cli/main';
import { withInstance } from '../../src/cli/with-instance';
import { STACK_TRACE } from '../support/ext-trust';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';

// An admin command's audit event goes to audit.jsonl and to the store's audit trail, where `sts audit`
// and the defenders look. When another process keeps SQLite's write lock as the command ends, the
// command keeps trying (twice the busy timeout, store.busyTimeoutMs, 5 s by default) and, if the
// store still refuses, says so and fails: an admin change missing from the store's trail must not pass silently.

interface LockedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** From the lock taken to the command's end. */
  readonly tookMs: number;
}

interface FiledEvent {
  readonly eventId: string;
  readonly eventName: string;
  readonly requestParameters: { readonly thumbprint: string };
}

describe('cli: an admin command whose audit event meets a locked store at its end', function () {
  this.timeout(60_000);
  const { home } = temporaryHome('trustbridge-cli-audit-store-');
  const database = (): string => join(home, 'trustbridge.db');

  before(() => {
    const r = runSts(['init', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
  });

  /**
   * `sts keys rotate` in this process. Its first line of output comes once the key is stored and its
   * GenerateSigningKey event recorded, just before the command ends: there another connection takes
   * SQLite's write lock (BEGIN IMMEDIATE), and keeps it `holdMs`, or until the command has ended.
   */
  async function rotateWhileLocked(holdMs: number | 'to the end'): Promise<LockedRun> {
    const locker = new Database(database());
    let stdout = '';
    let stderr = '';
    let lockedAt: number | undefined;
    let release: NodeJS.Timeout | undefined;
    try {
      const code = await main(['keys', 'rotate', '--home', home], {
        out: (text) => {
          if (lockedAt === undefined) {
            locker.exec('BEGIN IMMEDIATE');
            lockedAt = Date.now();
            if (holdMs !== 'to the end') release = setTimeout(() => locker.exec('COMMIT'), holdMs);
          }
          stdout += text;
        },
        err: (text) => (stderr += text),
        readStdin: async () => '',
      });
      assert.ok(lockedAt !== undefined, `the command printed nothing: ${stderr}`);
      return { code, stdout, stderr, tookMs: Date.now() - lockedAt };
    } finally {
      clearTimeout(release);
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
  }

  const thumbprintIn = (stdout: string): string => {
    const thumbprint = /^generated pending key ([0-9a-f]{64}) /.exec(stdout)?.[1];
    assert.ok(thumbprint, stdout);
    return thumbprint;
  };
  const filed = (thumbprint: string): FiledEvent[] =>
    readFileSync(join(home, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FiledEvent)
      .filter((e) => e.eventName === 'GenerateSigningKey' && e.requestParameters.thumbprint === thumbprint);
  const query = <T>(sql: string, ...params: string[]): T[] => {
    const db = new Database(database(), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  };
  const storedEventIds = (thumbprint: string): string[] =>
    query<{ event_id: string }>(
      `SELECT event_id FROM audit_events WHERE event_name = 'GenerateSigningKey' AND json_extract(request_parameters, '$.thumbprint') = ?`,
      thumbprint,
    ).map((r) => r.event_id);
  const keyState = (thumbprint: string): string | undefined =>
    query<{ state: string }>('SELECT state FROM signing_keys WHERE thumbprint = ?', thumbprint)[0]?.state;

  it('a lock released within the bound, after the first busy timeout: the event is stored once and the command exits 0', async () => {
    // Past the first try's 5 s wait for the lock, before the retry 2 s later.
    const r = await rotateWhileLocked(6_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(r.tookMs >= 6_000 && r.tookMs < 10_000, `took ${r.tookMs} ms`);
    const thumbprint = thumbprintIn(r.stdout);
    const [event, ...more] = filed(thumbprint);
    assert.ok(event !== undefined && more.length === 0, 'filed once');
    assert.deepEqual(storedEventIds(thumbprint), [event.eventId], 'stored once');
    assert.equal(keyState(thumbprint), 'pending');
  });

  it('a lock held past the bound: one line on stderr names the event and the file it is in, exit 1, no stack trace; the event is filed once and not stored, the key stays', async () => {
    const r = await rotateWhileLocked('to the end');
    const thumbprint = thumbprintIn(r.stdout);
    const [event, ...more] = filed(thumbprint);
    assert.ok(event !== undefined && more.length === 0, 'filed once');
    assert.equal(r.code, 1);
    // Two tries of a busy timeout each, 2 s apart.
    assert.ok(r.tookMs >= 12_000 && r.tookMs < 16_000, `took ${r.tookMs} ms`);
    const seconds = Number(/refused it for (\d+) s/.exec(r.stderr)?.[1]);
    assert.ok(seconds >= 12 && seconds <= 16, r.stderr);
    assert.equal(
      r.stderr,
      `sts keys rotate: the change was made, but its audit event ${event.eventId} (GenerateSigningKey) is only in ${join(home, 'audit.jsonl')}, ` +
        `not in the store's audit trail that sts audit and the defenders read (the store refused it for ${seconds} s: ` +
        'database is locked: another process held the write lock for 5000 ms)\n',
    );
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.deepEqual(storedEventIds(thumbprint), []);
    assert.equal(keyState(thumbprint), 'pending', 'the key rotate generated is kept');
  });

  /** Runs `fn` with the instance's config changed by `change`, and puts the config back after. */
  async function withConfig<T>(change: (config: ConfigJson) => ConfigJson, fn: () => Promise<T>): Promise<T> {
    const configFile = join(home, 'config.json');
    const original = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, JSON.stringify(change(JSON.parse(original) as ConfigJson)));
    try {
      return await fn();
    } finally {
      writeFileSync(configFile, original);
    }
  }
  const withBusyTimeout = (ms: number) => (config: ConfigJson): ConfigJson => ({ ...config, store: { ...(config['store'] as object), busyTimeoutMs: ms } });

  it('store.busyTimeoutMs sets both SQLite\'s wait for the lock and the bound: at 1000 ms a lock held to the end fails the command within some 3 s, naming the 1000 ms wait', async () => {
    const r = await withConfig(withBusyTimeout(1000), () => rotateWhileLocked('to the end'));
    const [event] = filed(thumbprintIn(r.stdout));
    assert.equal(r.code, 1);
    // One try of 1 s; the next one, 2 s later on the trail's schedule, is past the 2 s bound.
    assert.ok(r.tookMs >= 1_000 && r.tookMs < 4_000, `took ${r.tookMs} ms`);
    assert.match(r.stderr, new RegExp(`its audit event ${event?.eventId} \\(GenerateSigningKey\\) is only in .*database is locked: another process held the write lock for 1000 ms\\)\n$`));
  });

  it('with no audit file (audit.file empty), a lock held past the bound: the line says the event is in no audit file, exit 1; the event is not stored', async () => {
    const noFile = (config: ConfigJson): ConfigJson => ({ ...withBusyTimeout(1000)(config), audit: { ...(config['audit'] as object), file: '' } });
    const filedBefore = readFileSync(join(home, 'audit.jsonl'), 'utf8');
    const r = await withConfig(noFile, () => rotateWhileLocked('to the end'));
    const thumbprint = thumbprintIn(r.stdout);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^sts keys rotate: the change was made, but its audit event [0-9a-f-]{36} \(GenerateSigningKey\) is in no audit file \(audit\.file is empty\), not in the store's audit trail that sts audit and the defenders read \(the store refused it for \d+ s: database is locked: another process held the write lock for 1000 ms\)\n$/,
    );
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.equal(readFileSync(join(home, 'audit.jsonl'), 'utf8'), filedBefore, 'nothing filed');
    assert.deepEqual(storedEventIds(thumbprint), []);
    assert.equal(keyState(thumbprint), 'pending', 'the key rotate generated is kept');
  });

  it('a command that fails after recording its event, the lock held past the bound: its own failure first, then the line about the event, which is filed once and not stored', async () => {
    const locker = new Database(database());
    let eventId = '';
    try {
      const failure = await withInstance(parseArgs(['--home', home], [HOME_FLAG]), async (instance) => {
        eventId = instance.audit.record({ eventName: 'UnlockUser', eventSource: 'admin', requestParameters: { userName: 'nobody' } }).eventId;
        locker.exec('BEGIN IMMEDIATE');
        throw new Error('the change itself failed');
      }).then(
        () => assert.fail('withInstance resolved'),
        (err: unknown) => err as Error,
      );
      assert.match(
        failure.message,
        new RegExp(
          `^the change itself failed\\nthe audit event ${eventId} \\(UnlockUser\\) is only in ${join(home, 'audit.jsonl').replace(/[.]/g, '\\.')}, ` +
            `not in the store's audit trail that sts audit and the defenders read \\(the store refused it for \\d+ s: database is locked: another process held the write lock for 5000 ms\\)$`,
        ),
      );
      assert.doesNotMatch(failure.message, STACK_TRACE);
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
    const filedIds = readFileSync(join(home, 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { eventId: string }).eventId);
    assert.equal(filedIds.filter((id) => id === eventId).length, 1, 'filed once');
    assert.deepEqual(query('SELECT event_id FROM audit_events WHERE event_id = ?', eventId), [], 'stored');
  });
});
