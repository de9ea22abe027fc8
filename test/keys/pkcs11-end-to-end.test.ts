import { strict as assert } from 'node:assert';
import { KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../../src/config/config';
import { runRolloverCheck } from '../../src/keys/key-rollover';
import { Pkcs11Token } from '../../src/keys/pkcs11/pkcs11-token';
import { parseTokenKeyReference } from '../../src/keys/pkcs11/pkcs11-uri';
import { TOKEN_IMPORT_REFUSED } from '../../src/keys/pkcs11/token-custody';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import type { SigningKeyRecord } from '../../src/store/store';
import { httpsRequest } from '../support/https-client';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { closeAllSessions, newTestToken, SOFTHSM_MODULE, type TestToken } from '../support/softhsm';
import { postToSts } from '../support/sts-post';
import { temporaryHome } from '../support/temporary-home';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, pathOf, trustRequest } from '../support/trust-messages';
import { freePort, killAllStsProcesses, runStsAsync, StsProcess } from '../support/unit-cli';
import { signerThumbprintOf } from '../support/xml-edit';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// An instance whose token-signing keys live in a PKCS#11 token (SoftHSM2): `sts init` generates the
// first key inside the token, tokens and metadata are signed by the token (checked by xmlsec1), the
// store holds only a pkcs11: reference, rotation and the automatic rollover generate in the token,
// every `sts serve` process opens its own session, a session lost under the server is opened again,
// and a wrong PIN stops start-up with a clear message.

const USER = 'hsm@keys.example';
const PASSWORD = 'Hsm-Pässwort-1!';
const RP = 'https://rp.hsm.example/';
const STACK_TRACE = /\n\s+at /;


