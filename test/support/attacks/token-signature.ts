import { createHash, createHmac, sign, type KeyObject } from 'node:crypto';
import { ALG, NS } from '../../../src/xml/namespaces';
import { replaceOnce, rootId, signatureOf, withoutSignature } from './token-text';

// Enveloped signatures made to order over a canonical SAML token: any key (the STS's own, a pinned
// IdP's, an attacker's, an HMAC secret), any algorithms and transforms, any Reference. The token's
// text without its signature is its canonical form (Trustbridge and the test IdPs write tokens
// canonical), so the digest is taken over exactly that, as a verifier recomputes it.

export const XMLDSIG_MORE = {
  hmacSha256: 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
  md5: 'http://www.w3.org/2001/04/xmldsig-more#md5',
  rsaMd5: 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5',
} as const;
export const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1';
export const DSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#dsa-sha1';
export const INCLUSIVE_C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const EXCLUSIVE_C14N_WITH_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';
const XSLT_TRANSFORM = 'http://www.w3.org/TR/1999/REC-xslt-19991116';
const XPATH_TRANSFORM = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
const XPATH_FILTER2_TRANSFORM = 'http://www.w3.org/2002/06/xmldsig-filter2';
export const BASE64_TRANSFORM = 'http://www.w3.org/2000/09/xmldsig#base64';

/** A ds:Transform element with optional content (XSLT stylesheet, XPath expression). */
export const transform = (algorithm: string, content = ''): string =>
  `<ds:Transform Algorithm="${algorithm}">${content}</ds:Transform>`;

export const ENVELOPED = transform(ALG.envelopedSignature);
export const EXCLUSIVE = transform(ALG.excC14n);
/** An XSLT transform whose stylesheet would fetch a URL (the classic transform-based SSRF and code path). */
export const xsltTransform = (url: string): string =>
  transform(
    XSLT_TRANSFORM,
    `<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">` +
      `<xsl:template match="/"><xsl:copy-of select="document('${url}')"></xsl:copy-of></xsl:template></xsl:stylesheet>`,
  );
/** An XPath filter keeping only what the attacker wants digested. */
export const xpathTransform = transform(XPATH_TRANSFORM, `<ds:XPath>not(ancestor-or-self::*[local-name()='NameID'])</ds:XPath>`);
export const xpathFilter2Transform = transform(
  XPATH_FILTER2_TRANSFORM,
  `<dsig-xpath:XPath xmlns:dsig-xpath="${XPATH_FILTER2_TRANSFORM}" Filter="subtract">//*[local-name()='NameID']</dsig-xpath:XPath>`,
);

export type SignWith =
  | { readonly rsa: KeyObject; readonly hash?: 'sha256' | 'sha1' | 'md5' }
  | { readonly hmacSecret: Buffer; readonly hash?: 'sha256' | 'sha1' };

export interface SignatureRecipe {
  readonly key: SignWith;
  /** SignatureMethod Algorithm; default RSA-SHA256 (HMAC-SHA1 for an HMAC key). */
  readonly signatureMethod?: string;
  /** Raw XML inside SignatureMethod (HMACOutputLength, say). */
  readonly signatureMethodContent?: string;
  readonly canonicalization?: string;
  readonly digestMethod?: string;
  /** Hash for the DigestValue (must suit digestMethod for the digest to be right); default sha256. */
  readonly digestHash?: 'sha256' | 'sha1' | 'md5';
  /** The Transform elements; default enveloped-signature then exclusive c14n. */
  readonly transforms?: readonly string[];
  /** Reference URI; default "#" + the token's ID. */
  readonly referenceUri?: string;
  /** Further Reference elements after the first (each raw XML). */
  readonly extraReferences?: readonly string[];
  /** Raw ds:KeyInfo; default the X509Certificate given, or none. */
  readonly keyInfoCertificateBase64?: string | null;
}

/**
 * The token signed anew by `recipe`, its signature where the old one was (a token must be signed
 * already, so the slot is known). The digest is over the token's canonical text without a signature.
 */
export function resign(signedToken: string, recipe: SignatureRecipe): string {
  const old = signatureOf(signedToken);
  const unsigned = withoutSignature(signedToken);
  const digest = createHash(recipe.digestHash ?? 'sha256').update(unsigned).digest('base64');
  const isHmac = 'hmacSecret' in recipe.key;
  const method = recipe.signatureMethod ?? (isHmac ? HMAC_SHA1 : ALG.rsaSha256);
  const transforms = recipe.transforms ?? [ENVELOPED, EXCLUSIVE];
  const reference =
    `<ds:Reference URI="${recipe.referenceUri ?? `#${rootId(signedToken).id}`}">` +
    `<ds:Transforms>${transforms.join('')}</ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${recipe.digestMethod ?? ALG.sha256}"></ds:DigestMethod>` +
    `<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  const signedInfoBody =
    `<ds:CanonicalizationMethod Algorithm="${recipe.canonicalization ?? ALG.excC14n}"></ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${method}">${recipe.signatureMethodContent ?? ''}</ds:SignatureMethod>` +
    reference +
    (recipe.extraReferences ?? []).join('');
  const canonicalSignedInfo = Buffer.from(`<ds:SignedInfo xmlns:ds="${NS.ds}">${signedInfoBody}</ds:SignedInfo>`);
  const value =
    'hmacSecret' in recipe.key
      ? createHmac(recipe.key.hash ?? 'sha1', recipe.key.hmacSecret).update(canonicalSignedInfo).digest()
      : sign(recipe.key.hash ?? 'sha256', canonicalSignedInfo, recipe.key.rsa);
  const keyInfo =
    recipe.keyInfoCertificateBase64 === undefined || recipe.keyInfoCertificateBase64 === null
      ? ''
      : `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${recipe.keyInfoCertificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo>${signedInfoBody}</ds:SignedInfo>` +
    `<ds:SignatureValue>${value.toString('base64')}</ds:SignatureValue>${keyInfo}</ds:Signature>`;
  return replaceOnce(signedToken, old, signature);
}

/** A Reference to some other element, for SignedInfo with more than one. */
export const extraReference = (uri: string): string =>
  `<ds:Reference URI="${uri}"><ds:Transforms>${EXCLUSIVE}</ds:Transforms>` +
  `<ds:DigestMethod Algorithm="${ALG.sha256}"></ds:DigestMethod><ds:DigestValue>${Buffer.alloc(32).toString('base64')}</ds:DigestValue></ds:Reference>`;
