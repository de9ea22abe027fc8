import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK_TRACE } from '../support/ext-trust';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { newTestToken, privateKeyIds, SOFTHSM_MODULE } from '../support/softhsm';
import { runSts } from '../support/unit-cli';
import { parseTokenKeyReference } from '../../src/keys/pkcs11/pkcs11-uri';
import { parsePostgresUrl } from '../../src/store/postgres/connection-settings';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';

// `sts init --store postgres`: the instance's files on this host, its keys and data in a PostgreSQL
// database that other nodes share by copying the files (never by running init again).

/** The rows init writes, by table: what a database holds of an instance. */
async function initRows(db: TestDatabase): Promise<Record<string, string[]>> {
  const keysOf = async (sql: string): Promise<string[]> => (await db.query<{ key: string }>(sql)).rows.map((r) => r.key);
  return {
    signingKeys: await keysOf('SELECT thumbprint AS key FROM signing_keys ORDER BY 1'),
    relyingParties: await keysOf('SELECT applies_to AS key FROM relying_parties ORDER BY 1'),
    awsRoles: await keysOf('SELECT name AS key FROM aws_roles ORDER BY 1'),
    users: await keysOf('SELECT name AS key FROM users ORDER BY 1'),
  };
}

const NO_ROWS = { signingKeys: [], relyingParties: [], awsRoles: [], users: [] };

