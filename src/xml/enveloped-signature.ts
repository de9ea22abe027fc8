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
  const signedInfo = signedInfoOf(element);
  return withSignature(element, signedInfo, key.sign('sha256', signedInfo.canonical), key);
}

/** signCanonicalElement with the RSA signature computed off the event loop (SigningKey.signOffThread): the token path's. */
export async function signCanonicalElementOffThread(element: CanonicalElement, key: SigningKey): Promise<SignedElement> {
  const signedInfo = signedInfoOf(element);
  return withSignature(element, signedInfo, await key.signOffThread('sha256', signedInfo.canonical), key);
}

export interface SignedInfo {
  readonly digest: string;
  readonly body: string;
  /** The bytes the signature is computed over. */
  readonly canonical: Buffer;
}

/** The element's digest and its canonical ds:SignedInfo (also what the bench's floor server signs). */
export function signedInfoOf(element: CanonicalElement): SignedInfo {
  const digest = createHash('sha256').update(element.beforeSignature).update(element.afterSignature).digest('base64');
  const body =
    SIGNED_INFO_HEAD + `<ds:Reference URI="#${element.id}">${TRANSFORMS}<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  // In the document SignedInfo inherits xmlns:ds from ds:Signature; exclusive c14n renders it on
  // SignedInfo itself, and the signature is computed over that canonical form.
  return { digest, body, canonical: Buffer.from(`<ds:SignedInfo xmlns:ds="${NS.ds}">${body}</ds:SignedInfo>`) };
}

function withSignature(element: CanonicalElement, signedInfo: SignedInfo, signatureValue: Buffer, key: SigningKey): SignedElement {
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>${signedInfo.body}</ds:SignedInfo>` +
    `<ds:SignatureValue>${signatureValue.toString('base64')}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `</ds:Signature>`;
  return { xml: element.beforeSignature + signature + element.afterSignature, digest: signedInfo.digest };
}
