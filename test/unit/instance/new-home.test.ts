import { strict as assert } from 'node:assert';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FileNotCreated } from '../../../src/instance/new-file';
import { makeHome } from '../../../src/instance/new-home';

// makeHome is how `sts init` fills the instance directory: what it made, at any depth, is taken back
// when init fails, and nothing that was there before is touched.

/** Every path under `dir`, files and directories (symbolic links not followed), relative to `base`, sorted. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const path = join(dir, e.name);
      return e.isDirectory() ? [relative(base, path), ...tree(path, base)] : [relative(base, path)];
    })
    .sort();
}

describe('instance/new-home: makeHome', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-new-home-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('a home it made (with missing parents) is made private and taken back whole, parents included', () => {
    const home = join(parent, 'a', 'b', 'home');
    const newHome = makeHome(home);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    newHome.makeDirectory(join(home, 'tls'));
    newHome.writeNewFile(join(home, 'tls', 'x.pem'), 0o600, () => 'x\n');
    assert.deepEqual(newHome.takeBack(), [], 'nothing left behind');
    assert.deepEqual(readdirSync(parent), []);
  });

  it('in an existing home, takes back the files and directories it made at any depth, and keeps what was there', () => {
    const home = join(parent, 'home');
    mkdirSync(join(home, 'tls'), { recursive: true, mode: 0o750 });
    writeFileSync(join(home, 'tls', 'operator.txt'), 'mine\n');
    writeFileSync(join(home, 'notes.txt'), 'notes\n');
    const before = tree(home);
    const newHome = makeHome(home);
    newHome.makeDirectory(join(home, 'tls'));
    newHome.writeNewFile(join(home, 'tls', 'localhost.crt.pem'), 0o644, () => 'certificate\n');
    newHome.writeNewFile(join(home, 'config.json'), 0o644, () => '{}\n');
    newHome.makeDirectory(join(home, 'keys', 'deep'));
    newHome.writeNewFile(join(home, 'keys', 'deep', 'k.pem'), 0o600, () => 'k\n');
    assert.deepEqual(tree(home), [...before, 'config.json', 'keys', join('keys', 'deep'), join('keys', 'deep', 'k.pem'), join('tls', 'localhost.crt.pem')].sort());
    newHome.takeBack();
    assert.deepEqual(tree(home), before);
    assert.equal(statSync(join(home, 'tls')).mode & 0o777, 0o750, 'the operator\'s directory keeps its mode');
    assert.equal(readFileSync(join(home, 'tls', 'operator.txt'), 'utf8'), 'mine\n');
  });

  it('a file it could not create (one was there) is not its to take back', () => {
    const home = join(parent, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'master.key'), 'the operator\'s key\n');
    const newHome = makeHome(home);
    assert.throws(() => newHome.writeNewFile(join(home, 'master.key'), 0o600, () => 'other\n'), FileNotCreated);
    newHome.takeBack();
    assert.equal(readFileSync(join(home, 'master.key'), 'utf8'), 'the operator\'s key\n');
  });

  it('willCreate: a file another module then creates is taken back; one that was there (a dangling link too) is kept', () => {
    const home = join(parent, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'trustbridge.db'), 'the operator\'s database');
    symlinkSync(join(parent, 'nowhere'), join(home, 'audit.jsonl'));
    const newHome = makeHome(home);
    for (const name of ['trustbridge.db', 'trustbridge.db-wal', 'audit.jsonl', 'never-created']) newHome.willCreate(join(home, name));
    writeFileSync(join(home, 'trustbridge.db-wal'), 'log');
    newHome.takeBack();
    assert.deepEqual(readdirSync(home).sort(), ['audit.jsonl', 'trustbridge.db']);
    assert.equal(readFileSync(join(home, 'trustbridge.db'), 'utf8'), 'the operator\'s database');
    assert.ok(lstatSync(join(home, 'audit.jsonl')).isSymbolicLink());
  });

  it('a directory the operator linked elsewhere: the file written through the link is taken back there, the link and its target stay', () => {
    const home = join(parent, 'home');
    const elsewhere = join(parent, 'tls-elsewhere');
    mkdirSync(home);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'ca.pem'), 'ca\n');
    symlinkSync(elsewhere, join(home, 'tls'));
    const newHome = makeHome(home);
    newHome.makeDirectory(join(home, 'tls'));
    newHome.writeNewFile(join(home, 'tls', 'localhost.key.pem'), 0o600, () => 'key\n');
    assert.ok(existsSync(join(elsewhere, 'localhost.key.pem')));
    newHome.takeBack();
    assert.ok(lstatSync(join(home, 'tls')).isSymbolicLink());
    assert.deepEqual(readdirSync(elsewhere), ['ca.pem']);
  });

  it('a path it cannot remove does not stop the others: each one left is returned with its error, newest first', () => {
    const home = join(parent, 'home');
    mkdirSync(home);
    const locked = join(home, 'tls', 'localhost.key.pem');
    // As root no file mode stops a removal, so the removal is made to fail as an immutable file's would, and its directory's with it.
    const refused = (path: string): Error => Object.assign(new Error(`EPERM: operation not permitted, unlink '${locked}'`), { code: 'EPERM', path });
    const newHome = makeHome(home, (path) => {
      if (path === locked || locked.startsWith(`${path}/`)) throw refused(path);
      rmSync(path, { recursive: true, force: true });
    });
    newHome.writeNewFile(join(home, 'master.key'), 0o600, () => 'key\n');
    newHome.makeDirectory(join(home, 'tls'));
    newHome.writeNewFile(join(home, 'tls', 'localhost.crt.pem'), 0o644, () => 'certificate\n');
    newHome.writeNewFile(locked, 0o600, () => 'key\n');
    const left = newHome.takeBack();
    assert.deepEqual(
      left.map(({ path, error }) => [path, (error as Error).message]),
      [
        [locked, `EPERM: operation not permitted, unlink '${locked}'`],
        [join(home, 'tls'), `EPERM: operation not permitted, unlink '${locked}'`],
      ],
    );
    assert.deepEqual(tree(home), ['tls', join('tls', 'localhost.key.pem')], 'the master key and the certificate were removed all the same');
  });

});
