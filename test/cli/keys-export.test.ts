import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openInstance } from '../../src/instance/open-instance';
import type { AuditEvent } from '../../src/store/store';
import { STACK_TRACE } from '../support/ext-trust';
import { stsCli } from '../support/golden-saml';
import { findLeaks, pemSecret, textSecret, type Secret, type Text } from '../support/secret-scan';
import { newTestToken, SOFTHSM_MODULE } from '../support/softhsm';
import { unsealPrivateKeyPem } from '../support/stolen-key';
import { temporaryHome } from '../support/temporary-home';
import { runSts } from '../support/unit-cli';
import { ENCRYPTED_PKCS8_LABEL } from '../../src/instance/tls-credentials';

// Issue 5, item 4: `sts keys export`. The certificate is for relying parties (an audit event, no
// alert). The private key is what a Golden SAML attacker needs: refused by default, written only
// encrypted under a passphrase, mode 0600, never from a PKCS#11 token, and a critical alert when done.
// Every refused attempt is audited with its error code, and no secret reaches the CLI's output or the trail.

const PASSPHRASE = 'correct horse battery staple 93';

/** The instance's audit.jsonl as parsed events. */
function auditFile(home: string): Array<Record<string, unknown>> {
  const path = join(home, 'audit.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('cli: sts keys export', function () {
  this.timeout(120_000);
  const { dir: parent, home } = temporaryHome('trustbridge-keys-export-');
  let thumbprint: string;
  let certificatePem: string;
  let privateKeyPem: string;
  let passphraseFile: string;
  const outputs: Text[] = [];

  const exportKey = async (...args: string[]) => {
    const r = await stsCli(['keys', 'export', ...args, '--home', home]);
    outputs.push({ where: `sts keys export ${args.join(' ')}`, text: r.stdout + r.stderr, isLog: true });
    assert.doesNotMatch(r.stdout + r.stderr, STACK_TRACE);
    return r;
  };
  const exportEvents = () => auditFile(home).filter((e) => e['eventName'] === 'ExportSigningKey' || e['eventName'] === 'ExportSigningCertificate');
  const out = (name: string): string => join(parent, name);

  before(async () => {
    assert.equal(runSts(['init', '--home', home]).status, 0);
    const instance = await openInstance(home);
    try {
      const [key] = await instance.store.signingKeys.list();
      assert.ok(key);
      thumbprint = key.thumbprint;
      certificatePem = key.certificatePem;
      privateKeyPem = unsealPrivateKeyPem(key, instance.masterKey);
    } finally {
      await instance.close();
    }
    passphraseFile = out('passphrase.txt');
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  });

  it('exports the certificate by default (by thumbprint prefix): an audit event, no alert', async () => {
    const r = await exportKey(thumbprint.slice(0, 12), '--out', out('signing.crt.pem'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `exported the certificate of ${thumbprint} (active) to ${out('signing.crt.pem')}\n`);
    assert.equal(readFileSync(out('signing.crt.pem'), 'utf8'), certificatePem);
    assert.equal(new X509Certificate(readFileSync(out('signing.crt.pem'))).fingerprint256.replace(/:/g, '').toLowerCase(), thumbprint);
    const [e, ...more] = exportEvents();
    assert.equal(more.length, 0);
    assert.equal(e?.['eventName'], 'ExportSigningCertificate');
    assert.equal(e?.['alert'], null);
    assert.equal(e?.['severity'], 'info');
    assert.deepEqual(e?.['requestParameters'], { thumbprint, state: 'active', out: out('signing.crt.pem') });
  });

  it('the certificate to an --out that exists: refused, the file left as it was, audited (OutputNotWritable)', async () => {
    writeFileSync(out('existing.crt.pem'), 'keep me\n');
    const before = exportEvents().length;
    const r = await exportKey(thumbprint, '--out', out('existing.crt.pem'));
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `sts keys export: refused: ${out('existing.crt.pem')} exists: it is not overwritten; remove it or choose another file\n`);
    assert.equal(readFileSync(out('existing.crt.pem'), 'utf8'), 'keep me\n');
    const events = exportEvents().slice(before);
    assert.deepEqual(events.map((e) => [e['eventName'], e['errorCode'], e['alert'], e['severity']]), [['ExportSigningCertificate', 'OutputNotWritable', null, 'info']]);
  });

  it('the certificate to an --out in a directory that does not exist: exit 1, nothing created, audited (OutputNotWritable)', async () => {
    const file = join(out('missing-dir'), 'signing.crt.pem');
    const before = exportEvents().length;
    const r = await exportKey(thumbprint, '--out', file);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `sts keys export: refused: ${file} cannot be created (ENOENT)\n`);
    assert.equal(existsSync(out('missing-dir')), false);
    const events = exportEvents().slice(before);
    assert.deepEqual(events.map((e) => [e['eventName'], e['errorCode'], e['alert']]), [['ExportSigningCertificate', 'OutputNotWritable', null]]);
  });

  describe('the private key: refused unless every safeguard holds, each refusal audited', () => {
    const refusals: Array<[string, string[], string, RegExp]> = [
      ['without --i-understand-the-risk', ['--passphrase-file', 'PASSPHRASE'], 'RiskNotAcknowledged', /Golden SAML[\s\S]*Prefer rotating \(`sts keys rotate`\)/],
      ['without --passphrase-file', ['--i-understand-the-risk'], 'PassphraseMissing', /give --passphrase-file FILE: the private key is only ever written encrypted/],
      ['with an unreadable passphrase file', ['--i-understand-the-risk', '--passphrase-file', 'MISSING'], 'PassphraseUnreadable', /the passphrase file .* cannot be read/],
      ['with a short passphrase', ['--i-understand-the-risk', '--passphrase-file', 'SHORT'], 'PassphraseTooShort', /must have at least 16 characters/],
    ];
    for (const [what, flags, code, message] of refusals) {
      it(`${what}: exit 1, no file, an ExportSigningKey event with error ${code}, no alert, severity warning`, async () => {
        writeFileSync(out('short.txt'), 'too-short\n');
        const resolved = flags.map((f) => (f === 'PASSPHRASE' ? passphraseFile : f === 'MISSING' ? out('missing.txt') : f === 'SHORT' ? out('short.txt') : f));
        const before = exportEvents().length;
        const r = await exportKey(thumbprint, '--out', out('refused.key.pem'), '--private-key', ...resolved);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^sts keys export: refused: /);
        assert.match(r.stderr, message);
        assert.equal(existsSync(out('refused.key.pem')), false, 'nothing written');
        const events = exportEvents().slice(before);
        assert.equal(events.length, 1);
        assert.equal(events[0]?.['eventName'], 'ExportSigningKey');
        assert.equal(events[0]?.['errorCode'], code);
        assert.equal(events[0]?.['alert'], null);
        assert.equal(events[0]?.['severity'], 'warning');
        assert.match(String(events[0]?.['principal']), /^os:/);
      });
    }

    it('a key stored in clear (planted in the store by hand, not sealed): exit 1, no file, audited KeyNotSealed', async () => {
      const plantedHome = join(parent, 'planted-instance');
      assert.equal(runSts(['init', '--home', plantedHome]).status, 0);
      const db = new Database(join(plantedHome, 'trustbridge.db'));
      let planted: string;
      try {
        const row = db.prepare('SELECT thumbprint FROM signing_keys').get() as { thumbprint: string };
        planted = row.thumbprint;
        assert.equal(db.prepare('UPDATE signing_keys SET sealed_private_key = ? WHERE thumbprint = ?').run(privateKeyPem, planted).changes, 1);
      } finally {
        db.close();
      }
      const file = out('planted.key.pem');
      const r = await stsCli(['keys', 'export', planted, '--out', file, '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk', '--home', plantedHome]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `sts keys export: refused: key ${planted} is not sealed under the master key; it is not exported\n`);
      assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
      assert.equal(existsSync(file), false, 'nothing written');
      const refused = auditFile(plantedHome).filter((e) => e['eventName'] === 'ExportSigningKey');
      assert.deepEqual(refused.map((e) => [e['errorCode'], e['alert'], e['severity']]), [['KeyNotSealed', null, 'warning']]);
    });

    describe('a sealed key that cannot be opened (its envelope altered in the store)', () => {
      let alteredHome: string;
      let altered: string;
      before(() => {
        alteredHome = join(parent, 'altered-instance');
        assert.equal(runSts(['init', '--home', alteredHome]).status, 0);
        const db = new Database(join(alteredHome, 'trustbridge.db'));
        try {
          const row = db.prepare('SELECT thumbprint, sealed_private_key AS sealed FROM signing_keys').get() as { thumbprint: string; sealed: string };
          altered = row.thumbprint;
          // The ciphertext's first character (all six of its bits count): still a sealed envelope, no longer one the master key opens.
          const at = row.sealed.lastIndexOf('.') + 1;
          const flipped = row.sealed.slice(0, at) + (row.sealed[at] === 'A' ? 'B' : 'A') + row.sealed.slice(at + 1);
          assert.equal(db.prepare('UPDATE signing_keys SET sealed_private_key = ? WHERE thumbprint = ?').run(flipped, altered).changes, 1);
        } finally {
          db.close();
        }
      });
      const exportAltered = (file: string) =>
        stsCli(['keys', 'export', altered, '--out', file, '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk', '--home', alteredHome]);

      it('to an --out that exists: refused as OutputNotWritable before the key is touched (no decryption, no PBKDF2)', async () => {
        writeFileSync(out('altered-existing.pem'), 'keep me\n');
        const r = await exportAltered(out('altered-existing.pem'));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stderr, `sts keys export: refused: ${out('altered-existing.pem')} exists: it is not overwritten; remove it or choose another file\n`);
        assert.equal(readFileSync(out('altered-existing.pem'), 'utf8'), 'keep me\n');
        const refused = auditFile(alteredHome).filter((e) => e['eventName'] === 'ExportSigningKey');
        assert.deepEqual(refused.map((e) => [e['errorCode'], e['severity']]), [['OutputNotWritable', 'warning']]);
      });

      it('to a new --out: exit 1 with the unsealing error (no stack, nothing of the key), and the file it created is removed', async () => {
        const file = out('altered.key.pem');
        const r = await exportAltered(file);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, 'sts keys export: a sealed secret could not be opened: wrong master key, or the value was altered\n');
        assert.doesNotMatch(r.stderr, STACK_TRACE);
        assert.equal(existsSync(file), false, 'no empty or partial key file left');
        const failed = auditFile(alteredHome).filter((e) => e['eventName'] === 'ExportSigningKey').at(-1);
        assert.deepEqual([failed?.['errorCode'], failed?.['errorMessage'], failed?.['severity'], failed?.['alert']], [
          'ExportFailed',
          'a sealed secret could not be opened: wrong master key, or the value was altered',
          'warning',
          null,
        ]);
      });
    });

    it('an --out that exists is refused and left as it was (audited: OutputNotWritable)', async () => {
      writeFileSync(out('existing.pem'), 'keep me\n');
      const r = await exportKey(thumbprint, '--out', out('existing.pem'), '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk');
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `sts keys export: refused: ${out('existing.pem')} exists: it is not overwritten; remove it or choose another file\n`);
      assert.equal(readFileSync(out('existing.pem'), 'utf8'), 'keep me\n');
      assert.equal(exportEvents().at(-1)?.['errorCode'], 'OutputNotWritable');
    });

    it('an --out in a directory that does not exist: exit 1, nothing created, audited (OutputNotWritable)', async () => {
      const missingDir = out('no-such-dir');
      const file = join(missingDir, 'k.p8.pem');
      const before = exportEvents().length;
      const r = await exportKey(thumbprint, '--out', file, '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk');
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `sts keys export: refused: ${file} cannot be created (ENOENT)\n`);
      assert.equal(existsSync(missingDir), false, 'no directory made, no partial file');
      const events = exportEvents().slice(before);
      assert.deepEqual(events.map((e) => [e['eventName'], e['errorCode'], e['alert'], e['severity']]), [['ExportSigningKey', 'OutputNotWritable', null, 'warning']]);
      assert.equal(events[0]?.['errorMessage'], `${file} cannot be created (ENOENT)`);
    });

    it('in the store, too, every refused private-key export is a warning and every refused certificate export info', async () => {
      const instance = await openInstance(home);
      try {
        const stored = (await instance.store.audit.query({ limit: 1000 })).filter((e: AuditEvent) => e.errorCode !== null);
        const severities = new Set(stored.map((e) => `${e.eventName} ${e.severity}`));
        assert.deepEqual([...severities].sort(), ['ExportSigningCertificate info', 'ExportSigningKey warning']);
        assert.ok(stored.filter((e) => e.eventName === 'ExportSigningKey').length >= 6, 'every refusal so far');
      } finally {
        await instance.close();
      }
    });

    it('usage errors (exit 2): no --out, --out -, safeguard flags without --private-key', async () => {
      for (const args of [[thumbprint], [thumbprint, '--out', '-', '--private-key'], [thumbprint, '--out', out('x.pem'), '--i-understand-the-risk'], ['--out', out('x.pem')]]) {
        const r = await exportKey(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /usage: sts keys export/);
      }
      assert.equal(existsSync(out('x.pem')), false);
    });

    it('with every safeguard: encrypted PKCS#8 (PBES2, PBKDF2, AES-256-CBC), mode 0600 whatever the umask, decrypting to the key that signs', async () => {
      const file = out('exported.key.pem');
      const umask = process.umask(0o000);
      let r;
      try {
        r = await exportKey(thumbprint, '--out', file, '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk');
      } finally {
        process.umask(umask);
      }
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^exported the private key of ${thumbprint} \\(active\\) to ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, encrypted under the passphrase\\n`));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const pem = readFileSync(file, 'utf8');
      assert.ok(pem.startsWith(`-----BEGIN ${ENCRYPTED_PKCS8_LABEL}-----\n`), 'PKCS#8 EncryptedPrivateKeyInfo');
      assert.throws(() => createPrivateKey(pem), 'no use without the passphrase');
      assert.throws(() => createPrivateKey({ key: pem, passphrase: `${PASSPHRASE}x` }));
      const parsed = runOpenssl(['asn1parse', '-in', file]);
      for (const oid of ['PBES2', 'PBKDF2', 'aes-256-cbc']) assert.ok(parsed.includes(oid), `${oid} in\n${parsed}`);

      const key = createPrivateKey({ key: pem, passphrase: PASSPHRASE });
      const data = Buffer.from('signed by the exported key');
      const signature = sign('sha256', data, key);
      assert.ok(verify('sha256', data, createPublicKey(certificatePem), signature), 'the exported key is the instance\'s signing key');
    });

    it('the export is a critical alert (signing-key-exported) in audit.jsonl and the store, naming the OS account', async () => {
      const [e, ...more] = exportEvents().filter((x) => x['eventName'] === 'ExportSigningKey' && x['errorCode'] === null);
      assert.equal(more.length, 0);
      assert.equal(e?.['alert'], 'signing-key-exported');
      assert.equal(e?.['severity'], 'critical');
      assert.equal(e?.['userAgent'], 'sts-cli');
      assert.match(String(e?.['principal']), /^os:/);
      const request = { thumbprint, state: 'active', out: out('exported.key.pem'), privateKey: true };
      assert.deepEqual(e?.['requestParameters'], request);
      assert.deepEqual(e?.['additionalEventData'], { ...request, format: 'pkcs8-pem', cipher: 'aes-256-cbc', fileMode: '0600' });
      const instance = await openInstance(home);
      try {
        const stored = (await instance.store.audit.query({ limit: 1000, alertsOnly: true })).filter((x: AuditEvent) => x.alert === 'signing-key-exported');
        assert.deepEqual(stored.map((x) => x.eventId), [e?.['eventId']]);
      } finally {
        await instance.close();
      }
    });

    it('no secret (the private key in any form, the passphrase) is in the CLI\'s output or the audit trail', async () => {
      const secrets: Secret[] = [pemSecret('signing private key', privateKeyPem), textSecret('export passphrase', PASSPHRASE)];
      const texts: Text[] = [...outputs, { where: 'audit.jsonl', text: readFileSync(join(home, 'audit.jsonl'), 'utf8'), isLog: true }];
      assert.ok(outputs.length >= 9);
      assert.deepEqual(findLeaks(texts, secrets), []);
    });
  });

  describe('with PKCS#11 custody (SoftHSM2)', () => {
    let tokenHome: string;
    let tokenThumbprint: string;

    before(async () => {
      const token = newTestToken();
      tokenHome = join(parent, 'token-instance');
      const init = await stsCli(['init', '--home', tokenHome, '--port', '0', '--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', token.label, '--pkcs11-pin-env', token.pinEnv]);
      assert.equal(init.status, 0, init.stderr);
      const list = await stsCli(['keys', 'list', '--home', tokenHome]);
      tokenThumbprint = /^([0-9a-f]{64})  active$/m.exec(list.stdout)?.[1] ?? '';
      assert.ok(tokenThumbprint, list.stdout);
    });

    it('the private key is refused as not extractable (exit 1, audited KeyNotExtractable, no file); the certificate exports', async () => {
      const file = out('token.key.pem');
      const r = await stsCli(['keys', 'export', tokenThumbprint, '--out', file, '--private-key', '--passphrase-file', passphraseFile, '--i-understand-the-risk', '--home', tokenHome]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^sts keys export: refused: signingKeyCustody is "pkcs11": the key was generated inside the token as non-extractable and cannot leave it\./);
      assert.doesNotMatch(r.stderr, STACK_TRACE);
      assert.equal(existsSync(file), false);
      const refused = auditFile(tokenHome).filter((e) => e['eventName'] === 'ExportSigningKey');
      assert.deepEqual(refused.map((e) => [e['errorCode'], e['alert']]), [['KeyNotExtractable', null]]);

      const cert = await stsCli(['keys', 'export', tokenThumbprint, '--out', out('token.crt.pem'), '--home', tokenHome]);
      assert.equal(cert.status, 0, cert.stderr);
      assert.equal(new X509Certificate(readFileSync(out('token.crt.pem'))).fingerprint256.replace(/:/g, '').toLowerCase(), tokenThumbprint);
    });
  });
});

function runOpenssl(args: readonly string[]): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
