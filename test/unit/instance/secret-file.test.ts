import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCertificateFile, readSecretFile } from '../../../src/instance/secret-file';
import { quickCertificate } from '../../support/quick-certificate';

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

// The one reader of certificate files named by config keys: identity.ldap.caFiles and clientCertificates.caFiles.
describe('instance/secret-file readCertificateFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-certificate-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is the PEM text of a certificate as it stands, and that certificate parsed', () => {
    const { pem } = quickCertificate('certificate-file');
    const path = join(dir, 'ca.pem');
    writeFileSync(path, pem);
    const read = readCertificateFile(path, 'clientCertificates.caFiles[0]');
    assert.equal(read.pem, pem);
    assert.ok(read.certificate instanceof X509Certificate);
    assert.equal(read.certificate.fingerprint256, new X509Certificate(pem).fingerprint256);
  });

  it('an unreadable file is refused once, naming the key and the path', () => {
    const missing = join(dir, 'missing.pem');
    assert.throws(() => readCertificateFile(missing, 'clientCertificates.caFiles[0]'), {
      message: `config key "clientCertificates.caFiles[0]" names ${missing}, which cannot be read`,
    });
  });

  it('a file that holds no certificate is refused, naming the key', () => {
    const path = join(dir, 'junk.pem');
    writeFileSync(path, 'not a certificate\n');
    assert.throws(() => readCertificateFile(path, 'clientCertificates.caFiles[1]'), /^Error: config key "clientCertificates\.caFiles\[1\]" does not name a PEM certificate: /);
  });
});
