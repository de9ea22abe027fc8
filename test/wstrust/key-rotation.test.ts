import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { unsealSigningKey } from '../../src/keys/key-material';
import { certificateThumbprintSha256, type SigningKey } from '../../src/keys/signing-key';
import { buildSaml2Assertion } from '../../src/saml/saml2-assertion';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { NS, SAML2 } from '../../src/xml/namespaces';
import { httpsRequest } from '../support/https-client';
import { postToSts } from '../support/sts-post';
import { parseStrict } from '../support/soap-reply';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, pathOf, trustNs, trustRequest } from '../support/trust-messages';
import { runStsAsync } from '../support/unit-cli';
import { idOf, signerThumbprintOf } from '../support/xml-edit';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// Token-signing key rotation against a running server: the CLI (another process) rotates, the server
// follows without a restart; tokens of a retiring key stay valid, those of a revoked key die, a
// pending key's signature counts for nothing, and the metadata publishes what relying parties need.

const USER = 'rotation@keys.example';
const PASSWORD = 'Rotation-Pässwort-1!';
const RP = 'https://rp.rotation.example/';

describe('wstrust: token-signing key rotation', function () {
  this.timeout(120_000);
  let server: TestSts;

  async function issue(): Promise<{ xml: string; id: string }> {
    const req = trustRequest({ version: '1.3', username: USER, password: PASSWORD, requestType: 'Issue', rstBody: appliesTo(RP) });
    const res = await postToSts(`${server.baseUrl}${pathOf('1.3')}`, { ca: server.tlsCertificatePem, headers: req.headers, body: req.body, timeoutMs: 20_000 });
    assert.equal(res.status, 200, res.body);
    const xml = assertionText(res.body);
    return { xml, id: idOf(xml) };
  }

  async function validate(xml: string): Promise<{ valid: boolean; reason: string }> {
    const t = trustNs('1.3');
    const req = trustRequest({ version: '1.3', username: USER, password: PASSWORD, requestType: 'Validate', rstBody: `<t:ValidateTarget>${xml}</t:ValidateTarget>` });
    const res = await postToSts(`${server.baseUrl}${pathOf('1.3')}`, { ca: server.tlsCertificatePem, headers: req.headers, body: req.body });
    assert.equal(res.status, 200, res.body);
    const code = /<t:Code>([^<]+)<\/t:Code>|<Code[^>]*>([^<]+)<\/Code>/.exec(res.body);
    const doc = parseStrict(res.body);
    const codes = doc.getElementsByTagNameNS(t, 'Code');
    const reasons = doc.getElementsByTagNameNS(t, 'Reason');
    assert.equal(codes.length, 1, `one status code: ${code?.[0] ?? res.body.slice(0, 500)}`);
    return { valid: (codes[0]?.textContent ?? '').endsWith('/status/valid'), reason: reasons[0]?.textContent ?? '' };
  }

  /** Validate until it gives `valid` (the verifier's key list is up to 5 s old), failing after 8 s. */
  async function eventually(xml: string, valid: boolean): Promise<string> {
    const deadline = Date.now() + 8000;
    for (;;) {
      const v = await validate(xml);
      if (v.valid === valid || Date.now() > deadline) {
        assert.equal(v.valid, valid, v.reason);
        return v.reason;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function metadataThumbprints(): Promise<string[]> {
    const res = await httpsRequest(`${server.baseUrl}/FederationMetadata/2007-06/FederationMetadata.xml`, { ca: server.tlsCertificatePem });
    assert.equal(res.status, 200);
    const doc = parseStrict(res.body);
    const role = doc.getElementsByTagNameNS(NS.md, 'IDPSSODescriptor')[0] as Element;
    const certs = Array.from(role.getElementsByTagNameNS(NS.ds, 'X509Certificate')).map((e) => certificateThumbprintSha256(Buffer.from(e.textContent ?? '', 'base64')));
    // Signed by the active key.
    const signed = verifyWithXmlsec1(res.body, server.instance.signingKey.certificatePem, 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor');
    assert.ok(signed.ok, signed.output);
    return certs.sort();
  }

  async function keyOf(thumbprint: string): Promise<SigningKey> {
    const record = await server.instance.store.signingKeys.get(thumbprint);
    assert.ok(record);
    return unsealSigningKey(record, server.instance.masterKey);
  }

  const state = async (thumbprint: string): Promise<string | undefined> => (await server.instance.store.signingKeys.get(thumbprint))?.state;
  const pendingThumbprint = (stdout: string): string => (/generated pending key ([0-9a-f]{64})/.exec(stdout) as RegExpExecArray)[1] as string;

  before(async () => {
    server = await startTestSts();
    await server.addUser({ name: USER, password: PASSWORD, claims: [] });
    await server.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
  });
  after(async () => {
    await server?.stop();
  });

  describe('a normal rotation, then an emergency one', () => {
    let keyA: string;
    let keyB: string;
    let keyC: string;
    let tokenA: { xml: string; id: string };
    let tokenB: { xml: string; id: string };

    it('rotate: the new key is pending, published, and does not sign', async () => {
      keyA = server.instance.signingKey.thumbprintSha256;
      tokenA = await issue();
      const r = await runStsAsync(['keys', 'rotate', '--home', server.home]);
      assert.equal(r.status, 0, r.stderr);
      keyB = pendingThumbprint(r.stdout);
      assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
      await server.instance.signingKeys.refresh();
      assert.deepEqual(await metadataThumbprints(), [keyA, keyB].sort());
      const t = await issue();
      assert.equal(signerThumbprintOf(t.xml), keyA, 'the active key still signs');
    });

    it('a token signed by the pending key is refused (Validate says invalid)', async () => {
      const pending = await keyOf(keyB);
      const now = new Date();
      const expires = new Date(now.getTime() + 3600_000);
      const forged = signCanonicalElement(
        buildSaml2Assertion({
          id: `_${randomUUID()}`, issueInstant: now, issuer: server.instance.config.issuer, nameId: USER, nameIdFormat: SAML2.nameIdUnspecified,
          confirmationNotOnOrAfter: expires, notBefore: now, notOnOrAfter: expires, audience: RP, authnInstant: now,
          authnContextClassRef: SAML2.passwordProtectedTransport, attributes: [],
        }),
        pending,
      ).xml;
      const v = await validate(forged);
      assert.equal(v.valid, false);
      assert.match(v.reason, /has not been promoted/);
    });

    it('promote: the server signs with the new key without a restart; tokens of the retiring key still validate', async () => {
      const r = await runStsAsync(['keys', 'promote', '--home', server.home]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`promoted ${keyB}`));
      assert.match(r.stdout, new RegExp(`${keyA} is retiring`));
      assert.equal(await state(keyA), 'retiring');
      // The background refresh (every 5 s) picks it up.
      const deadline = Date.now() + 8000;
      while (server.instance.signingKey.thumbprintSha256 !== keyB && Date.now() < deadline) await new Promise((w) => setTimeout(w, 100));
      tokenB = await issue();
      assert.equal(signerThumbprintOf(tokenB.xml), keyB);
      assert.equal((await server.instance.store.ledger.get(tokenB.id))?.keyThumbprint, keyB);
      assert.ok(verifyWithXmlsec1(tokenB.xml, (await keyOf(keyB)).certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok);
      assert.equal((await validate(tokenA.xml)).valid, true, 'issued before the rotation, by the retiring key');
      assert.equal((await validate(tokenB.xml)).valid, true);
      assert.deepEqual(await metadataThumbprints(), [keyA, keyB].sort());
    });

    it('revoke refuses the active key and names rotate --emergency', async () => {
      const r = await runStsAsync(['keys', 'revoke', keyB, '--home', server.home]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /is the active key/);
      assert.match(r.stderr, /sts keys rotate --emergency/);
      assert.equal(await state(keyB), 'active');
    });

    it('rotate --emergency: the old active key is revoked, its tokens stop validating at once, the new key signs', async () => {
      const r = await runStsAsync(['keys', 'rotate', '--emergency', '--home', server.home]);
      assert.equal(r.status, 0, r.stderr);
      keyC = pendingThumbprint(r.stdout);
      assert.match(r.stdout, new RegExp(`revoked ${keyB}`));
      assert.equal(await state(keyB), 'revoked');
      assert.equal(await state(keyC), 'active');
      // At once: no waiting for the key ring's refresh (the key's state is read at each validation).
      const revoked = await validate(tokenB.xml);
      assert.equal(revoked.valid, false);
      assert.match(revoked.reason, /revoked key/);
      await server.instance.signingKeys.refresh();
      const tokenC = await issue();
      const certificateC = (await keyOf(keyC)).certificatePem;
      assert.equal(signerThumbprintOf(tokenC.xml), keyC);
      assert.ok(verifyWithXmlsec1(tokenC.xml, certificateC, SAML2_ASSERTION_ID_ATTRIBUTE).ok, 'xmlsec1 verifies the new token with the new certificate');
      assert.ok(!verifyWithXmlsec1(tokenC.xml, (await keyOf(keyB)).certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, 'not with the revoked one');
      assert.equal((await validate(tokenC.xml)).valid, true);
      assert.equal((await validate(tokenA.xml)).valid, true, 'the retiring key is untouched');
      assert.deepEqual(await metadataThumbprints(), [keyA, keyC].sort(), 'the revoked key is no longer published');
    });

    it('a retired key is neither published nor trusted; revoke works on it', async () => {
      assert.equal(await server.instance.store.signingKeys.setState(keyA, ['retiring'], 'retired', new Date()), true);
      await server.instance.signingKeys.refresh();
      assert.deepEqual(await metadataThumbprints(), [keyC]);
      await eventually(tokenA.xml, false);
      const r = await runStsAsync(['keys', 'revoke', keyA.slice(0, 12), '--home', server.home]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`revoked ${keyA} \\(was retired\\)`));
      const list = await runStsAsync(['keys', 'list', '--home', server.home]);
      assert.match(list.stdout, new RegExp(`${keyA}  revoked\\n`));
      assert.match(list.stdout, new RegExp(`${keyC}  active\\n`));
    });
  });

  describe('rotation under load', () => {
    it('four clients issue continuously while the CLI promotes a new key: every request succeeds, every token validates', async () => {
      const before = server.instance.signingKey.thumbprintSha256;
      const rotate = await runStsAsync(['keys', 'rotate', '--home', server.home]);
      assert.equal(rotate.status, 0, rotate.stderr);
      const next = pendingThumbprint(rotate.stdout);
      const tokens: Array<{ xml: string; id: string }> = [];
      let stop = false;
      const clients = Array.from({ length: 4 }, async () => {
        while (!stop) tokens.push(await issue());
      });
      await new Promise((w) => setTimeout(w, 1000));
      const promote = await runStsAsync(['keys', 'promote', next, '--home', server.home]);
      assert.equal(promote.status, 0, promote.stderr);
      // Until every worker has seen it (the ring re-reads every 5 s), and a little longer.
      const deadline = Date.now() + 10_000;
      while (server.instance.signingKey.thumbprintSha256 !== next && Date.now() < deadline) await new Promise((w) => setTimeout(w, 100));
      await new Promise((w) => setTimeout(w, 1000));
      stop = true;
      await Promise.all(clients);
      const signers = new Set(tokens.map((t) => signerThumbprintOf(t.xml)));
      assert.deepEqual([...signers].sort(), [before, next].sort(), 'tokens from both keys');
      for (const t of tokens) {
        const v = await validate(t.xml);
        assert.equal(v.valid, true, `${t.id}: ${v.reason}`);
      }
      assert.ok(tokens.length > 20, `${tokens.length} tokens`);
    });
  });
});
