import { strict as assert } from 'node:assert';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { SignedXml } from 'xml-crypto';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import { ALG, NS, SAML2 } from '../../src/xml/namespaces';
import { children, expectFault, only, openssl, parseStrict, rstrOf, STACK_TRACE, text, type Combo, type Sent } from '../support/ext-trust';
import { httpsRequest } from '../support/https-client';
import { postToSts } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText } from '../support/trust-messages';
import { replaceOnce } from '../support/xml-edit';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// certificatemixed (WS-Trust 1.3, SOAP 1.2): the caller signs the Timestamp and the Body with the key
// of an X.509 BinarySecurityToken. The signatures here are made by xml-crypto (third-party code), the
// certificates by openssl; the STS must accept CA-issued and pinned certificates and nothing else.

const PATH = '/adfs/services/trust/13/certificatemixed';
const RP = 'https://rp.certmixed.example/';
const X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const CLAIM = {
  thumbprint: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/thumbprint',
  subjectDn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/x500distinguishedname',
};
const COMBO: Combo = { version: '1.3', soap: '1.2' };

interface KeyAndCert {
  readonly keyPem: string;
  readonly certPem: string;
}

interface SignOptions {
  /** Omit the wsu:Timestamp altogether. */
  readonly noTimestamp?: boolean;
  readonly created?: Date;
  readonly expires?: Date;
  /** What the signature covers. */
  readonly references?: 'timestamp-and-body' | 'timestamp-only' | 'body-only' | 'timestamp-body-and-bst';
  readonly signatureAlgorithm?: string;
  /** The URI in KeyInfo/SecurityTokenReference/Reference (default: the BST's). */
  readonly keyInfoUri?: string;
  /** No signature at all. */
  readonly unsigned?: boolean;
  readonly rstBody?: string;
}

/** A certificatemixed Issue request signed by xml-crypto's SignedXml with the given key and certificate. */
function signedRequest(who: KeyAndCert, o: SignOptions = {}): { xml: string; messageId: string } {
  const messageId = `urn:uuid:${randomUUID()}`;
  const created = o.created ?? new Date();
  const expires = o.expires ?? new Date(created.getTime() + 300_000);
  const der = new X509Certificate(who.certPem).raw.toString('base64');
  const timestamp = o.noTimestamp
    ? ''
    : `<u:Timestamp u:Id="_ts"><u:Created>${created.toISOString()}</u:Created><u:Expires>${expires.toISOString()}</u:Expires></u:Timestamp>`;
  const xml =
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}" xmlns:u="${NS.wsu}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${NS.wst13}/RST/Issue</a:Action><a:MessageID>${messageId}</a:MessageID>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}">${timestamp}` +
    `<o:BinarySecurityToken u:Id="bst" ValueType="${X509V3}" EncodingType="${BASE64_BINARY}">${der}</o:BinarySecurityToken>` +
    `</o:Security></s:Header>` +
    `<s:Body u:Id="_body"><t:RequestSecurityToken xmlns:t="${NS.wst13}"><t:RequestType>${NS.wst13}/Issue</t:RequestType>` +
    (o.rstBody ?? `${appliesTo(RP)}<t:KeyType>${NS.wst13}/Bearer</t:KeyType>`) +
    `</t:RequestSecurityToken></s:Body></s:Envelope>`;
  if (o.unsigned) return { xml, messageId };

  const sig = new SignedXml({
    privateKey: who.keyPem,
    signatureAlgorithm: o.signatureAlgorithm ?? ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
    idMode: 'wssecurity',
    getKeyInfoContent: () =>
      `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:Reference URI="${o.keyInfoUri ?? '#bst'}" ValueType="${X509V3}"/></o:SecurityTokenReference>`,
  });
  const ref = (localName: string): void =>
    sig.addReference({ xpath: `//*[local-name(.)='${localName}']`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
  const covers = o.references ?? 'timestamp-and-body';
  if (covers !== 'body-only') ref('Timestamp');
  if (covers !== 'timestamp-only') ref('Body');
  if (covers === 'timestamp-body-and-bst') ref('BinarySecurityToken');
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: "//*[local-name(.)='BinarySecurityToken']", action: 'after' } });
  return { xml: sig.getSignedXml(), messageId };
}

