import { createHash } from 'node:crypto';
import type { SigningKey } from '../keys/signing-key';
import { ALG, NS } from './namespaces';

/**
 * An element already written in exclusive-c14n canonical form, split where its enveloped
 * ds:Signature belongs (after saml:Issuer in SAML 2.0, last in SAML 1.1).
 */
export interface CanonicalElement {
  readonly id: string;
  readonly beforeSignature: string;
  readonly afterSignature: string;
}

export interface SignedElement {
  readonly xml: string;
  /** Base64 SHA-256 of the canonical signed content: the DigestValue, also the ledger's digest. */
  readonly digest: string;
}

const SIGNED_INFO_HEAD =
  `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"></ds:CanonicalizationMethod>` +
  `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"></ds:SignatureMethod>`;
const TRANSFORMS =
  `<ds:Transforms><ds:Transform Algorithm="${ALG.envelopedSignature}"></ds:Transform>` +
  `<ds:Transform Algorithm="${ALG.excC14n}"></ds:Transform></ds:Transforms>` +
  `<ds:DigestMethod Algorithm="${ALG.sha256}"></ds:DigestMethod>`;

/**
 * Signs a canonical element without parsing it: digest the text, build SignedInfo directly in
 * canonical form, sign that with RSA-SHA256. Because the input is canonical already, what
 * xmlsec1 or xml-crypto recompute from the parsed document is byte for byte what we digested.
 */
export function signCanonicalElement(element: CanonicalElement, key: SigningKey): SignedElement {
  const digest = createHash('sha256').update(element.beforeSignature).update(element.afterSignature).digest('base64');
  const signedInfoBody =
    SIGNED_INFO_HEAD + `<ds:Reference URI="#${element.id}">${TRANSFORMS}<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  // In the document SignedInfo inherits xmlns:ds from ds:Signature; exclusive c14n renders it on
  // SignedInfo itself, and the signature is computed over that canonical form.
  const canonicalSignedInfo = `<ds:SignedInfo xmlns:ds="${NS.ds}">${signedInfoBody}</ds:SignedInfo>`;
  const signatureValue = key.sign('sha256', Buffer.from(canonicalSignedInfo)).toString('base64');
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>${signedInfoBody}</ds:SignedInfo>` +
    `<ds:SignatureValue>${signatureValue}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `</ds:Signature>`;
  return { xml: element.beforeSignature + signature + element.afterSignature, digest };
}