/** A database with Trustbridge's tables and nothing in them, as a node that started and stopped leaves it. */
async function migratedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const store = await openPostgresStore({ connection: parsePostgresUrl(db.url), password: db.password, poolSize: 1 });
  await store.close();
  return db;
}

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
    assert.deepEqual(config.store, { kind: 'postgres', path: 'trustbridge.db', url: db.url, poolSize: 10, passwordFile, busyTimeoutMs: 5000 });
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

  it('a second init against the same database is refused with the way to add a node, and creates nothing', async () => {
    const rows = await initRows(db);
    const home = join(parent, 'node-b');
    const r = runSts(['init', '--home', home, '--store', 'postgres', '--store-url', db.url, '--store-password-file', passwordFile]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^sts init: the database \S+ already holds an instance .*copy config\.json, master\.key and tls\/ from an existing node[^\n]*\n$/);
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.ok(!existsSync(home));
    assert.deepEqual(await initRows(db), rows, 'the database changed');
  });

  describe('an init that fails after writing rows takes them back', () => {
    let fresh: TestDatabase;
    beforeEach(async () => {
      fresh = await migratedDatabase();
    });
    afterEach(() => fresh.drop());
    const initArgs = (home: string, ...more: string[]): string[] =>
      ['init', '--home', home, '--store', 'postgres', '--store-url', fresh.url, '--store-password-file', passwordFile, ...more];

    it('the role may not insert users: the signing key, relying party and role written before are removed; with the grant back, init succeeds there', async () => {
      await fresh.query(`REVOKE INSERT ON users FROM ${fresh.user}`);
      const home = join(parent, 'no-user-insert');
      const r = runSts(initArgs(home, '--demo'));
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, 'sts init: permission denied for table users\n');
      assert.ok(!existsSync(home), 'the instance directory was left');
      assert.deepEqual(await initRows(fresh), NO_ROWS);

      await fresh.query(`GRANT INSERT ON users TO ${fresh.user}`);
      const again = runSts(initArgs(home, '--demo'));
      assert.equal(again.status, 0, again.stderr);
      const rows = await initRows(fresh);
      assert.equal(rows['signingKeys']?.length, 1);
      assert.deepEqual(rows['users'], ['demo@trustbridge.localhost']);
      const { rows: states } = await fresh.query<{ state: string }>('SELECT state FROM signing_keys');
      assert.deepEqual(states.map((k) => k.state), ['active']);
    });

    it('when removing them fails too, none is removed, the error names each row left, and the next init is refused', async () => {
      await fresh.query(`REVOKE INSERT ON users FROM ${fresh.user}`);
      await fresh.query(`REVOKE DELETE ON aws_roles FROM ${fresh.user}`);
      const home = join(parent, 'no-user-insert-no-role-delete');
      const r = runSts(initArgs(home, '--demo'));
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const rows = await initRows(fresh);
      const [thumbprint] = rows['signingKeys'] ?? [];
      assert.match(thumbprint ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(rows, { signingKeys: [thumbprint], relyingParties: ['urn:amazon:webservices'], awsRoles: ['TrustbridgeDemo'], users: [] });
      assert.equal(
        r.stderr,
        'sts init: permission denied for table users (removing what init wrote in the database failed (permission denied for table aws_roles), ' +
          `so it still holds signing key ${thumbprint}, relying party urn:amazon:webservices, AWS role TrustbridgeDemo: delete them before running sts init against it again)\n`,
      );
      assert.ok(!existsSync(home), 'the instance directory was left');
      const next = runSts(initArgs(join(parent, 'after-rows-left')));
      assert.equal(next.status, 1);
      assert.match(next.stderr, /already holds an instance/);
    });

    it('with the key generated in a PKCS#11 token: the rows go, the key stays in the token, and the error says so with its CKA_ID', async () => {
      const token = newTestToken();
      await fresh.query(`REVOKE INSERT ON relying_parties FROM ${fresh.user}`);
      const home = join(parent, 'token-key-left');
      const tokenFlags = ['--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', token.label, '--pkcs11-pin-env', token.pinEnv];
      const r = runSts(initArgs(home, ...tokenFlags));
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const ids = privateKeyIds(token.label, token.pin);
      assert.equal(ids.length, 1, 'the token holds the key init generated');
      const [id] = ids;
      assert.equal(
        r.stderr,
        `sts init: permission denied for table relying_parties (the key pair init generated in the PKCS#11 token "${token.label}" stays there (CKA_ID ${id}): ` +
          'Trustbridge deletes nothing from a token; if it is not wanted, delete it with the token\'s tools ' +
          `(e.g. pkcs11-tool --delete-object --type privkey --id ${id}, then --type pubkey))\n`,
      );
      assert.ok(!r.stderr.includes(token.pin), 'the PIN was printed');
      assert.deepEqual(await initRows(fresh), NO_ROWS);
      assert.ok(!existsSync(home), 'the instance directory was left');

      await fresh.query(`GRANT INSERT ON relying_parties TO ${fresh.user}`);
      const again = runSts(initArgs(home, ...tokenFlags));
      assert.equal(again.status, 0, again.stderr);
      const { rows } = await fresh.query<{ sealed_private_key: string }>('SELECT sealed_private_key FROM signing_keys');
      assert.equal(rows.length, 1);
      const used = parseTokenKeyReference(rows[0]?.sealed_private_key ?? '').id.toString('hex');
      assert.notEqual(used, id, 'the retry uses a key of its own');
      assert.deepEqual(privateKeyIds(token.label, token.pin), [id, used].sort());
    });

    it('a key left in the token and rows left in the database: the error names both, after the failure itself', async () => {
      const token = newTestToken();
      await fresh.query(`REVOKE INSERT ON users FROM ${fresh.user}`);
      await fresh.query(`REVOKE DELETE ON aws_roles FROM ${fresh.user}`);
      const home = join(parent, 'token-key-and-rows-left');
      const r = runSts(initArgs(home, '--demo', '--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', token.label, '--pkcs11-pin-env', token.pinEnv));
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const [id] = privateKeyIds(token.label, token.pin);
      const [thumbprint] = (await initRows(fresh))['signingKeys'] ?? [];
      assert.equal(
        r.stderr,
        'sts init: permission denied for table users (' +
          `removing what init wrote in the database failed (permission denied for table aws_roles), so it still holds signing key ${thumbprint}, ` +
          'relying party urn:amazon:webservices, AWS role TrustbridgeDemo: delete them before running sts init against it again; ' +
          `the key pair init generated in the PKCS#11 token "${token.label}" stays there (CKA_ID ${id}): ` +
          "Trustbridge deletes nothing from a token; if it is not wanted, delete it with the token's tools " +
          `(e.g. pkcs11-tool --delete-object --type privkey --id ${id}, then --type pubkey))\n`,
      );
      assert.ok(!r.stderr.includes(token.pin), 'the PIN was printed');
      assert.ok(!existsSync(home), 'the instance directory was left');
    });
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
