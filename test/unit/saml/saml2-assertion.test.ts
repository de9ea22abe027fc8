import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../../src/keys/signing-key';
import type { AssertionContent } from '../../../src/saml/assertion-content';
import { buildSaml2Assertion } from '../../../src/saml/saml2-assertion';
import { signCanonicalElement, type SignedElement } from '../../../src/xml/enveloped-signature';
import { escapeAttribute } from '../../../src/xml/escape';
import { ALG, NS, SAML2 } from '../../../src/xml/namespaces';
import { parseXmlSafely } from '../../../src/xml/safe-parse';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../../support/xmlsec1';

const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
// Every character canonical XML treats specially, plus non-ASCII in three planes.
const NASTY = `A&B <c> "d" 'e'\tf\ng\rh é€中 𝄞`;

function content(overrides: Partial<AssertionContent> = {}): AssertionContent {
  const now = new Date('2030-01-01T00:00:00.000Z');
  const later = new Date(now.getTime() + 3600_000);
  return {
    id: '_4f0b2b5e-0c1d-4e2f-8a9b-0123456789ab',
    issueInstant: now,
    issuer: `http://sts.example/${NASTY}`,
    nameId: `user${NASTY}@example.com`,
    nameIdFormat: SAML2.nameIdUnspecified,
    confirmationNotOnOrAfter: later,
    recipient: `https://rp.example/acs?a=1&b="2"<x>\t${NASTY}`,
    notBefore: now,
    notOnOrAfter: later,
    audience: `https://rp.example/${NASTY}`,
    authnInstant: now,
    authnContextClassRef: SAML2.passwordProtectedTransport,
    attributes: [
      { name: `http://claims/${NASTY}`, values: [NASTY, 'plain', ''] },
      { name: 'role', values: ['a<b', 'c&d', 'e>f'] },
    ],
    ...overrides,
  };
}

function childNamed(parent: Element, localName: string, ns: string = NS.saml2): Element {
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === localName && (n as Element).namespaceURI === ns) {
      return n as Element;
    }
  }
  throw new Error(`no ${localName} under ${parent.localName}`);
}

function xmlCryptoVerifies(xml: string, certificatePem: string): { ok: boolean; error?: string; references: string[] } {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const signature = doc.getElementsByTagNameNS(NS.ds, 'Signature')[0];
  if (!signature) return { ok: false, error: 'no Signature', references: [] };
  const sig = new SignedXml({ idAttribute: 'ID', publicCert: certificatePem });
  // xml-crypto 6.3 prepends idAttribute to its defaults ["Id", "ID", "id"], so "ID" is listed twice
  // and its wrapping check counts our one Assertion twice ("multiple elements with the same ID").
  sig.idAttributes = [...new Set(sig.idAttributes)];
  // Only the certificate we hand it: never the one in KeyInfo.
  sig.getCertFromKeyInfo = () => null;
  try {
    sig.loadSignature(signature);
    const ok = sig.checkSignature(xml);
    return { ok, references: ok ? sig.getSignedReferences() : [] };
  } catch (err) {
    return { ok: false, error: (err as Error).message, references: [] };
  }
}

