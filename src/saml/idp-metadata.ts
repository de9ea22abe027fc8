import { X509Certificate } from 'node:crypto';
import { attribute, childrenNamed, textOf } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { parseXmlSafely, XmlRejectedError } from '../xml/safe-parse';

/** What registering a SAML identity provider takes from its metadata. */
export interface IdpMetadata {
  readonly entityId: string;
  /** PEM signing certificates of its IDPSSODescriptor, in document order, without duplicates. */
  readonly signingCertificatesPem: readonly string[];
}

const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 32, maxElements: 20000, maxAttributesPerElement: 64 };

/**
 * Reads a SAML 2.0 md:EntityDescriptor (an AD FS FederationMetadata.xml, or any IdP's metadata).
 * Only the IDPSSODescriptor's signing keys count (KeyDescriptor use="signing" or no use); the
 * metadata's own signature is not what makes it trusted: the administrator registering it is.
 */
export function readIdpMetadata(xml: string): IdpMetadata {
  let root: Element | null;
  try {
    root = parseXmlSafely(xml, LIMITS).documentElement;
  } catch (err) {
    if (err instanceof XmlRejectedError) throw new Error(`the metadata is not acceptable XML: ${err.message}`);
    throw err;
  }
  if (!root || root.namespaceURI !== NS.md || root.localName !== 'EntityDescriptor') {
    throw new Error('the metadata is not a SAML 2.0 md:EntityDescriptor');
  }
  const entityId = attribute(root, 'entityID');
  if (!entityId) throw new Error('the metadata has no entityID');
  const idp = childrenNamed(root, NS.md, 'IDPSSODescriptor');
  if (idp.length === 0) throw new Error('the metadata has no IDPSSODescriptor (it does not describe an identity provider)');
  const certificates: string[] = [];
  for (const descriptor of idp.flatMap((d) => childrenNamed(d, NS.md, 'KeyDescriptor'))) {
    const use = attribute(descriptor, 'use');
    if (use !== undefined && use !== 'signing') continue;
    const base64s = childrenNamed(descriptor, NS.ds, 'KeyInfo')
      .flatMap((k) => childrenNamed(k, NS.ds, 'X509Data'))
      .flatMap((d) => childrenNamed(d, NS.ds, 'X509Certificate'))
      .map((c) => textOf(c).replace(/\s+/g, ''));
    for (const base64 of base64s) {
      const pem = toPem(base64);
      if (!certificates.includes(pem)) certificates.push(pem);
    }
  }
  if (certificates.length === 0) throw new Error('the metadata names no signing certificate for the identity provider');
  return { entityId, signingCertificatesPem: certificates };
}

function toPem(base64: string): string {
  const pem = `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw new Error('the metadata carries a signing certificate that is not a valid X.509 certificate');
  }
  return pem;
}
