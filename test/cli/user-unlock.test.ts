import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';

// What an operator sees of the extranet lockout and how they end one early: `sts user list` shows the
// wrong passwords and the lockout, `sts user unlock` forgets them (AD FS's Reset-AdfsAccountLockout).

const PASSWORD = 'Unlock-Suite-Staple-6*';

describe('cli: sts user unlock, and the lockout in sts user list', function () {
  this.timeout(60_000);
  const { home } = temporaryHome('trustbridge-cli-unlock-');

  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(join(home, 'trustbridge.db'), { timeout: 5000 });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const setFailures = (name: string, failures: number, at: Date): void => {
    withDb((db) => db.prepare('UPDATE users SET failed_logins = ?, last_failed_at = ? WHERE name = ?').run(failures, at.getTime(), name));
  };
  const failuresOf = (name: string): { failed_logins: number; last_failed_at: number | null } | undefined =>
    withDb((db) => db.prepare('SELECT failed_logins, last_failed_at FROM users WHERE name = ?').get(name) as { failed_logins: number; last_failed_at: number | null } | undefined);
  const unlockEvents = (): Array<{ principal: string; request_parameters: string; response_elements: string; event_source: string }> =>
    withDb((db) => db.prepare("SELECT principal, request_parameters, response_elements, event_source FROM audit_events WHERE event_name = 'UnlockUser'").all() as never);

  before(() => {
    assert.equal(runSts(['init', '--home', home]).status, 0);
    for (const name of ['locked', 'mistyped', 'clean']) {
      const r = runSts(['user', 'add', name, '--home', home], { input: `${PASSWORD}\n` });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  it('sts user list shows each user\'s wrong passwords and, past the threshold (10), until when they are locked out', () => {
    const last = new Date(Date.now() - 60_000);
    setFailures('locked', 10, last);
    setFailures('mistyped', 1, last);
    const r = runSts(['user', 'list', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    const until = new Date(last.getTime() + 1800 * 1000).toISOString();
    assert.ok(r.stdout.includes(`locked\n  10 wrong passwords, the last at ${last.toISOString()}; locked out until ${until}\n`), r.stdout);
    assert.ok(r.stdout.includes(`mistyped\n  1 wrong password, the last at ${last.toISOString()}\n`), r.stdout);
    assert.ok(r.stdout.includes('clean\n') && !/clean\n {2}\d+ wrong/.test(r.stdout), 'nothing shown for a user without failures');
  });

  it('ten wrong passwords whose window has passed are shown without a lockout', () => {
    const long = new Date(Date.now() - 1801 * 1000);
    setFailures('locked', 10, long);
    const r = runSts(['user', 'list', '--home', home]);
    assert.ok(r.stdout.includes(`locked\n  10 wrong passwords, the last at ${long.toISOString()}\n`), r.stdout);
    setFailures('locked', 10, new Date());
  });

  it('sts user unlock forgets the user\'s wrong passwords (and no one else\'s) and records UnlockUser in the audit trail', () => {
    const r = runSts(['user', 'unlock', 'locked', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'unlocked locked (10 wrong passwords forgotten)\n');
    assert.deepEqual(failuresOf('locked'), { failed_logins: 0, last_failed_at: null });
    assert.equal(failuresOf('mistyped')?.failed_logins, 1);
    const events = unlockEvents();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event_source, 'admin');
    assert.match(events[0]?.principal ?? '', /^os:/);
    assert.deepEqual(JSON.parse(events[0]?.request_parameters ?? ''), { user: 'locked' });
    assert.deepEqual(JSON.parse(events[0]?.response_elements ?? ''), { forgottenFailures: 10 });
  });

  it('an unknown user: exit 1 naming it, nothing recorded', () => {
    const r = runSts(['user', 'unlock', 'nobody', '--home', home]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'no user nobody in the store\n');
    assert.equal(unlockEvents().length, 1);
  });

  it('no user name, or two: exit 2, saying so, and nothing unlocked or audited', () => {
    for (const args of [[], ['locked', 'mistyped']]) {
      const r = runSts(['user', 'unlock', ...args, '--home', home]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^sts user unlock: give exactly one user NAME\n/);
    }
    assert.equal(failuresOf('mistyped')?.failed_logins, 1);
    assert.equal(unlockEvents().length, 1);
  });
});
