import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { runSts } from '../support/unit-cli';

// `sts init --store postgres`: the instance's files on this host, its keys and data in a PostgreSQL
// database that other nodes share by copying the files (never by running init again).
describe('cli: sts init --store postgres', function () {
  this.timeout(90_000);
  let parent: string;
  let db: TestDatabase;
  let passwordFile: string;

  before(async () => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-cli-init-pg-'));
    db = await createTestDatabase();
    passwordFile = join(parent, 'pg.password');
    writeFileSync(passwordFile, `${db.password}\n`, { mode: 0o600 });
  });
  after(async () => {
    await db.drop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('creates the instance with the store in PostgreSQL: no SQLite file, the config names the database, the keys are there', async () => {
    const home = join(parent, 'node-a');
    const r = runSts(['init', '--home', home, '--demo', '--store', 'postgres', '--store-url', db.url, '--store-password-file', passwordFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`created the instance in ${home}`), r.stdout);
    assert.ok(!existsSync(join(home, 'trustbridge.db')), 'a SQLite database was created');
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { store: Record<string, unknown> };
    assert.deepEqual(config.store, { kind: 'postgres', path: 'trustbridge.db', url: db.url, poolSize: 10, passwordFile });
    assert.ok(!readFileSync(join(home, 'config.json'), 'utf8').includes(db.password), 'the password is in config.json');

    const keys = runSts(['keys', 'list', '--home', home]);
    assert.equal(keys.status, 0, keys.stderr);
    assert.match(keys.stdout, /\bactive\b/);
    const { rows } = await db.query<{ state: string }>('SELECT state FROM signing_keys');
    assert.deepEqual(rows.map((k) => k.state), ['active']);
    const users = await db.query<{ name: string }>('SELECT name FROM users');
    assert.deepEqual(users.rows.map((u) => u.name), ['demo@trustbridge.localhost']);
  });

  it('a file left where init would write is refused before the database is touched: once it is moved away, init succeeds there', async () => {
    const fresh = await createTestDatabase();
    try {
      const home = join(parent, 'leftover');
      mkdirSync(home);
      writeFileSync(join(home, 'token-signing.crt.pem'), 'an old export\n');
      const args = ['init', '--home', home, '--store', 'postgres', '--store-url', fresh.url, '--store-password-file', passwordFile];
      const r = runSts(args);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `sts init: ${join(home, 'token-signing.crt.pem')} exists: it is not overwritten; remove it or choose another file\n`);
      assert.deepEqual(readdirSync(home), ['token-signing.crt.pem']);
      rmSync(join(home, 'token-signing.crt.pem'));
      const again = runSts(args);
      assert.equal(again.status, 0, again.stderr);
    } finally {
      await fresh.drop();
    }
  });

  it('a second init against the same database is refused with the way to add a node, and creates nothing', () => {
    const home = join(parent, 'node-b');
    const r = runSts(['init', '--home', home, '--store', 'postgres', '--store-url', db.url, '--store-password-file', passwordFile]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already holds an instance .*copy config\.json, master\.key and tls\/ from an existing node/);
    assert.ok(!existsSync(home));
  });

  const refused: Array<[string, string[], number, RegExp]> = [
    ['--store postgres without --store-url', ['--store', 'postgres'], 2, /--store postgres needs --store-url/],
    ['an unknown --store', ['--store', 'mysql'], 2, /--store must be sqlite or postgres/],
    ['--store-url without --store postgres', ['--store-url', 'postgres://u@h/d'], 2, /go with --store postgres/],
    ['a password in the URL', ['--store', 'postgres', '--store-url', 'postgres://sts:Hunter2-pw@127.0.0.1/x'], 1, /config key "store\.url" must not contain a password/],
    ['a wrong password', ['--store', 'postgres', '--store-url', 'URL', '--store-password-file', 'WRONG'], 1, /cannot open the PostgreSQL store .*password authentication failed/],
  ];
  for (const [what, flags, status, message] of refused) {
    it(`${what}: refused (exit ${status}), no password echoed, nothing created`, () => {
      const home = join(parent, `refused-${what.replace(/\W+/g, '-')}`);
      const wrongFile = join(parent, 'wrong.password');
      writeFileSync(wrongFile, 'Not-the-password-77\n');
      const argv = flags.map((f) => (f === 'URL' ? db.url : f === 'WRONG' ? wrongFile : f));
      const r = runSts(['init', '--home', home, ...argv]);
      assert.equal(r.status, status, r.stderr);
      assert.match(r.stderr, message);
      for (const secret of ['Hunter2-pw', 'Not-the-password-77', db.password]) assert.ok(!r.stderr.includes(secret), `stderr shows a password: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace was printed');
      assert.ok(!existsSync(home));
    });
  }
});
