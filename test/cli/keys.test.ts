import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { openInstance } from '../../src/instance/open-instance';
import { generateSigningKey } from '../../src/keys/key-material';
import { temporaryHome } from '../support/temporary-home';
import { freePort, killAllStsProcesses, runSts, StsProcess } from '../support/unit-cli';

const THUMB = /[0-9a-f]{64}/;

describe('cli: sts keys list | rotate | promote | revoke | import', function () {
  this.timeout(60_000);
  const { dir: parent, home } = temporaryHome('trustbridge-cli-keys-');
  const keys = (...args: string[]) => runSts(['keys', ...args, '--home', home]);
  const states = (): Array<[string, string]> =>
    [...keys('list').stdout.matchAll(/^([0-9a-f]{64})  (\w+)$/gm)].map((m) => [m[1] as string, m[2] as string]);

  before(() => {
    assert.equal(runSts(['init', '--home', home]).status, 0);
  });

  it('list shows the one active key with subject, expiry and times', () => {
    const r = keys('list');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}  active\n  subject CN=Trustbridge Token Signing, not after \d{4}-\d\d-\d\dT.*\n  created .*, activated .*\n$/);
  });

  it('promote with nothing pending names the fix', () => {
    const r = keys('promote');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no key is pending: generate one with "sts keys rotate"/);
  });

  it('rotate adds a pending key and says how to promote it; never prints a private key', () => {
    const r = keys('rotate');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /generated pending key [0-9a-f]{64}/);
    assert.match(r.stdout, /sts keys promote [0-9a-f]{64}/);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|BEGIN/);
    assert.deepEqual(states().map((s) => s[1]), ['active', 'pending']);
  });

  it('promote (no argument) promotes the only pending key; the active one becomes retiring; the export follows', () => {
    const [[oldActive], [pending]] = states() as [[string, string], [string, string]];
    const r = keys('promote');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`promoted ${pending}`));
    assert.match(r.stdout, new RegExp(`${oldActive} is retiring`));
    assert.deepEqual(states(), [[oldActive, 'retiring'], [pending, 'active']]);
    const exported = readFileSync(join(home, 'token-signing.crt.pem'), 'utf8');
    assert.equal(new X509Certificate(exported).fingerprint256.replace(/:/g, '').toLowerCase(), pending, 'token-signing.crt.pem is the new active certificate');
  });

  it('promote of a key that is not pending is refused and names its state', () => {
    const [, [active]] = states() as [[string, string], [string, string]];
    const r = keys('promote', active);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is active, not pending: only a pending key can be promoted/);
  });

  it('revoke refuses the active key, unknown and malformed thumbprints', () => {
    const [, [active]] = states() as [[string, string], [string, string]];
    let r = keys('revoke', active);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is the active key: revoking it would leave nothing to sign tokens\.\nTo replace it and revoke it at once, run: sts keys rotate --emergency/);
    r = keys('revoke', 'ffffffffffff');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no token-signing key has thumbprint ffffffffffff: see "sts keys list"/);
    r = keys('revoke', 'xyz');
    assert.equal(r.status, 2);
    r = keys('revoke');
    assert.equal(r.status, 2);
  });

  it('rotate --now promotes at once; rotate --emergency revokes the previous active key', () => {
    let r = keys('rotate', '--now');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /promoted [0-9a-f]{64}: it signs tokens now/);
    assert.match(r.stdout, /is retiring/);
    const activeBefore = (states().find((s) => s[1] === 'active') as [string, string])[0];
    r = keys('rotate', '--emergency');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`revoked ${activeBefore}: tokens it signed no longer validate`));
    assert.equal(states().filter((s) => s[1] === 'active').length, 1);
    assert.equal(states().find((s) => s[0] === activeBefore)?.[1], 'revoked');
    assert.equal(keys('rotate', '--now', '--emergency').status, 2);
  });

  it('revoke of a retiring key works and says what it changed; revoking it again is refused', () => {
    const retiring = (states().find((s) => s[1] === 'retiring') as [string, string])[0];
    let r = keys('revoke', retiring.slice(0, 10));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`revoked ${retiring} \\(was retiring\\)`));
    r = keys('revoke', retiring);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already revoked/);
  });

  describe('import', () => {
    let certFile: string;
    let keyFile: string;
    before(() => {
      const made = generateSelfSignedCertificate({ commonName: 'Made Elsewhere', validDays: 30 });
      certFile = join(parent, 'cert.pem');
      keyFile = join(parent, 'key.pem');
      writeFileSync(certFile, made.certificatePem);
      writeFileSync(keyFile, made.privateKeyPem);
    });

    it('is refused by default, saying why (Silver SAML) and what to do instead', () => {
      const before = states();
      const r = keys('import', '--cert', certFile, '--key', keyFile);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /an imported key may exist elsewhere: whoever else holds it can mint tokens you will accept — the Silver SAML hole/);
      assert.match(r.stderr, /generate keys with `sts keys rotate` instead/);
      assert.match(r.stderr, /--i-understand-the-risk/);
      assert.deepEqual(states(), before);
    });

    it('a key that does not match its certificate is refused without echoing either', () => {
      const other = generateSelfSignedCertificate({ commonName: 'Other', validDays: 30 });
      const otherKey = join(parent, 'other.pem');
      writeFileSync(otherKey, other.privateKeyPem);
      const r = keys('import', '--cert', certFile, '--key', otherKey, '--i-understand-the-risk');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /does not match its certificate/);
      assert.doesNotMatch(r.stderr, /BEGIN/);
    });

    it('with --i-understand-the-risk it is imported as pending', () => {
      const r = keys('import', '--cert', certFile, '--key', keyFile, '--i-understand-the-risk');
      assert.equal(r.status, 0, r.stderr);
      const thumbprint = (THUMB.exec(r.stdout) as RegExpExecArray)[0];
      assert.match(r.stdout, /imported [0-9a-f]{64} as pending \(CN=Made Elsewhere/);
      assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
      assert.equal(states().find((s) => s[0] === thumbprint)?.[1], 'pending');
      const again = keys('import', '--cert', certFile, '--key', keyFile, '--i-understand-the-risk');
      assert.equal(again.status, 1);
      assert.match(again.stderr, /already exists/);
    });
  });
});

