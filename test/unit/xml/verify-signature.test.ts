import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../../src/keys/signing-key';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import { buildSaml2Assertion } from '../../../src/saml/saml2-assertion';
import { signCanonicalElement } from '../../../src/xml/enveloped-signature';
import { ALG, NS } from '../../../src/xml/namespaces';
import { parseXmlSafely } from '../../../src/xml/safe-parse';
import { sampleAssertionContent } from '../../support/assertion-content';
import {
  SignatureRejectedError,
  verifyEnvelopedSignature,
  type SignatureRejection,
  type TrustedKey,
} from '../../../src/xml/verify-signature';

// The strict profile of decision 3, refusal by refusal. Structural refusals must come before any
// cryptography, so most variants below are edits of a genuine signature that would otherwise verify.

const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
const ID = '_0b5e6f0e-6f7d-4c1a-9a43-1f2e3d4c5b6a';
const PROFILE = { idAttribute: 'ID', allowSha1: false };

/** A SigningKey and its PEM, which the third-party signers below need (our SigningKey never hands it out). */
function newKey(commonName: string): SigningKey & { readonly privateKeyPem: string } {
  const generated = generateSelfSignedCertificate({ commonName, validDays: 1 });
  return { ...loadSigningKey(generated.privateKeyPem, generated.certificatePem), privateKeyPem: generated.privateKeyPem };
}

function signedAssertion(key: SigningKey): { xml: string; digest: string } {
  return signCanonicalElement(buildSaml2Assertion(sampleAssertionContent(ID)), key);
}

function assertionIn(xml: string): Element {
  const doc = parseXmlSafely(xml, LIMITS);
  const found = doc.getElementsByTagNameNS(NS.saml2, 'Assertion').item(0);
  assert.ok(found, 'the document holds an assertion');
  return found;
}

function expectRejection(xml: string, trusted: readonly TrustedKey[], rejection: SignatureRejection, profile = PROFILE): void {
  try {
    verifyEnvelopedSignature(assertionIn(xml), trusted, profile);
  } catch (err) {
    assert.ok(err instanceof SignatureRejectedError, `expected SignatureRejectedError, got ${String(err)}`);
    assert.equal(err.rejection, rejection, err.message);
    return;
  }
  assert.fail(`expected the ${rejection} rejection, but the signature verified`);
}

const unsignedAssertion = (key: SigningKey): string =>
  signedAssertion(key).xml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');

/** Signs the assertion with xml-crypto (third-party code), with the algorithms given. */
function signWithXmlCrypto(key: ReturnType<typeof newKey>, options: { signatureAlgorithm: string; digestAlgorithm: string }): string {
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: options.signatureAlgorithm,
    canonicalizationAlgorithm: ALG.excC14n,
  });
  sig.addReference({
    xpath: "/*[local-name(.)='Assertion']",
    transforms: [ALG.envelopedSignature, ALG.excC14n],
    digestAlgorithm: options.digestAlgorithm,
  });
  sig.computeSignature(unsignedAssertion(key), {
    prefix: 'ds',
    location: { reference: "/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' },
  });
  return sig.getSignedXml();
}

/**
 * Signs the assertion with xmlsec1 (libxmlsec1, C) from a template whose exclusive-c14n transform
 * carries an InclusiveNamespaces PrefixList, as Shibboleth and other IdPs send it. (xml-crypto puts a
 * PrefixList inside the enveloped transform too, which the strict profile rightly refuses.)
 */
