import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { readIdpMetadata } from '../../../src/saml/idp-metadata';
import { idpMetadata } from '../../support/aws-sts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const ENTITY = 'https://idp.partner.example/saml';
const base64Of = (pem: string): string => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
const keyDescriptor = (pem: string, use?: string, wrap = false): string => {
  const b64 = base64Of(pem);
  const text = wrap ? `\n  ${b64.match(/.{1,64}/g)?.join('\n  ')}\n` : b64;
  return `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${text}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
};
const metadata = (inner: string, o: { entityId?: string | null; root?: string } = {}): string => {
  const root = o.root ?? 'md:EntityDescriptor';
  const entity = o.entityId === null ? '' : ` entityID="${o.entityId ?? ENTITY}"`;
  return `<${root} xmlns:md="${MD}" xmlns:ds="${DS}"${entity}>${inner}</${root}>`;
};
const idp = (inner: string) => `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor>`;
const sameCertificate = (a: string, b: string) => assert.ok(new X509Certificate(a).raw.equals(new X509Certificate(b).raw));

describe('saml/idp-metadata readIdpMetadata', function () {
  this.timeout(30_000);
  let signing: string;
  let second: string;
  let encryption: string;

  before(() => {
    signing = generateSelfSignedCertificate({ commonName: 'md-signing', validDays: 2 }).certificatePem;
    second = generateSelfSignedCertificate({ commonName: 'md-signing-2', validDays: 2 }).certificatePem;
    encryption = generateSelfSignedCertificate({ commonName: 'md-encryption', validDays: 2 }).certificatePem;
  });

  it('reads the entityID and the signing certificate (as the test support writes metadata)', () => {
    const md = readIdpMetadata(idpMetadata(ENTITY, signing));
    assert.equal(md.entityId, ENTITY);
    assert.equal(md.signingCertificatesPem.length, 1);
    sameCertificate(md.signingCertificatesPem[0] as string, signing);
    assert.match(md.signingCertificatesPem[0] as string, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  });

  it('takes use="signing" and KeyDescriptors without use, skips use="encryption", keeps document order, drops duplicates', () => {
    const md = readIdpMetadata(
      metadata(idp(keyDescriptor(encryption, 'encryption') + keyDescriptor(second) + keyDescriptor(signing, 'signing', true) + keyDescriptor(second, 'signing'))),
    );
    assert.equal(md.signingCertificatesPem.length, 2);
    sameCertificate(md.signingCertificatesPem[0] as string, second);
    sameCertificate(md.signingCertificatesPem[1] as string, signing);
  });

  it('certificates of other roles (SPSSODescriptor) do not count', () => {
    const sp = `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptor(second, 'signing')}</md:SPSSODescriptor>`;
    const md = readIdpMetadata(metadata(sp + idp(keyDescriptor(signing, 'signing'))));
    assert.equal(md.signingCertificatesPem.length, 1);
    sameCertificate(md.signingCertificatesPem[0] as string, signing);
  });

  it('only an encryption certificate is "no signing certificate"', () => {
    assert.throws(() => readIdpMetadata(metadata(idp(keyDescriptor(encryption, 'encryption')))), {
      message: 'the metadata names no signing certificate for the identity provider',
    });
    assert.throws(() => readIdpMetadata(metadata(idp(''))), { message: 'the metadata names no signing certificate for the identity provider' });
  });

  it('metadata of a service provider only has no IDPSSODescriptor', () => {
    const sp = `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptor(signing, 'signing')}</md:SPSSODescriptor>`;
    assert.throws(() => readIdpMetadata(metadata(sp)), { message: 'the metadata has no IDPSSODescriptor (it does not describe an identity provider)' });
  });

  it('no entityID is refused', () => {
    assert.throws(() => readIdpMetadata(metadata(idp(keyDescriptor(signing)), { entityId: null })), { message: 'the metadata has no entityID' });
    assert.throws(() => readIdpMetadata(metadata(idp(keyDescriptor(signing)), { entityId: '' })), { message: 'the metadata has no entityID' });
  });

  it('a document that is not an md:EntityDescriptor is refused (EntitiesDescriptor, another namespace, a SAML assertion)', () => {
    for (const xml of [
      metadata(metadata(idp(keyDescriptor(signing))), { root: 'md:EntitiesDescriptor', entityId: null }),
      `<EntityDescriptor xmlns="urn:example" entityID="${ENTITY}"/>`,
      '<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>',
    ]) {
      assert.throws(() => readIdpMetadata(xml), { message: 'the metadata is not a SAML 2.0 md:EntityDescriptor' });
    }
  });

  it('a DOCTYPE is refused before parsing', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x SYSTEM "file:///etc/passwd">]>${metadata(idp(keyDescriptor(signing)))}`;
    assert.throws(() => readIdpMetadata(xml), { message: 'the metadata is not acceptable XML: a DOCTYPE or entity declaration is not allowed' });
  });

  it('text that is not XML is refused', () => {
    assert.throws(() => readIdpMetadata('this is not xml'), (err: unknown) => {
      assert.match((err as Error).message, /^the metadata is (not acceptable XML|not a SAML 2\.0 md:EntityDescriptor)/);
      return true;
    });
  });

  it('a signing "certificate" that is not X.509 is refused', () => {
    const bogus = `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${Buffer.from('not a certificate').toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
    assert.throws(() => readIdpMetadata(metadata(idp(bogus))), { message: 'the metadata carries a signing certificate that is not a valid X.509 certificate' });
  });
});
