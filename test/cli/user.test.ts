import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';

const PASSWORD = 'Tr0ub4dor&3 é';

describe('cli: sts user add / user list', function () {
  this.timeout(60_000);
  const { dir: parent, home } = temporaryHome('trustbridge-cli-user-');

  before(() => {
    const init = runSts(['init', '--home', home]);
    assert.equal(init.status, 0, init.stderr);
  });

  function row(name: string): { password_hash: string; sealed_password: string | null; claims: string } | undefined {
    const db = new Database(join(home, 'trustbridge.db'), { readonly: true });
    try {
      return db.prepare('SELECT password_hash, sealed_password, claims FROM users WHERE name = ?').get(name) as
        | { password_hash: string; sealed_password: string | null; claims: string }
        | undefined;
    } finally {
      db.close();
    }
  }

  it('adds a user with repeated and "="-containing claims, password on stdin', () => {
    const r = runSts(
      ['user', 'add', 'alice', '--home', home, '--claim', 'a=1', '--claim', 'a=2', '--claim', 'b=x=y', '--allow-digest'],
      { input: `${PASSWORD}\nsecond line is ignored\n` },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /added user alice/);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
  });

  it('sts user list shows the user, its claims in order and [PasswordDigest allowed], never the password', () => {
    const r = runSts(['user', 'list', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('alice [PasswordDigest allowed]\n  a = 1\n  a = 2\n  b = x=y\n'), r.stdout);
    assert.ok(!r.stdout.includes(PASSWORD));
    assert.ok(!r.stdout.includes('scrypt'));
    assert.ok(!r.stdout.includes('v1.'), 'the sealed password must not be shown');
  });

  it('stores an scrypt hash with N=32768, r=8, p=1, and the password only sealed', () => {
    const stored = row('alice');
    assert.ok(stored);
    assert.match(stored.password_hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(stored.sealed_password?.startsWith('v1.'));
    for (const column of [stored.password_hash, stored.sealed_password ?? '', stored.claims]) {
      assert.ok(!column.includes(PASSWORD));
      assert.ok(!column.includes(Buffer.from(PASSWORD).toString('base64')));
    }
    assert.deepEqual(JSON.parse(stored.claims), [
      { name: 'a', value: '1' },
      { name: 'a', value: '2' },
      { name: 'b', value: 'x=y' },
    ]);
  });

  it('reads only the first line of stdin as the password (CRLF too)', () => {
    const r = runSts(['user', 'add', 'crlf', '--home', home], { input: 'pw-crlf\r\n' });
    assert.equal(r.status, 0, r.stderr);
    const list = runSts(['user', 'list', '--home', home]);
    assert.match(list.stdout, /^crlf$/m, 'a user without --allow-digest has no [PasswordDigest allowed]');
    assert.equal(row('crlf')?.sealed_password, null);
  });

  it('a duplicate user fails with a clear message and exit 1, leaving the first one as it was', () => {
    const before = row('alice');
    const r = runSts(['user', 'add', 'alice', '--home', home], { input: 'other\n' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /alice already exists/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(row('alice'), before);
  });

  it('no password on stdin exits 2', () => {
    const r = runSts(['user', 'add', 'nopw', '--home', home], { input: '' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no password on standard input/);
    assert.equal(row('nopw'), undefined);
  });

  it('an empty first line is no password either (exit 2)', () => {
    const r = runSts(['user', 'add', 'nopw', '--home', home], { input: '\nsecret-on-line-2\n' });
    assert.equal(r.status, 2);
    assert.equal(row('nopw'), undefined);
  });

  it('a claim without "=" exits 2 and names it', () => {
    const r = runSts(['user', 'add', 'bad', '--home', home, '--claim', 'novalue'], { input: 'pw\n' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /NAME=VALUE, not "novalue"/);
  });

  it('no user name, or two, exits 2', () => {
    assert.equal(runSts(['user', 'add', '--home', home], { input: 'pw\n' }).status, 2);
    assert.equal(runSts(['user', 'add', 'a', 'b', '--home', home], { input: 'pw\n' }).status, 2);
  });

  it('a home without an instance fails with a message saying to run sts init', () => {
    const r = runSts(['user', 'list', '--home', join(parent, 'nothing-here')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sts init/);
  });
});