/** A certificate signed by the CA key with validity entirely in the past (node-forge; openssl 3.0 cannot backdate). */
function expiredCertificateFromCa(ca: KeyAndCert, commonName: string): KeyAndCert {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0a1b2c3d';
  cert.validity.notBefore = new Date(Date.now() - 3 * 86_400_000);
  cert.validity.notAfter = new Date(Date.now() - 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true }]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { keyPem: forge.pki.privateKeyToPem(keys.privateKey), certPem: forge.pki.certificateToPem(cert) };
}

describe('wstrust certificatemixed (X.509 message signature, WS-Trust 1.3 over SOAP 1.2)', function () {
  this.timeout(90_000);
  let dir: string;
  let sts: TestSts;
  let ca: KeyAndCert;
  let client: KeyAndCert;
  let pinned: KeyAndCert;
  let stranger: KeyAndCert;
  let strangerFromOtherCa: KeyAndCert;
  let expired: KeyAndCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-ext-certmixed-'));
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    // The CA: basicConstraints CA:TRUE, made by openssl.
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Trustbridge Test Client CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    const issueLeaf = (name: string, subject: string, caName: string): KeyAndCert => {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-set_serial', `0x${randomUUID().replace(/-/g, '').slice(0, 16)}`,
        '-days', '1', '-sha256', '-extfile', 'leaf.ext', '-out', `${name}.crt`], dir);
      return { keyPem: read(`${name}.key`), certPem: read(`${name}.crt`) };
    };
    const selfSigned = (name: string, subject: string): KeyAndCert => {
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', subject], dir);
      return { keyPem: read(`${name}.key`), certPem: read(`${name}.crt`) };
    };
    ca = { keyPem: read('ca.key'), certPem: read('ca.crt') };
    assert.equal(new X509Certificate(ca.certPem).ca, true, 'the test CA is a CA');
    client = issueLeaf('client', '/O=Example Org/CN=client.certmixed.example', 'ca');
    pinned = selfSigned('pinned', '/CN=pinned.certmixed.example');
    stranger = selfSigned('stranger', '/CN=stranger.certmixed.example');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'otherca.key', '-out', 'otherca.crt', '-days', '2', '-subj', '/CN=Some Other CA',
      '-addext', 'basicConstraints=critical,CA:TRUE'], dir);
    strangerFromOtherCa = issueLeaf('other-client', '/CN=other-ca-client.certmixed.example', 'otherca');
    expired = expiredCertificateFromCa(ca, 'expired.certmixed.example');
    assert.ok(new X509Certificate(expired.certPem).checkIssued(new X509Certificate(ca.certPem)));

    const pinnedThumbprint = certificateThumbprintSha256(new X509Certificate(pinned.certPem).raw);
    sts = await startTestSts({ config: { clientCertificates: { caFiles: [join(dir, 'ca.crt')], pinnedThumbprints: [pinnedThumbprint] } } });
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: ['*'] });
  });
  after(async () => {
    await sts?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(request: { xml: string; messageId: string }): Promise<Sent> {
    const res = await postToSts(`${sts.baseUrl}${PATH}`, {
      ca: sts.tlsCertificatePem,
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' },
      body: request.xml,
    });
    assert.doesNotMatch(res.body, STACK_TRACE);
    return { res, messageId: request.messageId };
  }

  function issuedToken(sent: Sent): { xml: string; assertion: Element; attributes: Record<string, string[]> } {
    rstrOf(sent, COMBO);
    const xml = assertionText(sent.res.body);
    const verified = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(verified.ok, verified.output);
    const assertion = parseStrict(xml).documentElement;
    const attributes: Record<string, string[]> = {};
    for (const st of children(assertion, NS.saml2, 'AttributeStatement')) {
      for (const a of children(st, NS.saml2, 'Attribute')) attributes[a.getAttribute('Name') ?? ''] = children(a, NS.saml2, 'AttributeValue').map(text);
    }
    return { xml, assertion, attributes };
  }

  const nameIdOf = (assertion: Element): string => text(only(only(assertion, NS.saml2, 'Subject'), NS.saml2, 'NameID'));

  it('a certificate issued by the configured CA: a token for its CN with thumbprint and x500distinguishedname claims', async () => {
    const before = await sts.instance.store.ledger.count();
    const token = issuedToken(await post(signedRequest(client)));
    assert.equal(nameIdOf(token.assertion), 'client.certmixed.example');
    const cert = new X509Certificate(client.certPem);
    assert.deepEqual(token.attributes[CLAIM.thumbprint], [createHash('sha1').update(cert.raw).digest('hex').toUpperCase()]);
    assert.deepEqual(token.attributes[CLAIM.subjectDn], ['CN=client.certmixed.example, O=Example Org']);
    const classRef = text(only(only(only(token.assertion, NS.saml2, 'AuthnStatement'), NS.saml2, 'AuthnContext'), NS.saml2, 'AuthnContextClassRef'));
    assert.equal(classRef, 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509');
    assert.equal(only(only(token.assertion, NS.saml2, 'Subject'), NS.saml2, 'SubjectConfirmation').getAttribute('Method'), SAML2.bearer);
    const entry = await sts.instance.store.ledger.get(token.assertion.getAttribute('ID') ?? '');
    assert.equal(entry?.subject, 'client.certmixed.example');
    assert.equal(await sts.instance.store.ledger.count(), before + 1);
  });

  it('a self-signed certificate pinned by SHA-256 thumbprint is accepted', async () => {
    const token = issuedToken(await post(signedRequest(pinned)));
    assert.equal(nameIdOf(token.assertion), 'pinned.certmixed.example');
    assert.deepEqual(token.attributes[CLAIM.thumbprint], [createHash('sha1').update(new X509Certificate(pinned.certPem).raw).digest('hex').toUpperCase()]);
  });

  describe('refusals', () => {
    let before: number;
    beforeEach(async () => {
      before = await sts.instance.store.ledger.count();
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'passed') assert.equal(await sts.instance.store.ledger.count(), before, 'a refusal issues nothing');
    });

    it('a self-signed certificate neither pinned nor CA-issued: wsse:FailedAuthentication', async () => {
      expectFault(await post(signedRequest(stranger)), COMBO, 'wsse', 'FailedAuthentication');
    });

    it('a certificate issued by a CA that is not configured: wsse:FailedAuthentication', async () => {
      expectFault(await post(signedRequest(strangerFromOtherCa)), COMBO, 'wsse', 'FailedAuthentication');
    });

    it('an expired certificate from the configured CA: wsse:FailedAuthentication', async () => {
      expectFault(await post(signedRequest(expired)), COMBO, 'wsse', 'FailedAuthentication');
    });

    it('the Body altered after signing: wsse:InvalidSecurity', async () => {
      const request = signedRequest(client);
      const tampered = { ...request, xml: replaceOnce(request.xml, `<wsa:Address>${RP}</wsa:Address>`, '<wsa:Address>https://evil.certmixed.example/</wsa:Address>') };
      expectFault(await post(tampered), COMBO, 'wsse', 'InvalidSecurity', /Body was altered/);
    });

    it('the Timestamp altered after signing: wsse:InvalidSecurity', async () => {
      const request = signedRequest(client);
      const later = new Date(Date.now() + 240_000).toISOString();
      const tampered = { ...request, xml: replaceOnce(request.xml, /<u:Expires>[^<]+<\/u:Expires>/, `<u:Expires>${later}</u:Expires>`) };
      expectFault(await post(tampered), COMBO, 'wsse', 'InvalidSecurity', /Timestamp was altered/);
    });

    it('a signature covering only the Timestamp: wsse:InvalidSecurity', async () => {
      expectFault(await post(signedRequest(client, { references: 'timestamp-only' })), COMBO, 'wsse', 'InvalidSecurity', /exactly the Timestamp and the Body/);
    });

    it('a signature covering only the Body: wsse:InvalidSecurity', async () => {
      expectFault(await post(signedRequest(client, { references: 'body-only' })), COMBO, 'wsse', 'InvalidSecurity');
    });

    it('an extra third Reference (the BinarySecurityToken): wsse:InvalidSecurity', async () => {
      const request = signedRequest(client, { references: 'timestamp-body-and-bst' });
      assert.equal((request.xml.match(/<ds:Reference /g) ?? []).length, 3);
      expectFault(await post(request), COMBO, 'wsse', 'InvalidSecurity', /exactly the Timestamp and the Body/);
    });

    it('RSA-SHA1 signature: wsse:InvalidSecurity', async () => {
      const request = signedRequest(client, { signatureAlgorithm: ALG.rsaSha1 });
      assert.match(request.xml, /xmldsig#rsa-sha1/);
      expectFault(await post(request), COMBO, 'wsse', 'InvalidSecurity', /RSA-SHA256/);
    });

    it('a duplicated wsu:Id (a second element carrying the Body\'s ID, signature wrapping): wsse:InvalidSecurity', async () => {
      const request = signedRequest(client);
      const wrapper = `<w:Wrapper xmlns:w="urn:example:wrapping" u:Id="_body"><t:RequestSecurityToken xmlns:t="${NS.wst13}"/></w:Wrapper>`;
      const wrapped = { ...request, xml: replaceOnce(request.xml, '</s:Header>', `${wrapper}</s:Header>`) };
      expectFault(await post(wrapped), COMBO, 'wsse', 'InvalidSecurity', /not unique/);
    });

    it('the signed Body moved into a wrapper and replaced by another Body with the same ID: wsse:InvalidSecurity', async () => {
      const request = signedRequest(client);
      const body = /<s:Body u:Id="_body">[\s\S]*<\/s:Body>/.exec(request.xml)?.[0] ?? '';
      assert.ok(body);
      const evilBody = body.replace(RP, 'https://evil.certmixed.example/');
      const moved = request.xml
        .replace(body, evilBody)
        .replace('</s:Header>', `<w:Wrapper xmlns:w="urn:example:wrapping">${body.replace(/^<s:Body/, '<w:Held').replace(/<\/s:Body>$/, '</w:Held>')}</w:Wrapper></s:Header>`);
      expectFault(await post({ ...request, xml: moved }), COMBO, 'wsse', 'InvalidSecurity');
    });

    it('KeyInfo pointing at a BinarySecurityToken that is not there: wsse:InvalidSecurity', async () => {
      expectFault(await post(signedRequest(client, { keyInfoUri: '#no-such-token' })), COMBO, 'wsse', 'InvalidSecurity', /BinarySecurityToken is missing/);
    });

    it('no signature at all: wsse:InvalidSecurity', async () => {
      expectFault(await post(signedRequest(client, { unsigned: true })), COMBO, 'wsse', 'InvalidSecurity', /exactly one ds:Signature/);
    });

    it('no Timestamp (the signature covers the Body only): wsse:InvalidSecurity', async () => {
      const request = signedRequest(client, { noTimestamp: true, references: 'body-only' });
      assert.doesNotMatch(request.xml, /Timestamp/);
      expectFault(await post(request), COMBO, 'wsse', 'InvalidSecurity', /Timestamp/);
    });

    it('an expired (signed) Timestamp: wsse:MessageExpired', async () => {
      const created = new Date(Date.now() - 20 * 60_000);
      const request = signedRequest(client, { created, expires: new Date(created.getTime() + 5 * 60_000) });
      expectFault(await post(request), COMBO, 'wsse', 'MessageExpired');
    });

    it('a signature by a key other than the BinarySecurityToken\'s: wsse:InvalidSecurity', async () => {
      // Signed with the stranger's key while presenting the CA-issued client certificate.
      const request = signedRequest({ keyPem: stranger.keyPem, certPem: client.certPem });
      expectFault(await post(request), COMBO, 'wsse', 'InvalidSecurity', /signature is not valid/);
    });
  });

  it('the mex lists the certificatemixed port, whose binding\'s policy holds sp:X509Token', async () => {
    const res = await httpsRequest(`${sts.baseUrl}/adfs/services/trust/mex`, { ca: sts.tlsCertificatePem });
    assert.equal(res.status, 200);
    const wsdl = 'http://schemas.xmlsoap.org/wsdl/';
    const soap12 = 'http://schemas.xmlsoap.org/wsdl/soap12/';
    const sp = 'http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702';
    const defs = parseStrict(res.body).documentElement;
    const service = only(defs, wsdl, 'service');
    const port = children(service, wsdl, 'port').find((p) => only(p, soap12, 'address').getAttribute('location') === `${sts.baseUrl}${PATH}`);
    assert.ok(port, 'a port at the certificatemixed address');
    assert.equal(text(only(only(port, NS.wsa10, 'EndpointReference'), NS.wsa10, 'Address')), `${sts.baseUrl}${PATH}`);
    const bindingName = (port.getAttribute('binding') ?? '').replace(/^\w+:/, '');
    const binding = children(defs, wsdl, 'binding').find((b) => b.getAttribute('name') === bindingName);
    assert.ok(binding, `binding ${bindingName}`);
    const policyUri = only(binding, NS.wsp, 'PolicyReference').getAttribute('URI') ?? '';
    const policy = children(defs, NS.wsp, 'Policy').find((p) => `#${p.getAttributeNS(NS.wsu, 'Id')}` === policyUri);
    assert.ok(policy, `policy ${policyUri}`);
    assert.equal(policy.getElementsByTagNameNS(sp, 'X509Token').length, 1, 'the policy holds sp:X509Token');
    assert.equal(policy.getElementsByTagNameNS(sp, 'UsernameToken').length, 0, 'and no UsernameToken');
  });
});
