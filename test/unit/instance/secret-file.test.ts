import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecretFile } from '../../../src/instance/secret-file';

// The one reader of secret files named by config keys: store.passwordFile, the LDAP service account's
// password file, tls.privateKeyPassphraseFile.
describe('instance/secret-file readSecretFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-secret-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };

  it('is the first line: the line break a file ends with (LF or CRLF) is not part of it, nor what follows', () => {
    assert.equal(readSecretFile(file('lf', 's3cret pass\n'), 'store.passwordFile'), 's3cret pass');
    assert.equal(readSecretFile(file('crlf', 's3cret\r\nsecond line\r\n'), 'store.passwordFile'), 's3cret');
    assert.equal(readSecretFile(file('bare', 'no-newline'), 'store.passwordFile'), 'no-newline');
  });

  it('an unreadable file is refused, naming the key and the path', () => {
    const missing = join(dir, 'missing.pw');
    assert.throws(() => readSecretFile(missing, 'tls.privateKeyPassphraseFile'), {
      message: `config key "tls.privateKeyPassphraseFile" names ${missing}, which cannot be read`,
    });
  });

  it('an empty first line is refused, and the rest of the file is never shown', () => {
    const path = file('empty', '\nsecret-on-line-two\n');
    assert.throws(
      () => readSecretFile(path, 'identity.ldap.bind.serviceAccountPasswordFile'),
      (err: Error) => err.message === `config key "identity.ldap.bind.serviceAccountPasswordFile" names ${path}, which holds no password on its first line` && !err.message.includes('secret-on-line-two'),
    );
    assert.throws(() => readSecretFile(file('zero', ''), 'store.passwordFile'), /holds no password on its first line/);
  });
});