describe('keys: token-signing keys held in a PKCS#11 token (SoftHSM2), end to end', function () {
  this.timeout(120_000);
  let token: TestToken;
  let server: TestSts;
  const { dir: parent, home } = temporaryHome('trustbridge-pkcs11-', {
    beforeRemoving: async () => {
      await killAllStsProcesses();
      await server?.stop();
    },
  });

  const records = (): Promise<SigningKeyRecord[]> => server.instance.store.signingKeys.list();

  async function issue(baseUrl = server.baseUrl): Promise<string> {
    const req = trustRequest({ version: '1.3', username: USER, password: PASSWORD, requestType: 'Issue', rstBody: appliesTo(RP) });
    const res = await postToSts(`${baseUrl}${pathOf('1.3')}`, { ca: server.tlsCertificatePem, headers: req.headers, body: req.body, timeoutMs: 20_000 });
    assert.equal(res.status, 200, res.body);
    return assertionText(res.body);
  }

  /** The token holds a private key for this stored record (looked up from this process's own session). */
  function tokenHolds(record: SigningKeyRecord): boolean {
    const session = Pkcs11Token.open({ module: SOFTHSM_MODULE, tokenLabel: token.label, pin: token.pin, pinSource: 'test' });
    try {
      return session.findPrivateKey(parseTokenKeyReference(record.sealedPrivateKey).id) !== undefined;
    } finally {
      session.close();
    }
  }

  before(() => {
    token = newTestToken();
  });

  it('sts init --pkcs11-* generates the first key inside the token; the store holds only a pkcs11: reference', async () => {
    const r = await runStsAsync(['init', '--home', home, '--port', '0', '--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', token.label, '--pkcs11-pin-env', token.pinEnv]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`the token-signing key was generated inside the PKCS#11 token "${token.label}"`));
    const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config['signingKeyCustody'], token.custody);
    server = await startTestSts({ home });
    await server.addUser({ name: USER, password: PASSWORD, claims: [] });
    await server.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
    const [key, ...others] = await records();
    assert.equal(others.length, 0);
    assert.ok(key);
    assert.equal(key.state, 'active');
    assert.match(key.sealedPrivateKey, new RegExp(`^pkcs11:token=${encodeURIComponent(token.label)};id=(%[0-9a-f]{2}){16};type=private$`));
    assert.ok(tokenHolds(key));
    assert.equal(certificateThumbprintSha256(new X509Certificate(readFileSync(join(home, 'token-signing.crt.pem'), 'utf8')).raw), key.thumbprint);
  });

  it('this process signs with a key it does not hold: no private KeyObject, only the token', () => {
    const key = server.instance.signingKey;
    assert.equal(key.custody, 'pkcs11');
    const keyObjects = Object.values(key).filter((v): v is KeyObject => v instanceof KeyObject);
    assert.deepEqual(keyObjects.map((k) => k.type), ['public']);
  });

  it('an Issue over WS-Trust is signed by the token key, and xmlsec1 verifies it', async () => {
    const xml = await issue();
    const active = server.instance.signingKey;
    assert.equal(signerThumbprintOf(xml), active.thumbprintSha256);
    const checked = verifyWithXmlsec1(xml, active.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(checked.ok, checked.output);
  });

  it('a session closed under the server (C_CloseAllSessions) is re-established by the next Issue, which succeeds; the log says both, without the PIN', async () => {
    // SoftHSM2 runs in this process, the server's too: see closeAllSessions.
    closeAllSessions(token.label);
    const xml = await issue();
    const checked = verifyWithXmlsec1(xml, server.instance.signingKey.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(checked.ok, checked.output);
    assert.deepEqual(
      server.logs.filter((l) => l.msg.includes('PKCS#11')),
      [
        { level: 'warn', msg: 'the PKCS#11 token session was lost; reconnecting', fields: { tokenLabel: token.label, reason: 'CKR_SESSION_HANDLE_INVALID' } },
        { level: 'info', msg: 'the PKCS#11 token session was re-established', fields: { tokenLabel: token.label } },
      ],
    );
    assert.ok(!JSON.stringify(server.logs).includes(token.pin), 'no PIN in the log');
  });

  it('the federation metadata is signed by the token key (xml-crypto through the SigningKey), and xmlsec1 verifies it', async () => {
    const res = await httpsRequest(`${server.baseUrl}/FederationMetadata/2007-06/FederationMetadata.xml`, { ca: server.tlsCertificatePem });
    assert.equal(res.status, 200);
    const checked = verifyWithXmlsec1(res.body, server.instance.signingKey.certificatePem, 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor');
    assert.ok(checked.ok, checked.output);
  });

  it('sts keys rotate generates the next key in the token; after promote the server signs with it', async () => {
    const before = server.instance.signingKey.thumbprintSha256;
    const rotate = await runStsAsync(['keys', 'rotate', '--home', home]);
    assert.equal(rotate.status, 0, rotate.stderr);
    const next = (/generated pending key ([0-9a-f]{64})/.exec(rotate.stdout) as RegExpExecArray)[1] as string;
    const pending = await server.instance.store.signingKeys.get(next);
    assert.ok(pending);
    assert.match(pending.sealedPrivateKey, /^pkcs11:/);
    assert.ok(tokenHolds(pending), 'the token holds the new key');
    const promote = await runStsAsync(['keys', 'promote', next, '--home', home]);
    assert.equal(promote.status, 0, promote.stderr);
    await server.instance.signingKeys.refresh();
    assert.equal(server.instance.signingKey.thumbprintSha256, next);
    assert.equal(server.instance.signingKey.custody, 'pkcs11');
    const xml = await issue();
    assert.equal(signerThumbprintOf(xml), next);
    const checked = verifyWithXmlsec1(xml, pending.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(checked.ok, checked.output);
    assert.equal((await server.instance.store.signingKeys.get(before))?.state, 'retiring');
  });

  it('the automatic rollover generates its pending key in the token too', async () => {
    const outcomes = await runRolloverCheck({
      store: server.instance.store,
      custody: server.instance.signingKeyCustody,
      settings: DEFAULT_CONFIG.keyRollover,
      clockSkewSeconds: 300,
      // Within 20 days of the active certificate's expiry.
      now: new Date(server.instance.signingKey.notAfter.getTime() - 10 * 86_400_000),
    });
    const generated = outcomes.find((o) => o.action.kind === 'generate');
    assert.ok(generated?.done, JSON.stringify(outcomes));
    const record = await server.instance.store.signingKeys.get(generated.thumbprint);
    assert.ok(record);
    assert.equal(record.state, 'pending');
    assert.match(record.sealedPrivateKey, /^pkcs11:/);
    assert.ok(tokenHolds(record));
  });

  it('sts keys import is refused, before reading the key, and changes nothing', async () => {
    const before = await records();
    const pair = generateSelfSignedCertificate({ commonName: 'Imported', validDays: 30 });
    writeFileSync(join(parent, 'c.pem'), pair.certificatePem);
    writeFileSync(join(parent, 'k.pem'), pair.privateKeyPem, { mode: 0o600 });
    const r = await runStsAsync(['keys', 'import', '--cert', join(parent, 'c.pem'), '--key', join(parent, 'k.pem'), '--i-understand-the-risk', '--home', home]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `sts keys import: ${TOKEN_IMPORT_REFUSED}\n`);
    assert.deepEqual(await records(), before);
  });

  describe('sts serve', () => {
    it('with two workers, each opens its own session and signs with the token', async () => {
      const { sts: serve, port } = await serveTwoWorkers(home);
      const baseUrl = `https://localhost:${port}`;
      const signers = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const xml = await issue(baseUrl);
        assert.ok(verifyWithXmlsec1(xml, server.instance.signingKey.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok);
        signers.add(signerThumbprintOf(xml));
      }
      assert.deepEqual([...signers], [server.instance.signingKey.thumbprintSha256]);
      // Connections go round-robin to the workers: both signed, each through its own session.
      const servedBy = new Set(
        serve.stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg: string; pid: number })
          .filter((r) => r.msg === 'request served')
          .map((r) => r.pid),
      );
      assert.equal(servedBy.size, 2, serve.stdout);
      assert.ok(!servedBy.has(serve.pid), 'the primary signs nothing');
      serve.child.kill('SIGTERM');
      const exit = await serve.waitForExit(15_000);
      assert.equal(exit.code, 0, serve.stderr);
    });

    for (const workers of ['1', '2']) {
      it(`a wrong PIN stops start-up with a message that names the PIN's source, never the PIN (--workers ${workers})`, async () => {
        const wrong = `${token.pin}-not-it`;
        const serve = new StsProcess(['serve', '--home', home, '--workers', workers, '--port', String(await freePort())], { [token.pinEnv]: wrong });
        const exit = await serve.waitForExit(30_000);
        assert.equal(exit.code, 1, serve.stdout);
        assert.equal(
          serve.stderr,
          `sts serve: the PKCS#11 token "${token.label}" refused the PIN from the environment variable ${token.pinEnv} (CKR_PIN_INCORRECT): put the token's user PIN there\n`,
        );
        assert.doesNotMatch(serve.stderr, STACK_TRACE);
        for (const out of [serve.stdout, serve.stderr]) assert.ok(!out.includes(wrong) && !out.includes(token.pin), 'no PIN in the output');
      });
    }

    it('an unset PIN variable says which variable to export', async () => {
      const serve = await runStsAsync(['serve', '--home', home, '--workers', '1', '--port', String(await freePort())], { env: { [token.pinEnv]: undefined } });
      assert.equal(serve.status, 1);
      assert.equal(serve.stderr, `sts serve: signingKeyCustody.pinEnv names ${token.pinEnv}, which is not set: export ${token.pinEnv} with the PKCS#11 token's user PIN\n`);
    });
  });
});