function signWithXmlsec1PrefixList(key: ReturnType<typeof newKey>): string {
  const ec = 'http://www.w3.org/2001/10/xml-exc-c14n#';
  const template =
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${ec}"/>` +
    `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"/><ds:Reference URI="#${ID}"><ds:Transforms>` +
    `<ds:Transform Algorithm="${ALG.envelopedSignature}"/><ds:Transform Algorithm="${ec}">` +
    `<ec:InclusiveNamespaces xmlns:ec="${ec}" PrefixList="xs"/></ds:Transform></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
    `<ds:SignatureValue/></ds:Signature>`;
  // xs is declared on an ancestor the signed element does not use: only the PrefixList brings it into the digest.
  const document =
    `<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:xs="http://www.w3.org/2001/XMLSchema">` +
    unsignedAssertion(key).replace('</Issuer>', `</Issuer>${template}`) +
    `</Response>`;
  const dir = mkdtempSync(join(tmpdir(), 'prefixlist-'));
  try {
    writeFileSync(join(dir, 'doc.xml'), document);
    writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
    return execFileSync(
      'xmlsec1',
      ['--sign', '--privkey-pem', join(dir, 'key.pem'), '--id-attr:ID', `${NS.saml2}:Assertion`, join(dir, 'doc.xml')],
      { encoding: 'utf8' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('xml/verify-signature verifyEnvelopedSignature', () => {
  const ours = newKey('Trustbridge signing');
  const other = newKey('Someone else');
  const trusted = [trustedKeyFromCertificate(ours.certificatePem)];
  const genuine = signedAssertion(ours);

  it('accepts a genuine signature and returns the key and the signed digest', () => {
    const verified = verifyEnvelopedSignature(assertionIn(genuine.xml), trusted, PROFILE);
    assert.equal(verified.keyThumbprint, ours.thumbprintSha256);
    assert.equal(verified.digest, genuine.digest);
  });

  it('leaves the document exactly as it was (the Signature is put back after digesting)', () => {
    const assertion = assertionIn(genuine.xml);
    const before = new XMLSerializer().serializeToString(assertion);
    verifyEnvelopedSignature(assertion, trusted, PROFILE);
    assert.equal(new XMLSerializer().serializeToString(assertion), before);
  });

  it('refuses a token without a signature (missing)', () => {
    expectRejection(genuine.xml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, ''), trusted, 'missing');
  });

  it('refuses two signatures (profile)', () => {
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(genuine.xml)?.[0] ?? '';
    expectRejection(genuine.xml.replace(signature, signature + signature), trusted, 'profile');
  });

  it('refuses a Reference to anything but the token itself (profile)', () => {
    expectRejection(genuine.xml.replace(`URI="#${ID}"`, 'URI="#_elsewhere"'), trusted, 'profile');
    expectRejection(genuine.xml.replace(`URI="#${ID}"`, 'URI=""'), trusted, 'profile');
  });

  it('refuses an XSLT transform, a missing enveloped transform and an extra transform (profile)', () => {
    const xslt = 'http://www.w3.org/TR/1999/REC-xslt-19991116';
    expectRejection(genuine.xml.replace(`<ds:Transform Algorithm="${ALG.excC14n}">`, `<ds:Transform Algorithm="${xslt}">`), trusted, 'profile');
    expectRejection(
      genuine.xml.replace(`<ds:Transform Algorithm="${ALG.envelopedSignature}"></ds:Transform>`, ''),
      trusted,
      'profile',
    );
    expectRejection(
      genuine.xml.replace('</ds:Transforms>', `<ds:Transform Algorithm="${ALG.excC14n}"></ds:Transform></ds:Transforms>`),
      trusted,
      'profile',
    );
  });

  it('refuses inclusive canonicalisation and HMAC signatures (profile)', () => {
    expectRejection(
      genuine.xml.replace(`<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}">`, '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315">'),
      trusted,
      'profile',
    );
    expectRejection(genuine.xml.replace(ALG.rsaSha256, 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'), trusted, 'profile');
  });

  it('refuses anything but InclusiveNamespaces inside a canonicalisation method (profile)', () => {
    expectRejection(
      genuine.xml.replace(
        `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"></ds:CanonicalizationMethod>`,
        `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"><ds:Object></ds:Object></ds:CanonicalizationMethod>`,
      ),
      trusted,
      'profile',
    );
  });

  it('refuses an extra element in the Signature, such as ds:Object (profile)', () => {
    expectRejection(genuine.xml.replace('</ds:KeyInfo>', '</ds:KeyInfo><ds:Object>x</ds:Object>'), trusted, 'profile');
  });

  it('refuses a second element carrying the signed ID: signature wrapping (duplicate-id)', () => {
    const wrapped = `<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol">${genuine.xml}<Extra ID="${ID}"></Extra></Response>`;
    expectRejection(wrapped, trusted, 'duplicate-id');
  });

  it('refuses altered content (digest)', () => {
    expectRejection(genuine.xml.replace('>staff<', '>admin<'), trusted, 'digest');
  });

  it('lets KeyInfo only select among trusted keys, never add one (untrusted-key)', () => {
    const swapped = genuine.xml.replace(ours.certificateBase64, other.certificateBase64);
    expectRejection(swapped, trusted, 'untrusted-key');
    // An attacker's own token carrying the attacker's certificate is refused the same way.
    expectRejection(signedAssertion(other).xml, trusted, 'untrusted-key');
  });

  it('without KeyInfo, tries the trusted keys: ours verifies, a foreign signature does not (signature)', () => {
    const strip = (xml: string): string => xml.replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '');
    assert.equal(verifyEnvelopedSignature(assertionIn(strip(genuine.xml)), trusted, PROFILE).keyThumbprint, ours.thumbprintSha256);
    expectRejection(strip(signedAssertion(other).xml), trusted, 'signature');
  });

  it('refuses RSA-SHA1 and SHA-1 digests unless the profile allows SHA-1', () => {
    const sha1 = signWithXmlCrypto(ours, { signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha1 });
    expectRejection(sha1, trusted, 'profile');
    // Each algorithm on its own: an RSA-SHA1 signature over a SHA-256 digest, and the reverse.
    expectRejection(signWithXmlCrypto(ours, { signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha256 }), trusted, 'profile');
    expectRejection(signWithXmlCrypto(ours, { signatureAlgorithm: ALG.rsaSha256, digestAlgorithm: ALG.sha1 }), trusted, 'profile');
    const verified = verifyEnvelopedSignature(assertionIn(sha1), trusted, { idAttribute: 'ID', allowSha1: true });
    assert.equal(verified.keyThumbprint, ours.thumbprintSha256);
  });

  it('verifies an independent signature (xmlsec1) that uses an InclusiveNamespaces PrefixList', () => {
    const xml = signWithXmlsec1PrefixList(ours);
    assert.match(xml, /PrefixList="xs"/);
    assert.equal(verifyEnvelopedSignature(assertionIn(xml), trusted, PROFILE).keyThumbprint, ours.thumbprintSha256);
    // The PrefixList is part of what was signed: dropping the ancestor's xs declaration breaks the digest.
    expectRejection(xml.replace(' xmlns:xs="http://www.w3.org/2001/XMLSchema"', ''), trusted, 'digest');
  });
});
