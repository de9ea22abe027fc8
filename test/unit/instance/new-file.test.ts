import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileNotCreated, writeNewFile } from '../../../src/instance/new-file';

// writeNewFile is how `sts keys export` writes a key: a file that did not exist, with its mode from
// the start, and no partial file left behind when anything fails once it exists: the content's
// producer (deriving the key from the passphrase) or the write itself (a full disk).

const NEW_FILE_MODULE = require.resolve('../../../src/instance/new-file');
const SECRET_LINE = 'MIIE-not-a-real-key-but-a-marker-that-must-not-leak\n';

/** Runs writeNewFile in a child whose files may not grow past 1 KiB (RLIMIT_FSIZE): the write fails midway with EFBIG, as on a full disk. */
async function writeUnderFileSizeLimit(path: string, content: string): Promise<{ code?: string; message?: string }> {
  const script =
    `const { writeNewFile } = require(${JSON.stringify(NEW_FILE_MODULE)});` +
    `try { writeNewFile(process.argv[1], 0o600, () => process.argv[2]); console.log('{}'); }` +
    `catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`;
  // ulimit -f counts 1024-byte blocks in bash; Node ignores SIGXFSZ, so the write returns EFBIG.
  const { stdout } = await promisify(execFile)('bash', ['-c', 'ulimit -f 1 && exec "$0" -e "$1" "$2" "$3"', process.execPath, script, path, content], {
    timeout: 20_000,
  });
  return JSON.parse(stdout) as { code?: string; message?: string };
}

describe('cli/new-file: writeNewFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-new-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the content with the mode asked for, whatever the umask', () => {
    const path = join(dir, 'out.pem');
    const umask = process.umask(0o077);
    try {
      writeNewFile(path, 0o644, () => 'certificate\n');
    } finally {
      process.umask(umask);
    }
    assert.equal(readFileSync(path, 'utf8'), 'certificate\n');
    assert.equal(statSync(path).mode & 0o777, 0o644);
  });

  it('an existing file: FileNotCreated (EEXIST), the file untouched, the content never produced', () => {
    const path = join(dir, 'existing.pem');
    writeFileSync(path, 'keep me\n');
    let produced = false;
    assert.throws(
      () =>
        writeNewFile(path, 0o600, () => {
          produced = true;
          return SECRET_LINE;
        }),
      (err: unknown) => err instanceof FileNotCreated && err.errno === 'EEXIST' && err.message === `${path} exists: it is not overwritten; remove it or choose another file`,
    );
    assert.equal(produced, false, 'nothing costly (or secret) is computed for a file that cannot be written');
    assert.equal(readFileSync(path, 'utf8'), 'keep me\n');
  });

  it('a missing directory: FileNotCreated (ENOENT), nothing created, the content never produced', () => {
    const path = join(dir, 'missing', 'out.pem');
    let produced = false;
    assert.throws(
      () =>
        writeNewFile(path, 0o600, () => {
          produced = true;
          return SECRET_LINE;
        }),
      (err: unknown) => err instanceof FileNotCreated && err.errno === 'ENOENT' && err.message === `${path} cannot be created (ENOENT)`,
    );
    assert.equal(produced, false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the content cannot be produced: its error, unchanged, and no file left', () => {
    const path = join(dir, 'out.pem');
    const failure = new Error('a sealed secret could not be opened');
    assert.throws(
      () =>
        writeNewFile(path, 0o600, () => {
          assert.ok(existsSync(path), 'produced only once the file exists');
          throw failure;
        }),
      (err: unknown) => err === failure,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the write fails midway (the file may not grow past 1 KiB): the write\'s own error, and no partial file left', async () => {
    const path = join(dir, 'out.pem');
    const content = SECRET_LINE.repeat(100);
    const result = await writeUnderFileSizeLimit(path, content);
    assert.equal(result.code, 'EFBIG', JSON.stringify(result));
    assert.equal(result.message, 'EFBIG: file too large, write');
        assert.deepEqual(readdirSync(dir), [], 'the partial file was removed');
  });
});