describe('saml/saml2-assertion + xml/enveloped-signature', function () {
  this.timeout(30_000);
  let key: SigningKey;
  let stranger: SigningKey;
  let signed: SignedElement;
  let values: AssertionContent;

  before(() => {
    const generated = generateSelfSignedCertificate({ commonName: 'Unit Test Token Signing', validDays: 2 });
    key = loadSigningKey(generated.privateKeyPem, generated.certificatePem);
    const other = generateSelfSignedCertificate({ commonName: 'Someone Else', validDays: 2 });
    stranger = loadSigningKey(other.privateKeyPem, other.certificatePem);
    values = content();
    signed = signCanonicalElement(buildSaml2Assertion(values), key);
  });

  it('parses (hardened parser) and every special value reads back exactly', () => {
    const doc = parseXmlSafely(signed.xml, LIMITS);
    const assertion = doc.documentElement;
    assert.equal(assertion.localName, 'Assertion');
    assert.equal(assertion.namespaceURI, NS.saml2);
    assert.equal(assertion.getAttribute('ID'), values.id);
    assert.equal(childNamed(assertion, 'Issuer').textContent, values.issuer);
    const subject = childNamed(assertion, 'Subject');
    assert.equal(childNamed(subject, 'NameID').textContent, values.nameId);
    const confirmationData = childNamed(childNamed(subject, 'SubjectConfirmation'), 'SubjectConfirmationData');
    assert.equal(confirmationData.getAttribute('Recipient'), values.recipient);
    const audience = childNamed(childNamed(childNamed(assertion, 'Conditions'), 'AudienceRestriction'), 'Audience');
    assert.equal(audience.textContent, values.audience);
    const attributes = childNamed(assertion, 'AttributeStatement').getElementsByTagNameNS(NS.saml2, 'Attribute');
    assert.equal(attributes.length, 2);
    assert.equal(attributes[0]?.getAttribute('Name'), values.attributes[0]?.name);
    const firstValues = Array.from(attributes[0]?.getElementsByTagNameNS(NS.saml2, 'AttributeValue') ?? []).map((e) => e.textContent);
    assert.deepEqual(firstValues, [NASTY, 'plain', '']);
    const secondValues = Array.from(attributes[1]?.getElementsByTagNameNS(NS.saml2, 'AttributeValue') ?? []).map((e) => e.textContent);
    assert.deepEqual(secondValues, ['a<b', 'c&d', 'e>f']);
  });

  it('places the Signature right after Issuer, with the RSA-SHA256 / exc-c14n / enveloped profile', () => {
    const doc = parseXmlSafely(signed.xml, LIMITS);
    const children: Element[] = [];
    for (let n = doc.documentElement.firstChild; n !== null; n = n.nextSibling) if (n.nodeType === 1) children.push(n as Element);
    assert.deepEqual(
      children.map((c) => c.localName),
      ['Issuer', 'Signature', 'Subject', 'Conditions', 'AttributeStatement', 'AuthnStatement'],
    );
    const signature = children[1] as Element;
    assert.equal(signature.namespaceURI, NS.ds);
    const algorithms = Array.from(signature.getElementsByTagNameNS(NS.ds, '*'))
      .map((e) => e.getAttribute('Algorithm'))
      .filter((a): a is string => !!a);
    assert.deepEqual(algorithms, [ALG.excC14n, ALG.rsaSha256, ALG.envelopedSignature, ALG.excC14n, ALG.sha256]);
    const references = signature.getElementsByTagNameNS(NS.ds, 'Reference');
    assert.equal(references.length, 1);
    assert.equal(references[0]?.getAttribute('URI'), `#${values.id}`);
  });

  it('verifies with xmlsec1 against the signing certificate', () => {
    const result = verifyWithXmlsec1(signed.xml, key.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(result.ok, result.output);
  });

  it('verifies with xml-crypto SignedXml (idAttribute ID, the certificate as publicCert)', () => {
    const result = xmlCryptoVerifies(signed.xml, key.certificatePem);
    assert.ok(result.ok, result.error);
    assert.equal(result.references.length, 1);
  });

  it('fails both verifiers against another certificate', () => {
    assert.equal(verifyWithXmlsec1(signed.xml, stranger.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, false);
    assert.equal(xmlCryptoVerifies(signed.xml, stranger.certificatePem).ok, false);
  });

  it('the returned digest is the DigestValue in the XML and the SHA-256 of the canonical assertion', () => {
    const doc = parseXmlSafely(signed.xml, LIMITS);
    const digestValue = doc.getElementsByTagNameNS(NS.ds, 'DigestValue')[0]?.textContent;
    assert.equal(signed.digest, digestValue);
    const withoutSignature = signed.xml.replace(/<ds:Signature [\s\S]*<\/ds:Signature>/, '');
    assert.equal(createHash('sha256').update(withoutSignature).digest('base64'), signed.digest);
  });

  it("xml-crypto's ExclusiveCanonicalization of the parsed assertion (Signature removed) is exactly the digested text", () => {
    const unsigned = buildSaml2Assertion(values);
    const digested = unsigned.beforeSignature + unsigned.afterSignature;
    const doc = new DOMParser().parseFromString(signed.xml, 'application/xml');
    const assertion = doc.documentElement as unknown as Element;
    const signature = assertion.getElementsByTagNameNS(NS.ds, 'Signature')[0];
    assert.ok(signature);
    assertion.removeChild(signature);
    const canonical = new ExclusiveCanonicalization().process(assertion, {});
    assert.equal(canonical, digested);
    assert.equal(createHash('sha256').update(canonical).digest('base64'), signed.digest);
  });

  describe('a tampered assertion fails both verifiers', () => {
    const tamperings: Array<[string, (xml: string) => string]> = [
      ['an attribute value', (xml) => xml.replace('<AttributeValue>plain</AttributeValue>', '<AttributeValue>plain!</AttributeValue>')],
      ['an escaped attribute value', (xml) => xml.replace('<AttributeValue>c&amp;d</AttributeValue>', '<AttributeValue>c&amp;e</AttributeValue>')],
      ['the audience', (xml) => xml.replace('<Audience>https://rp.example/', '<Audience>https://evil.example/')],
      ['the recipient', (xml) => xml.replace(`Recipient="${escapeAttribute('https://rp.example/')}`, 'Recipient="https://evil.example/')],
      ['the NameID', (xml) => xml.replace('>user', '>admin')],
      ['an added attribute value', (xml) => xml.replace('<AttributeValue>plain</AttributeValue>', '<AttributeValue>plain</AttributeValue><AttributeValue>admin</AttributeValue>')],
    ];
    for (const [what, tamper] of tamperings) {
      it(what, () => {
        const tampered = tamper(signed.xml);
        assert.notEqual(tampered, signed.xml, 'the tampering did not apply');
        assert.equal(verifyWithXmlsec1(tampered, key.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, false, 'xmlsec1 accepted it');
        assert.equal(xmlCryptoVerifies(tampered, key.certificatePem).ok, false, 'xml-crypto accepted it');
      });
    }
  });

  it('an assertion with no recipient and no attributes also verifies with both', () => {
    const minimal = signCanonicalElement(
      buildSaml2Assertion(content({ id: '_minimal', attributes: [], recipient: undefined })),
      key,
    );
    assert.ok(!minimal.xml.includes('Recipient='));
    assert.ok(!minimal.xml.includes('AttributeStatement'));
    const xmlsec = verifyWithXmlsec1(minimal.xml, key.certificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(xmlsec.ok, xmlsec.output);
    assert.ok(xmlCryptoVerifies(minimal.xml, key.certificatePem).ok);
  });

  it('two signings of the same content give the same digest (deterministic canonical form)', () => {
    const again = signCanonicalElement(buildSaml2Assertion(values), key);
    assert.equal(again.digest, signed.digest);
    assert.equal(again.xml, signed.xml); // RSA PKCS#1 v1.5 is deterministic too
  });
});
