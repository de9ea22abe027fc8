import { strict as assert } from 'node:assert';
import { randomBytes, verify, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { STACK_TRACE } from '../support/ext-trust';
import { runStsInProcess } from '../support/in-process-cli';
import { newTestToken, privateKeyIds, SOFTHSM_MODULE } from '../support/softhsm';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';
import { UsageError } from '../../src/cli/args';
import { initInstance } from '../../src/instance/init-instance';
import { makeHome } from '../../src/instance/new-home';
import { openServingInstance } from '../../src/instance/open-instance';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** `sts init`'s options for keys kept in `token` (SoftHSM2). */
const pkcs11Args = (token: ReturnType<typeof newTestToken>): string[] => ['--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', token.label, '--pkcs11-pin-env', token.pinEnv];

describe('cli: sts init', function () {
  this.timeout(60_000);
  const { dir: parent, home } = temporaryHome('trustbridge-cli-init-'); // home does not exist yet: init creates it

  it('sts init --home D --demo creates the instance', () => {
    const r = runSts(['init', '--home', home, '--demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`created the instance in ${home}`), r.stdout);
    assert.ok(r.stdout.includes(`demo credentials: ${join(home, 'demo-credentials.txt')}`), r.stdout);
  });

  it('writes a config.json that is the validated default config', () => {
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config['listen'], { host: '127.0.0.1', port: 9443 });
    assert.equal(config['masterKeyFile'], 'master.key');
  });

  it('the instance directory is private (0700)', () => {
    assert.equal(mode(home), 0o700);
  });

  it('master.key holds 32 random bytes in base64 and is mode 0600', () => {
    const path = join(home, 'master.key');
    assert.equal(mode(path), 0o600);
    assert.equal(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').length, 32);
  });

  it('the TLS key is mode 0600 and the TLS certificate is for localhost', () => {
    assert.equal(mode(join(home, 'tls', 'localhost.key.pem')), 0o600);
    assert.match(readFileSync(join(home, 'tls', 'localhost.key.pem'), 'utf8'), /BEGIN (RSA )?PRIVATE KEY/);
    const cert = new X509Certificate(readFileSync(join(home, 'tls', 'localhost.crt.pem')));
    assert.ok(cert.checkHost('localhost'));
    assert.ok(cert.checkIP('127.0.0.1'));
  });

  it('exports the token-signing certificate (a certificate, not a key) and keeps no private key file beside it', () => {
    const pem = readFileSync(join(home, 'token-signing.crt.pem'), 'utf8');
    assert.doesNotMatch(pem, /PRIVATE KEY/);
    const cert = new X509Certificate(pem);
    assert.equal(cert.ca, false);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    // The signing key lives sealed in the database only: no PEM private key anywhere but the TLS key.
    const keyFiles = listFiles(home).filter((f) => /PRIVATE KEY/.test(readFileSync(f, 'latin1')));
    assert.deepEqual(keyFiles.map((f) => relative(home, f)), [join('tls', 'localhost.key.pem')]);
  });

  it('creates the database', () => {
    assert.ok(existsSync(join(home, 'trustbridge.db')));
    assert.equal(readFileSync(join(home, 'trustbridge.db')).subarray(0, 15).toString('latin1'), 'SQLite format 3');
  });

  it('writes demo-credentials.txt with mode 0600, naming the demo user, a password and the relying party', () => {
    const path = join(home, 'demo-credentials.txt');
    assert.equal(mode(path), 0o600);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^user: demo@trustbridge\.localhost$/m);
    assert.match(text, /^password: \S{12,}$/m);
    assert.match(text, /^relying party \(AppliesTo\): https:\/\/rp\.example\.com\/$/m);
  });

  it('the demo user and relying party are listed', () => {
    const users = runSts(['user', 'list', '--home', home]);
    assert.equal(users.status, 0, users.stderr);
    assert.match(users.stdout, /^demo@trustbridge\.localhost \[PasswordDigest allowed\]$/m);
    const password = /^password: (\S+)$/m.exec(readFileSync(join(home, 'demo-credentials.txt'), 'utf8'))?.[1];
    assert.ok(password && !users.stdout.includes(password));
    const rps = runSts(['rp', 'list', '--home', home]);
    assert.equal(rps.status, 0, rps.stderr);
    assert.match(rps.stdout, /^https:\/\/rp\.example\.com\/ /m);
  });

  it('running it again leaves the instance unchanged, and says so', () => {
    const files = listFiles(home).filter((f) => !/-(wal|shm)$/.test(f));
    const before = new Map(files.map((f) => [f, { mtime: statSync(f).mtimeMs, content: readFileSync(f) }]));
    const r = runSts(['init', '--home', home, '--demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /already exists .*left unchanged/);
    assert.doesNotMatch(r.stdout, /created/);
    const after = listFiles(home).filter((f) => !/-(wal|shm)$/.test(f));
    assert.deepEqual(after.sort(), [...before.keys()].sort());
    for (const [file, was] of before) {
      assert.equal(statSync(file).mtimeMs, was.mtime, `${relative(home, file)} was touched`);
      assert.ok(readFileSync(file).equals(was.content), `${relative(home, file)} changed`);
    }
  });

  it('--port writes the port into the config', () => {
    const other = join(parent, 'ported');
    const r = runSts(['init', '--home', other, '--port', '18443']);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')) as { listen: { port: number } };
    assert.equal(config.listen.port, 18443);
    assert.ok(!existsSync(join(other, 'demo-credentials.txt')), 'no demo credentials without --demo');
  });

  it('--port with a non-number exits 2', () => {
    const r = runSts(['init', '--home', join(parent, 'bad-port'), '--port', 'abc']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port must be a whole number/);
    assert.ok(!existsSync(join(parent, 'bad-port')), 'a refused command must not create anything');
  });

  it('with STS_MASTER_KEY set, init seals the first key under it and writes no key file; the instance then opens with it', async () => {
    const dir = join(parent, 'env-master-key');
    process.env['STS_MASTER_KEY'] = randomBytes(32).toString('base64');
    try {
      const r = await runStsInProcess(['init', '--home', dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(join(dir, 'master.key')), false, 'the key stays out of the instance directory');
      const listed = await runStsInProcess(['keys', 'list', '--home', dir]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /active/);
      // The signing key opens under the environment's key: a token can be issued with it.
      const instance = await openServingInstance(dir);
      try {
        const key = instance.signingKey;
        const signature = key.sign('sha256', Buffer.from('probe'));
        assert.ok(verify('sha256', Buffer.from('probe'), key.publicKey, signature));
      } finally {
        await instance.close();
      }
    } finally {
      delete process.env['STS_MASTER_KEY'];
    }
    const withoutIt = await runStsInProcess(['keys', 'list', '--home', dir]);
    assert.equal(withoutIt.code, 1);
    assert.match(withoutIt.stderr, /the master key file .*master\.key cannot be read; set STS_MASTER_KEY or restore the file/);
  });

  describe('an init that fails partway removes what it created, and only that', () => {
    const BAD_MASTER_KEY = 'not-32-bytes';
    /** `sts init` in this process with a malformed STS_MASTER_KEY: it fails after making the directory, before writing into it (populateHome's first step). */
    async function initWithBadMasterKey(dir: string): Promise<{ code: number; stderr: string }> {
      process.env['STS_MASTER_KEY'] = BAD_MASTER_KEY;
      try {
        const r = await runStsInProcess(['init', '--home', dir]);
        assert.equal(r.stdout, '');
        return r;
      } finally {
        delete process.env['STS_MASTER_KEY'];
      }
    }

    it('a directory init created (with its missing parents) is removed: a second init then succeeds', async () => {
      const top = join(parent, 'failing-new');
      const dir = join(top, 'nested', 'instance');
      const r = await initWithBadMasterKey(dir);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'sts init: STS_MASTER_KEY must hold 32 bytes in base64\n');
      assert.equal(existsSync(top), false, 'the directories this run made are gone');
      const again = runSts(['init', '--home', dir]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^created the instance in /);
    });

    it('a directory that existed empty is left, empty (and as private as it was)', async () => {
      const dir = join(parent, 'failing-empty');
      mkdirSync(dir, { mode: 0o750 });
      const r = await initWithBadMasterKey(dir);
      assert.equal(r.code, 1);
      assert.deepEqual(readdirSync(dir), []);
      assert.equal(mode(dir), 0o750);
      const again = runSts(['init', '--home', dir]);
      assert.equal(again.status, 0, again.stderr);
    });

    /**
     * `sts init` with the PKCS#11 PIN's variable unset: the custody fails when it reads it, after the
     * master key and the TLS certificate and key are written, before any token is touched.
     */
    function initWithUnsetPin(dir: string): void {
      const r = runSts(['init', '--home', dir, '--pkcs11-module', '/nonexistent/libpkcs11.so', '--pkcs11-token', 'never', '--pkcs11-pin-env', 'TRUSTBRIDGE_TEST_UNSET_PIN']);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(
        r.stderr,
        'sts init: signingKeyCustody.pinEnv names TRUSTBRIDGE_TEST_UNSET_PIN, which is not set: export TRUSTBRIDGE_TEST_UNSET_PIN with the PKCS#11 token\'s user PIN\n',
      );
    }

    it('files init wrote before failing (master key, TLS) are removed; what was in the directory stays', () => {
      const dir = join(parent, 'failing-after-writing');
      mkdirSync(dir);
      writeFileSync(join(dir, 'notes.txt'), 'mine\n');
      initWithUnsetPin(dir);
      assert.deepEqual(readdirSync(dir), ['notes.txt']);
      assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine\n');
    });

    const operatorsTls: Array<[string, Record<string, string>]> = [
      ['empty', {}],
      ['holding a file of the operator\'s', { 'ca-bundle.pem': 'the operator\'s CA bundle\n' }],
    ];
    for (const [what, files] of operatorsTls) {
      it(`a tls/ that was there (${what}): the certificate and key init wrote into it are removed, it stays as it was, and a second init succeeds`, () => {
        const dir = join(parent, `failing-tls-${Object.keys(files).length}`);
        mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o750 });
        for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'tls', name), content);
        initWithUnsetPin(dir);
        assert.deepEqual(readdirSync(dir), ['tls']);
        assert.deepEqual(readdirSync(join(dir, 'tls')).sort(), Object.keys(files).sort());
        for (const [name, content] of Object.entries(files)) assert.equal(readFileSync(join(dir, 'tls', name), 'utf8'), content);
        assert.equal(mode(join(dir, 'tls')), 0o750);
        const again = runSts(['init', '--home', dir]);
        assert.equal(again.status, 0, again.stderr);
        assert.deepEqual(readdirSync(join(dir, 'tls')).sort(), ['localhost.crt.pem', 'localhost.key.pem', ...Object.keys(files)].sort());
      });
    }

    it('a take-back that cannot remove what init made: the failure first, then each path left behind, as init reports what else it leaves (no stack trace); the rest is removed', async () => {
      const dir = join(parent, 'failing-take-back');
      mkdirSync(dir);
      const locked = join(dir, 'tls', 'localhost.key.pem');
      // As root no file mode stops a removal (checked: rm -rf goes through a chmod 555 directory), so the
      // removal fails through makeHome's seam, as under an immutable file (chattr +i): the file, and its directory with it.
      const refusingRemove = (path: string): void => {
        if (path === locked || locked.startsWith(`${path}/`)) throw Object.assign(new Error(`EPERM: operation not permitted, unlink '${locked}'`), { code: 'EPERM' });
        rmSync(path, { recursive: true, force: true });
      };
      const failure = await initInstance(
        dir,
        { demo: false, signingKeyCustody: { kind: 'pkcs11', module: '/nonexistent/libpkcs11.so', tokenLabel: 'never', pinEnv: 'TRUSTBRIDGE_TEST_UNSET_PIN' } },
        (home) => makeHome(home, refusingRemove),
      ).then(
        () => assert.fail('init succeeded'),
        (err: unknown) => err,
      );
      assert.ok(failure instanceof Error && !(failure instanceof UsageError), 'an error main reports as the failure it is (exit 1)');
      const leftBehind = (path: string): string =>
        `${path}, which init created, stays there (removing it failed: EPERM: operation not permitted, unlink '${locked}'): remove it before running sts init there again`;
      // As every other thing init leaves behind (a key in a token, rows it could not delete): after the failure, in brackets.
      assert.equal(
        failure.message,
        "signingKeyCustody.pinEnv names TRUSTBRIDGE_TEST_UNSET_PIN, which is not set: export TRUSTBRIDGE_TEST_UNSET_PIN with the PKCS#11 token's user PIN " +
          `(${leftBehind(locked)}; ${leftBehind(join(dir, 'tls'))})`,
      );
      assert.doesNotMatch(failure.message, STACK_TRACE);
      assert.deepEqual(listFiles(dir), [locked], 'the master key and the certificate were removed all the same');
    });

    it('a database the operator placed in the directory keeps its rows, and loses those init wrote before failing', async () => {
      const dir = join(parent, 'failing-own-database');
      mkdirSync(dir);
      const placed = openSqliteStore(join(dir, 'trustbridge.db'));
      await placed.users.add({ name: 'demo@trustbridge.localhost', passwordHash: 'scrypt$2$1$1$c2FsdA==$aGFzaA==', sealedPassword: null, claims: [], createdAt: new Date() });
      await placed.close();
      // Init writes the signing key, the AWS relying party and the demo role, then meets the user already there.
      const r = runSts(['init', '--home', dir, '--demo']);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, 'sts init: user demo@trustbridge.localhost already exists\n');
      assert.deepEqual(readdirSync(dir), ['trustbridge.db']);
      const store = openSqliteStore(join(dir, 'trustbridge.db'));
      try {
        assert.deepEqual(await store.signingKeys.list(), []);
        assert.deepEqual(await store.relyingParties.list(), []);
        assert.deepEqual(await store.awsRoles.list(), []);
        assert.deepEqual((await store.users.list()).map((u) => u.name), ['demo@trustbridge.localhost']);
      } finally {
        await store.close();
      }
    });

    it('a dangling symbolic link where init would write is in the way too: refused before a key is generated in the token', () => {
      const token = newTestToken();
      const dir = join(parent, 'failing-dangling-link');
      mkdirSync(dir);
      symlinkSync(join(parent, 'nowhere.pem'), join(dir, 'token-signing.crt.pem'));
      const r = runSts(['init', '--home', dir, ...pkcs11Args(token)]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `sts init: ${join(dir, 'token-signing.crt.pem')} exists: it is not overwritten; remove it or choose another file\n`);
      assert.deepEqual(readdirSync(dir), ['token-signing.crt.pem']);
      assert.deepEqual(privateKeyIds(token.label, token.pin), [], 'a key was generated in the token');
    });

    it('a master key left in the directory is never overwritten: init refuses and leaves it', () => {
      const dir = join(parent, 'failing-master-key');
      mkdirSync(dir);
      writeFileSync(join(dir, 'master.key'), 'the operator\'s key\n', { mode: 0o600 });
      const r = runSts(['init', '--home', dir]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `sts init: ${join(dir, 'master.key')} exists: it is not overwritten; remove it or choose another file\n`);
      assert.deepEqual(readdirSync(dir), ['master.key']);
      assert.equal(readFileSync(join(dir, 'master.key'), 'utf8'), 'the operator\'s key\n');
    });

    it('what was in the directory before stays as it was, even where init wanted to write (a file that cannot be written)', () => {
      const dir = join(parent, 'failing-occupied');
      mkdirSync(join(dir, 'token-signing.crt.pem'), { recursive: true });
      writeFileSync(join(dir, 'token-signing.crt.pem', 'keep.txt'), 'keep me\n');
      writeFileSync(join(dir, 'notes.txt'), 'mine\n');
      const r = runSts(['init', '--home', dir, '--demo']);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `sts init: ${join(dir, 'token-signing.crt.pem')} exists: it is not overwritten; remove it or choose another file\n`);
      assert.doesNotMatch(r.stderr, STACK_TRACE);
      assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'token-signing.crt.pem']);
      assert.deepEqual(listFiles(dir).map((f) => relative(dir, f)).sort(), ['notes.txt', join('token-signing.crt.pem', 'keep.txt')]);
      assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine\n');
      assert.equal(readFileSync(join(dir, 'token-signing.crt.pem', 'keep.txt'), 'utf8'), 'keep me\n');
    });
  });

  describe('a database file already there, an instance\'s or not Trustbridge\'s, is refused before anything is written', () => {
    let source: string;
    before(() => {
      source = join(parent, 'holding-source');
      const r = runSts(['init', '--home', source, '--demo']);
      assert.equal(r.status, 0, r.stderr);
    });

    /** A directory holding `files` from the source instance, and nothing else (its config.json, keys and TLS gone). */
    function homeHolding(name: string, files: readonly string[] = ['trustbridge.db']): string {
      const dir = join(parent, name);
      mkdirSync(dir);
      for (const file of files) copyFileSync(join(source, file), join(dir, file));
      return dir;
    }

    /** Each file's bytes and mtime, by name: what a refused init must leave as it found. */
    function filesIn(dir: string): Map<string, { bytes: Buffer; mtimeMs: number }> {
      return new Map(readdirSync(dir).sort().map((name) => [name, { bytes: readFileSync(join(dir, name)), mtimeMs: statSync(join(dir, name)).mtimeMs }]));
    }

    /** As `before` found them; a `-shm` file only there still (SQLite rebuilds that index of the log as it reads). */
    function assertFilesUnchanged(dir: string, before: Map<string, { bytes: Buffer; mtimeMs: number }>): void {
      const after = filesIn(dir);
      assert.deepEqual([...after.keys()], [...before.keys()], 'files were added to or removed from the home');
      for (const [name, was] of before) {
        if (name.endsWith('-shm')) continue;
        assert.ok(after.get(name)?.bytes.equals(was.bytes), `${name} changed`);
        assert.equal(after.get(name)?.mtimeMs, was.mtimeMs, `${name} was written`);
      }
    }

    /** How many signing keys, users and relying parties the database holds. */
    async function rowCounts(dir: string): Promise<Record<string, number>> {
      const store = openSqliteStore(join(dir, 'trustbridge.db'));
      try {
        return {
          signingKeys: (await store.signingKeys.list()).length,
          users: (await store.users.list()).length,
          relyingParties: (await store.relyingParties.list()).length,
        };
      } finally {
        await store.close();
      }
    }

    /** `sts init` with `args` into `dir`: exit 1 with exactly `stderr`, the files in `dir` as they were. */
    function refusedLeavingFiles(dir: string, args: readonly string[], stderr: string): ReturnType<typeof runSts> {
      const before = filesIn(dir);
      const r = runSts(['init', '--home', dir, ...args]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, stderr);
      assertFilesUnchanged(dir, before);
      return r;
    }
    const refusal = (dir: string): string =>
      `sts init: the database ${join(dir, 'trustbridge.db')} already holds a Trustbridge instance (its signing keys): ` +
      'choose another --home, or remove or rename the database if that instance is really meant to be replaced\n';

    const notAnInstance = (dir: string): string =>
      `sts init: the database ${join(dir, 'trustbridge.db')} is not Trustbridge's (it has no signing_keys table) and is not empty: ` +
      "init writes only into a database it creates or one of Trustbridge's; move the file away or choose another --home\n";

    it('refused with one line naming the database and what to do (exit 1, no stack trace); its rows, bytes and mtime stay, no file is added', async () => {
      const dir = homeHolding('holding-db-only');
      const rows = await rowCounts(dir);
      assert.deepEqual(rows, { signingKeys: 1, users: 1, relyingParties: 2 });
      const r = refusedLeavingFiles(dir, ['--demo'], refusal(dir));
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, STACK_TRACE);
      assert.deepEqual(await rowCounts(dir), rows);
    });

    it('with a PKCS#11 token: refused before a key is generated in the token', () => {
      const token = newTestToken();
      const dir = homeHolding('holding-db-pkcs11');
      refusedLeavingFiles(dir, pkcs11Args(token), refusal(dir));
      assert.deepEqual(privateKeyIds(token.label, token.pin), [], 'a key was generated in the token');
    });

    it('a key found only in the write-ahead log a crash left beside the database: refused, and the log is read, not checkpointed away', async () => {
      // The crash's state: a connection wrote the key into the log and never checkpointed it; the files are copied while it is open.
      const staging = homeHolding('holding-wal-staging', []);
      await openSqliteStore(join(staging, 'trustbridge.db')).close();
      const writer = new Database(join(staging, 'trustbridge.db'));
      const dir = join(parent, 'holding-wal');
      try {
        writer.pragma('wal_autocheckpoint = 0');
        writer.exec(`ATTACH '${join(source, 'trustbridge.db')}' AS source; INSERT INTO signing_keys SELECT * FROM source.signing_keys; DETACH source`);
        mkdirSync(dir);
        for (const file of ['trustbridge.db', 'trustbridge.db-wal', 'trustbridge.db-shm']) copyFileSync(join(staging, file), join(dir, file));
      } finally {
        writer.close();
      }
      // The key is in the log alone: the database file by itself (copied away from its log) holds none.
      assert.ok(statSync(join(dir, 'trustbridge.db-wal')).size > 0, 'the log holds the write');
      const fileAlone = join(parent, 'holding-wal-file-alone');
      mkdirSync(fileAlone);
      copyFileSync(join(dir, 'trustbridge.db'), join(fileAlone, 'trustbridge.db'));
      assert.equal((await rowCounts(fileAlone)).signingKeys, 0, 'the key reached the database file itself');
      refusedLeavingFiles(dir, [], refusal(dir));
      // The same crash's log without its shared-memory index (-shm): still read, and the index it needs is not left behind.
      rmSync(join(dir, 'trustbridge.db-shm'));
      refusedLeavingFiles(dir, [], refusal(dir));
    });

    it('a database without signing keys is no instance: init goes ahead with it', async () => {
      const dir = homeHolding('holding-no-keys');
      const db = new Database(join(dir, 'trustbridge.db'));
      try {
        db.exec('DELETE FROM signing_keys; DELETE FROM relying_parties; DELETE FROM aws_roles; DELETE FROM users');
      } finally {
        db.close();
      }
      const r = runSts(['init', '--home', dir, '--demo']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(await rowCounts(dir), { signingKeys: 1, users: 1, relyingParties: 2 });
    });

    /** An SQLite database of another application's, in the database's place, with `journalMode` and one table of its own. */
    function homeWithOthersDatabase(name: string, journalMode: 'wal' | 'delete'): string {
      const dir = homeHolding(name, []);
      const db = new Database(join(dir, 'trustbridge.db'));
      try {
        db.pragma(`journal_mode = ${journalMode}`);
        db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT); INSERT INTO invoices (total) VALUES ('12.50')");
      } finally {
        db.close();
      }
      assert.deepEqual(readdirSync(dir), ['trustbridge.db']);
      return dir;
    }

    it('another application\'s SQLite database (WAL mode, no signing_keys table): refused in one line (exit 1, no stack trace); not migrated, its bytes and mtime stay, no -wal or -shm left', () => {
      const dir = homeWithOthersDatabase('holding-others-wal', 'wal');
      const r = refusedLeavingFiles(dir, [], notAnInstance(dir));
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, STACK_TRACE);
      const db = new Database(join(dir, 'trustbridge.db'), { readonly: true });
      try {
        assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['invoices']);
        assert.equal(db.pragma('user_version', { simple: true }), 0, 'migrated');
      } finally {
        db.close();
      }
    });

    it('with a PKCS#11 token: another application\'s database is refused before a key is generated in the token', () => {
      const token = newTestToken();
      const dir = homeWithOthersDatabase('holding-others-pkcs11', 'delete');
      refusedLeavingFiles(dir, pkcs11Args(token), notAnInstance(dir));
      assert.deepEqual(privateKeyIds(token.label, token.pin), [], 'a key was generated in the token');
    });

    it('an SQLite database with no table at all (only its header: settings of its own) is not empty either', () => {
      const dir = homeHolding('holding-header-only', []);
      const db = new Database(join(dir, 'trustbridge.db'));
      try {
        db.pragma('journal_mode = wal');
      } finally {
        db.close();
      }
      assert.ok(statSync(join(dir, 'trustbridge.db')).size > 0);
      refusedLeavingFiles(dir, [], notAnInstance(dir));
    });

    it('a file of 0 bytes is taken for no database (as SQLite takes it): init creates the instance\'s database in it', async () => {
      const dir = homeHolding('holding-empty-file', []);
      writeFileSync(join(dir, 'trustbridge.db'), '', { mode: 0o640 });
      const r = runSts(['init', '--home', dir, '--demo']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(await rowCounts(dir), { signingKeys: 1, users: 1, relyingParties: 2 });
      assert.equal(mode(join(dir, 'trustbridge.db')), 0o640, 'the operator\'s file was replaced');
    });

    it('a file in the database\'s place that SQLite cannot read is refused, naming it, before anything is written', () => {
      const dir = join(parent, 'holding-not-a-database');
      mkdirSync(dir);
      writeFileSync(join(dir, 'trustbridge.db'), 'not a database, but somebody\'s notes\n');
      refusedLeavingFiles(dir, [], `sts init: the database ${join(dir, 'trustbridge.db')} cannot be read (file is not a database): move it away or choose another --home\n`);
    });
  });
});
