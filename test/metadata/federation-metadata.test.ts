import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { loadSigningKey, SigningKey } from '../../src/keys/signing-key';
import { renderFederationMetadata } from '../../src/metadata/federation-metadata';
import { ALG, NS, TOKEN_TYPE } from '../../src/xml/namespaces';
import { children, parseStrict } from '../support/soap-reply';

const ENTITY_ID = 'http://sts.example.com/adfs/services/trust';
const BASE_URL = 'https://sts.example.com';
const UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';

interface TestKey {
  readonly key: SigningKey;
  readonly certificatePath: string;
}

/** A throwaway RSA-2048 key and self-signed certificate, written to `dir` as PEM. */
function makeKey(dir: string, commonName: string): TestKey {
  const pair = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = pair.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(pair.privateKey, forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(cert);
  const certificatePath = join(dir, `${commonName}.pem`);
  writeFileSync(certificatePath, certificatePem);
  return { key: loadSigningKey(forge.pki.privateKeyToPem(pair.privateKey), certificatePem), certificatePath };
}

/** Runs xmlsec1 as the brief prescribes; true when it reports a valid signature. */
function xmlsecVerifies(dir: string, xml: string, certificatePath: string): boolean {
  const file = join(dir, `metadata-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync(
      '/usr/bin/xmlsec1',
      ['--verify', '--pubkey-cert-pem', certificatePath, '--id-attr:ID', `${NS.md}:EntityDescriptor`, file],
      { stdio: 'pipe', timeout: 10_000 },
    );
    return true;
  } catch {
    return false;
  }
}

function firstElementChild(parent: Node): Element | undefined {
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1) {
      return n as Element;
    }
  }
  return undefined;
}

function signingCertificates(role: Element): string[] {
  return children(role, NS.md, 'KeyDescriptor')
    .filter((kd) => kd.getAttribute('use') === 'signing')
    .flatMap((kd) => children(kd, NS.ds, 'KeyInfo'))
    .flatMap((ki) => children(ki, NS.ds, 'X509Data'))
    .flatMap((xd) => children(xd, NS.ds, 'X509Certificate'))
    .map((c) => (c.textContent ?? '').replace(/\s+/g, ''));
}

function endpointAddress(role: Element, endpoint: string): string {
  const address = children(role, NS.fed, endpoint)
    .flatMap((e) => children(e, NS.wsa10, 'EndpointReference'))
    .flatMap((epr) => children(epr, NS.wsa10, 'Address'));
  assert.equal(address.length, 1, `fed:${endpoint} has one wsa:Address`);
  return address[0]?.textContent ?? '';
}

function roles(doc: Document): { sts: Element; idp: Element } {
  const root = doc.documentElement;
  const sts = children(root, NS.md, 'RoleDescriptor').filter(
    (r) => r.getAttributeNS(NS.xsi, 'type') === 'fed:SecurityTokenServiceType',
  );
  const idp = children(root, NS.md, 'IDPSSODescriptor');
  assert.equal(sts.length, 1, 'one fed:SecurityTokenServiceType RoleDescriptor');
  assert.equal(idp.length, 1, 'one IDPSSODescriptor');
  return { sts: sts[0] as Element, idp: idp[0] as Element };
}

describe('metadata/federation-metadata', function () {
  this.timeout(30_000);
  let dir: string;
  let active: TestKey;
  let pending: TestKey;
  let stranger: TestKey;
  let xml: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-fedmeta-'));
    active = makeKey(dir, 'active');
    pending = makeKey(dir, 'pending');
    stranger = makeKey(dir, 'stranger');
    xml = renderFederationMetadata({
      entityId: ENTITY_ID,
      baseUrl: BASE_URL,
      certificates: [active.key, pending.key],
      signWith: active.key,
      claimsOffered: [UPN, NAME],
    });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('signature', () => {
    it('verifies with xmlsec1 against the signing certificate', () => {
      assert.equal(xmlsecVerifies(dir, xml, active.certificatePath), true);
    });

    it('fails xmlsec1 when one character of the entityID is changed', () => {
      const tampered = xml.replace(`entityID="${ENTITY_ID}"`, `entityID="${ENTITY_ID.replace('sts.', 'sts,')}"`);
      assert.notEqual(tampered, xml);
      assert.equal(xmlsecVerifies(dir, tampered, active.certificatePath), false);
    });

    it('fails xmlsec1 against another certificate', () => {
      assert.equal(xmlsecVerifies(dir, xml, stranger.certificatePath), false);
    });

    // KeyInfo is outside SignedInfo, so removing it leaves the signature intact; xmlsec1 must then use
    // the key we hand it, which shows the failure above is the RSA check and not only an untrusted KeyInfo.
    it('without KeyInfo, verifies with the signing certificate and fails with another', () => {
      const bare = xml.replace(/<ds:KeyInfo>.*?<\/ds:KeyInfo>/, '');
      assert.notEqual(bare, xml);
      assert.equal(xmlsecVerifies(dir, bare, active.certificatePath), true);
      assert.equal(xmlsecVerifies(dir, bare, stranger.certificatePath), false);
    });

    it('is an enveloped RSA-SHA256 exclusive-c14n signature, first child of EntityDescriptor, referencing its ID', () => {
      const root = parseStrict(xml).documentElement;
      const signature = firstElementChild(root) as Element;
      assert.equal(signature.namespaceURI, NS.ds);
      assert.equal(signature.localName, 'Signature');
      const signedInfo = children(signature, NS.ds, 'SignedInfo')[0] as Element;
      assert.equal(children(signedInfo, NS.ds, 'CanonicalizationMethod')[0]?.getAttribute('Algorithm'), ALG.excC14n);
      assert.equal(children(signedInfo, NS.ds, 'SignatureMethod')[0]?.getAttribute('Algorithm'), ALG.rsaSha256);
      const references = children(signedInfo, NS.ds, 'Reference');
      assert.equal(references.length, 1);
      const reference = references[0] as Element;
      assert.match(root.getAttribute('ID') ?? '', /^_[0-9a-f-]{36}$/);
      assert.equal(reference.getAttribute('URI'), `#${root.getAttribute('ID')}`);
      const transforms = children(reference, NS.ds, 'Transforms').flatMap((t) => children(t, NS.ds, 'Transform'));
      assert.deepEqual(
        transforms.map((t) => t.getAttribute('Algorithm')),
        [ALG.envelopedSignature, ALG.excC14n],
      );
      assert.equal(children(reference, NS.ds, 'DigestMethod')[0]?.getAttribute('Algorithm'), ALG.sha256);
      const keyInfoCerts = children(signature, NS.ds, 'KeyInfo')
        .flatMap((k) => children(k, NS.ds, 'X509Data'))
        .flatMap((d) => children(d, NS.ds, 'X509Certificate'))
        .map((c) => (c.textContent ?? '').replace(/\s+/g, ''));
      assert.deepEqual(keyInfoCerts, [active.key.certificateBase64]);
    });

    it('signs with signWith even when it is not the first published certificate', () => {
      const signedByPending = renderFederationMetadata({
        entityId: ENTITY_ID,
        baseUrl: BASE_URL,
        certificates: [active.key, pending.key],
        signWith: pending.key,
      });
      assert.equal(xmlsecVerifies(dir, signedByPending, pending.certificatePath), true);
    });
  });

  describe('content', () => {
    it('names the entity and has a fresh ID for every rendering', () => {
      const root = parseStrict(xml).documentElement;
      assert.equal(root.namespaceURI, NS.md);
      assert.equal(root.localName, 'EntityDescriptor');
      assert.equal(root.getAttribute('entityID'), ENTITY_ID);
      const again = renderFederationMetadata({
        entityId: ENTITY_ID,
        baseUrl: BASE_URL,
        certificates: [active.key],
        signWith: active.key,
      });
      assert.notEqual(parseStrict(again).documentElement.getAttribute('ID'), root.getAttribute('ID'));
    });

    it('publishes every certificate as a signing KeyDescriptor in both roles', () => {
      const { sts, idp } = roles(parseStrict(xml));
      const expected = [active.key.certificateBase64, pending.key.certificateBase64];
      assert.deepEqual(signingCertificates(sts), expected);
      assert.deepEqual(signingCertificates(idp), expected);
    });

    it('describes the WS-Federation security token service', () => {
      const { sts } = roles(parseStrict(xml));
      assert.equal(sts.getAttribute('protocolSupportEnumeration'), NS.fed);
      const tokenTypes = children(sts, NS.fed, 'TokenTypesOffered')
        .flatMap((t) => children(t, NS.fed, 'TokenType'))
        .map((t) => t.getAttribute('Uri'));
      assert.deepEqual(tokenTypes, [TOKEN_TYPE.saml20, TOKEN_TYPE.saml11]);
      const claims = children(sts, NS.fed, 'ClaimTypesOffered')
        .flatMap((c) => children(c, 'http://docs.oasis-open.org/wsfed/authorization/200706', 'ClaimType'))
        .map((c) => c.getAttribute('Uri'));
      assert.deepEqual(claims, [UPN, NAME]);
      assert.equal(endpointAddress(sts, 'SecurityTokenServiceEndpoint'), `${BASE_URL}/adfs/services/trust/13/usernamemixed`);
      assert.equal(endpointAddress(sts, 'PassiveRequestorEndpoint'), `${BASE_URL}/adfs/ls/`);
    });

    it('describes the SAML 2.0 identity provider', () => {
      const { idp } = roles(parseStrict(xml));
      assert.equal(idp.getAttribute('protocolSupportEnumeration'), NS.samlp2);
      assert.ok(children(idp, NS.md, 'NameIDFormat').length > 0);
      const sso = children(idp, NS.md, 'SingleSignOnService').map((s) => [
        s.getAttribute('Binding'),
        s.getAttribute('Location'),
      ]);
      assert.deepEqual(sso, [
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', `${BASE_URL}/adfs/ls/`],
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${BASE_URL}/adfs/ls/`],
      ]);
    });

    it('leaves out ClaimTypesOffered when no claims are offered', () => {
      const bare = renderFederationMetadata({
        entityId: ENTITY_ID,
        baseUrl: `${BASE_URL}/`,
        certificates: [active.key],
        signWith: active.key,
      });
      const { sts } = roles(parseStrict(bare));
      assert.equal(children(sts, NS.fed, 'ClaimTypesOffered').length, 0);
      assert.equal(endpointAddress(sts, 'PassiveRequestorEndpoint'), `${BASE_URL}/adfs/ls/`);
    });

    it('escapes the entityID and keeps the signature valid', () => {
      const odd = 'urn:example:a&b<c>"d"\tend';
      const signed = renderFederationMetadata({
        entityId: odd,
        baseUrl: BASE_URL,
        certificates: [active.key],
        signWith: active.key,
      });
      assert.equal(parseStrict(signed).documentElement.getAttribute('entityID'), odd);
      assert.equal(xmlsecVerifies(dir, signed, active.certificatePath), true);
    });

    it('refuses to publish no certificate at all', () => {
      assert.throws(() =>
        renderFederationMetadata({ entityId: ENTITY_ID, baseUrl: BASE_URL, certificates: [], signWith: active.key }),
      );
    });
  });
});