describe('cli: sts serve runs the automatic key rollover', function () {
  this.timeout(90_000);
  let parent: string;
  after(async () => {
    await killAllStsProcesses();
    rmSync(parent, { recursive: true, force: true });
  });

  for (const workers of ['1', '2']) {
    it(`generates a pending key at start when the active certificate expires within 20 days (--workers ${workers})`, async () => {
      parent = mkdtempSync(join(tmpdir(), 'trustbridge-cli-rollover-'));
      const home = join(parent, 'instance');
      assert.equal(runSts(['init', '--home', home]).status, 0);
      // Replace the active key with one whose certificate expires in 10 days.
      const instance = await openInstance(home);
      try {
        const short = await generateSigningKey(instance.store.signingKeys, instance.signingKeyCustody(), { state: 'pending', validDays: 10 });
        await instance.store.signingKeys.promote(short.thumbprint, new Date(), { revokePrevious: true });
      } finally {
        await instance.close();
      }
      const serve = new StsProcess(['serve', '--home', home, '--workers', workers, '--port', String(await freePort())]);
      await serve.waitForOutput(/key rollover: generate/);
      await serve.waitForOutput(/listening on/);
      const list = runSts(['keys', 'list', '--home', home]).stdout;
      assert.equal([...list.matchAll(/  pending\n/g)].length, 1, list);
      assert.equal([...list.matchAll(/  active\n/g)].length, 1, list);
      serve.child.kill('SIGTERM');
      await serve.waitForExit();
      rmSync(parent, { recursive: true, force: true });
    });
  }
});
