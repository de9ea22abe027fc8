import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { certificateThumbprintSha256 } from '../../../src/keys/signing-key';
import { initInstance } from '../../../src/instance/init-instance';
import { openInstance, openServingInstance } from '../../../src/instance/open-instance';
import { listen } from '../../../src/server/listen';
import { httpsRequest } from '../../support/https-client';
import { freePort, killAllStsProcesses, StsProcess } from '../../support/unit-cli';
import { startupRefusal } from '../../support/test-sts';

// Production mode: start-up refuses while a secret lies in clear, and each refusal says exactly how
// to fix it. Development mode starts all the same and only reports what production would refuse.

const HEAD = '"mode" is "production", which does not start while secrets lie in clear:\n';
const TAIL = 'Fix each of these and start again (or set "mode": "development" in config.json on a development machine).';
const PASSPHRASE = 'tls-passphrase-\u00e9-7f3a';

describe('instance: production mode refuses secrets in clear', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let n = 0;

  const setConfig = (settings: Record<string, unknown>): void => {
    const path = join(home, 'config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...settings }, null, 2));
  };
  const tlsKeyFile = (): string => join(home, 'tls/localhost.key.pem');

  /** Encrypts the instance's TLS key in place and writes its passphrase to a 600 file named by the config. */
  function encryptTlsKey(): void {
    const pem = createPrivateKey(readFileSync(tlsKeyFile(), 'utf8')).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: PASSPHRASE });
    writeFileSync(tlsKeyFile(), pem, { mode: 0o600 });
    writeFileSync(join(home, 'tls/passphrase'), `${PASSPHRASE}\n`, { mode: 0o600 });
    setConfig({ tls: { certificateFile: 'tls/localhost.crt.pem', privateKeyFile: 'tls/localhost.key.pem', privateKeyPassphraseFile: 'tls/passphrase' } });
  }

  const refusal = (): Promise<string> => startupRefusal(home);

  const refusing = (...findings: string[]): string => HEAD + findings.map((f) => `  - ${f}\n`).join('') + TAIL;

  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-production-'));
  });
  beforeEach(async () => {
    home = join(parent, `instance-${++n}`);
    await initInstance(home, { demo: false, port: 0 });
    setConfig({ mode: 'production' });
  });
  after(async () => {
    await killAllStsProcesses();
    rmSync(parent, { recursive: true, force: true });
  });

  it('a fresh instance: the TLS key is unencrypted; the message gives the openssl command and the passphrase settings', async () => {
    const key = tlsKeyFile();
    assert.equal(
      await refusal(),
      refusing(
        `the TLS private key ${key} is not encrypted: encrypt it with "openssl pkcs8 -topk8 -v2 aes-256-cbc -in ${key} -out ${key}.enc && mv ${key}.enc ${key}", ` +
          `and give the passphrase in STS_TLS_KEY_PASSPHRASE or in a file (chmod 600) named by tls.privateKeyPassphraseFile`,
      ),
    );
  });

  it('with the TLS key encrypted and its passphrase in a 600 file, production starts and serves HTTPS', async () => {
    encryptTlsKey();
    const instance = await openServingInstance(home);
    try {
      assert.deepEqual(instance.secretsInClear, []);
      assert.equal(instance.tls.passphrase, PASSPHRASE);
      const server = await listen(instance, { log: () => undefined }, { port: 0, host: '127.0.0.1' });
      try {
        const res = await httpsRequest(`${server.baseUrl}/healthz`, { ca: instance.tls.cert });
        assert.equal(res.status, 200);
      } finally {
        await server.close();
      }
    } finally {
      await instance.close();
    }
  });

  it('the openssl command the message gives does encrypt the key so that it starts', async () => {
    const key = tlsKeyFile();
    execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', key, '-out', `${key}.enc`, '-passout', `pass:${PASSPHRASE}`]);
    execFileSync('mv', [`${key}.enc`, key]);
    process.env['STS_TLS_KEY_PASSPHRASE'] = PASSPHRASE;
    try {
      const instance = await openServingInstance(home);
      await instance.close();
    } finally {
      delete process.env['STS_TLS_KEY_PASSPHRASE'];
    }
  });

  it('an encrypted TLS key without its passphrase, or with a wrong one, is refused in any mode (never echoing the passphrase)', async () => {
    encryptTlsKey();
    setConfig({ mode: 'development', tls: { certificateFile: 'tls/localhost.crt.pem', privateKeyFile: 'tls/localhost.key.pem', privateKeyPassphraseFile: '' } });
    assert.equal(await refusal(), `the TLS private key ${tlsKeyFile()} is encrypted: give its passphrase in STS_TLS_KEY_PASSPHRASE or in a file named by tls.privateKeyPassphraseFile`);
    process.env['STS_TLS_KEY_PASSPHRASE'] = `${PASSPHRASE}-wrong`;
    try {
      const message = await refusal();
      assert.equal(message, `the TLS private key ${tlsKeyFile()} does not open with the passphrase from STS_TLS_KEY_PASSPHRASE`);
      assert.ok(!message.includes(PASSPHRASE));
    } finally {
      delete process.env['STS_TLS_KEY_PASSPHRASE'];
    }
  });

  it('a master key file open to group or others: chmod 600, or STS_MASTER_KEY', async () => {
    encryptTlsKey();
    const file = join(home, 'master.key');
    chmodSync(file, 0o644);
    assert.equal(
      await refusal(),
      refusing(`the master key file ${file} is open to group or others (mode 644): run "chmod 600 ${file}", or keep the key out of the instance directory in STS_MASTER_KEY and delete the file`),
    );
    chmodSync(file, 0o600);
    await (await openServingInstance(home)).close();
  });

  it('a signing key stored in clear (a PEM planted in the store): named by thumbprint, with the commands that replace it; the PEM is not echoed', async () => {
    encryptTlsKey();
    const planted = generateSelfSignedCertificate({ commonName: 'Planted', validDays: 30 });
    const thumbprint = certificateThumbprintSha256(new X509Certificate(planted.certificatePem).raw);
    const instance = await openInstance(home);
    try {
      await instance.store.signingKeys.add({ thumbprint, state: 'pending', certificatePem: planted.certificatePem, sealedPrivateKey: planted.privateKeyPem, createdAt: new Date() });
    } finally {
      await instance.close();
    }
    const message = await refusal();
    assert.equal(
      message,
      refusing(
        `token-signing key ${thumbprint} (pending) is stored in clear in the database: its private key is neither sealed under the master key ` +
          `nor held in a PKCS#11 token. Treat it as exposed: revoke it with "sts keys revoke ${thumbprint}", then delete its row from the signing_keys table`,
      ),
    );
    assert.doesNotMatch(message, /PRIVATE KEY|MII/);
  });

  it('an active key in clear names rotate --emergency', async () => {
    encryptTlsKey();
    const instance = await openInstance(home);
    const planted = generateSelfSignedCertificate({ commonName: 'Planted', validDays: 30 });
    const thumbprint = certificateThumbprintSha256(new X509Certificate(planted.certificatePem).raw);
    try {
      await instance.store.signingKeys.add({ thumbprint, state: 'pending', certificatePem: planted.certificatePem, sealedPrivateKey: planted.privateKeyPem, createdAt: new Date() });
      assert.equal((await instance.store.signingKeys.promote(thumbprint, new Date())).promoted, true);
    } finally {
      await instance.close();
    }
    assert.match(await refusal(), new RegExp(`token-signing key ${thumbprint} \\(active\\) is stored in clear .* replace and revoke it with "sts keys rotate --emergency"`));
  });

  it('passphrase and PIN files open to group or others, and demo credentials, are refused each with its fix; development lists them and starts', async () => {
    encryptTlsKey();
    chmodSync(join(home, 'tls/passphrase'), 0o640);
    writeFileSync(join(home, 'pin'), 'a-pin\n', { mode: 0o604 });
    chmodSync(join(home, 'pin'), 0o604);
    writeFileSync(join(home, 'demo-credentials.txt'), 'user: x\npassword: y\n', { mode: 0o600 });
    setConfig({ signingKeyCustody: { kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'never-opened', pinFile: 'pin' } });
    const findings = [
      `tls.privateKeyPassphraseFile names ${join(home, 'tls/passphrase')}, which is open to group or others (mode 640): run "chmod 600 ${join(home, 'tls/passphrase')}"`,
      `signingKeyCustody.pinFile names ${join(home, 'pin')}, which is open to group or others (mode 604): run "chmod 600 ${join(home, 'pin')}"`,
      `${join(home, 'demo-credentials.txt')} holds the demo user's password in clear: delete it (and do not serve production from a --demo instance)`,
    ];
    // Refused before the token is opened: nothing is tried with a PIN that lies in the open.
    assert.equal(await refusal(), refusing(...findings));
    setConfig({ mode: 'development', signingKeyCustody: { kind: 'sealed' } });
    const instance = await openServingInstance(home);
    try {
      assert.deepEqual(instance.secretsInClear, [findings[0], findings[2]]);
    } finally {
      await instance.close();
    }
  });

  for (const workers of ['1', '2']) {
    it(`sts serve in production prints the refusal and exits 1 (--workers ${workers})`, async () => {
      const serve = new StsProcess(['serve', '--home', home, '--workers', workers, '--port', String(await freePort())]);
      const exit = await serve.waitForExit(30_000);
      assert.equal(exit.code, 1, serve.stdout);
      assert.ok(serve.stderr.startsWith(`sts serve: ${HEAD}  - the TLS private key ${tlsKeyFile()} is not encrypted`), serve.stderr);
      assert.ok(serve.stderr.endsWith(`${TAIL}\n`));
      assert.equal(serve.stdout, '');
    });
  }
});
