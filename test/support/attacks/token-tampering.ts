import { createHash } from 'node:crypto';
import { ALG, NS } from '../../../src/xml/namespaces';
import type { TestSigningKey } from '../stolen-key';
import {
  BASE64_TRANSFORM,
  DSA_SHA1,
  ENVELOPED,
  EXCLUSIVE,
  EXCLUSIVE_C14N_WITH_COMMENTS,
  extraReference,
  HMAC_SHA1,
  INCLUSIVE_C14N,
  resign,
  transform,
  XMLDSIG_MORE,
  xpathFilter2Transform,
  xpathTransform,
  xsltTransform,
  type SignatureRecipe,
} from './token-signature';
import { replaceOnce, rootId, signatureOf, withoutSignature } from './token-text';

// The ways a signed token is tampered with, one named builder each: the signature removed, moved or
// doubled; KeyInfo pointing at the attacker's certificate; the content, DigestValue, SignedInfo or
// SignatureValue altered; another element carrying the token's ID; the Reference aimed outside the
// token; transforms and algorithms the profile does not allow. Where an attack needs a signature
// that verifies, it is made with the key the receiver trusts, so the only defect is the attacked one.

export interface TamperKeys {
  /** The key the receiver trusts for this token (the STS's own, or a pinned IdP's). */
  readonly trusted: TestSigningKey;
  /** The attacker's own key and certificate. */
  readonly stranger: TestSigningKey;
  /** Turns the token into one naming the victim (content the attacker wants read). */
  readonly impersonate: (xml: string) => string;
}

export interface TokenTampering {
  /** The attack, for the test name. */
  readonly name: string;
  /** What the verifier answers (the SignatureRejectedError / MalformedTokenError message). */
  readonly reason: string;
  /** The tampered token. */
  readonly tamper: (token: string, keys: TamperKeys) => string;
  /** Something the attack puts elsewhere in the SOAP message (a second element with the token's ID). */
  readonly decoy?: (token: string) => string;
}

export const REASON = {
  notSigned: 'the token is not signed',
  twoSignatures: 'the token has more than one signature',
  untrustedKey: 'the token is signed with a certificate that is not trusted',
  badSignature: 'the signature is not valid under any trusted key',
  digest: 'the signed content was altered (digest mismatch)',
  duplicateId: 'more than one element carries the signed ID',
  notSelf: 'the signature does not reference the token itself',
  transforms: 'only the enveloped-signature and exclusive-c14n transforms are accepted',
  c14n: 'only exclusive canonicalisation is accepted',
  signatureAlgorithm: 'the signature algorithm is not allowed',
  digestAlgorithm: 'the digest algorithm is not allowed',
  signedInfoShape: 'SignedInfo must hold one CanonicalizationMethod, SignatureMethod and Reference',
  processingInstruction: 'the signed content holds a processing instruction, which is not accepted',
} as const;

/** Signed again by the trusted key, with its certificate in KeyInfo, the recipe changing one thing. */
const trustedResign = (recipe: Omit<SignatureRecipe, 'key'>) => (token: string, k: TamperKeys): string =>
  resign(token, { key: { rsa: k.trusted.privateKey }, keyInfoCertificateBase64: k.trusted.certificateBase64, ...recipe });

const flipBase64Char = (value: string, at: number): string => value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);

function alterElementText(token: string, element: 'DigestValue' | 'SignatureValue'): string {
  const m = new RegExp(`<ds:${element}>([^<]+)</ds:${element}>`).exec(signatureOf(token));
  if (!m) throw new Error(`no ds:${element}`);
  const value = m[1] as string;
  return replaceOnce(token, m[0], `<ds:${element}>${flipBase64Char(value, Math.floor(value.length / 2))}</ds:${element}>`);
}

function withKeyInfoCertificate(token: string, base64: string): string {
  const m = /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/.exec(token);
  if (!m) throw new Error('no ds:X509Certificate in KeyInfo');
  return replaceOnce(token, m[0], `<ds:X509Certificate>${base64}</ds:X509Certificate>`);
}

/** Signature removal and displacement: the token must carry exactly one signature, as its own direct child. */
export const SIGNATURE_REMOVAL: readonly TokenTampering[] = [
  { name: 'signature removal (ds:Signature stripped)', reason: REASON.notSigned, tamper: (t) => withoutSignature(t) },
  {
    name: 'signature removal with the content changed (the victim named, unsigned)',
    reason: REASON.notSigned,
    tamper: (t, k) => k.impersonate(withoutSignature(t)),
  },
  {
    name: 'signature moved into Subject (not a direct child of the token)',
    reason: REASON.notSigned,
    tamper: (t) => replaceOnce(withoutSignature(t), '<Subject>', `<Subject>${signatureOf(t)}`),
  },
  {
    name: 'a second ds:Signature (a copy of the genuine one)',
    reason: REASON.twoSignatures,
    tamper: (t) => replaceOnce(t, signatureOf(t), signatureOf(t) + signatureOf(t)),
  },
];

/** Certificate substitution in KeyInfo: KeyInfo selects among trusted keys, it never adds one. */
export const KEYINFO_SUBSTITUTION: readonly TokenTampering[] = [
  {
    name: 'KeyInfo certificate replaced by the attacker\'s (the genuine signature kept)',
    reason: REASON.untrustedKey,
    tamper: (t, k) => withKeyInfoCertificate(t, k.stranger.certificateBase64),
  },
  {
    name: 'content changed and re-signed by the attacker, the attacker\'s certificate in KeyInfo',
    reason: REASON.untrustedKey,
    tamper: (t, k) => resign(k.impersonate(t), { key: { rsa: k.stranger.privateKey }, keyInfoCertificateBase64: k.stranger.certificateBase64 }),
  },
  {
    name: 'content changed and re-signed by the attacker, the trusted certificate left in KeyInfo',
    reason: REASON.badSignature,
    tamper: (t, k) => resign(k.impersonate(t), { key: { rsa: k.stranger.privateKey }, keyInfoCertificateBase64: k.trusted.certificateBase64 }),
  },
  {
    name: 'content changed and re-signed by the attacker, no KeyInfo at all',
    reason: REASON.badSignature,
    tamper: (t, k) => resign(k.impersonate(t), { key: { rsa: k.stranger.privateKey } }),
  },
  {
    name: 'KeyInfo certificate that is not base64 DER (garbage)',
    reason: REASON.untrustedKey,
    tamper: (t) => withKeyInfoCertificate(t, 'bm90IGEgY2VydGlmaWNhdGU='),
  },
];

/** Digest and SignedInfo tampering. */
export const SIGNED_CONTENT_TAMPERING: readonly TokenTampering[] = [
  { name: 'content tampering (the NameID changed after signing)', reason: REASON.digest, tamper: (t, k) => k.impersonate(t) },
  { name: 'digest tampering (DigestValue altered)', reason: REASON.digest, tamper: (t) => alterElementText(t, 'DigestValue') },
  {
    name: 'SignedInfo tampering (content changed and DigestValue recomputed to match)',
    reason: REASON.badSignature,
    tamper: (t, k) => {
      const changed = k.impersonate(t);
      const digest = createHash('sha256').update(withoutSignature(changed)).digest('base64');
      return replaceOnce(changed, /<ds:DigestValue>[^<]+<\/ds:DigestValue>/.exec(t)?.[0] as string, `<ds:DigestValue>${digest}</ds:DigestValue>`);
    },
  },
  { name: 'SignatureValue tampering (one character changed)', reason: REASON.badSignature, tamper: (t) => alterElementText(t, 'SignatureValue') },
];

/** Duplicate IDs: another element in the message carries the signed ID. */
export const DUPLICATE_IDS: readonly TokenTampering[] = [
  {
    name: 'duplicate ID: a decoy header block with ID="<the token\'s ID>"',
    reason: REASON.duplicateId,
    tamper: (t) => t,
    decoy: (t) => `<x:Decoy xmlns:x="urn:example:decoy" ID="${rootId(t).id}"></x:Decoy>`,
  },
  {
    name: 'duplicate ID: a decoy header block with wsu:Id="<the token\'s ID>"',
    reason: REASON.duplicateId,
    tamper: (t) => t,
    decoy: (t) => `<x:Decoy xmlns:x="urn:example:decoy" xmlns:wsu="${NS.wsu}" wsu:Id="${rootId(t).id}"></x:Decoy>`,
  },
  {
    name: 'duplicate ID: an evil unsigned copy with the same ID in a header block',
    reason: REASON.duplicateId,
    tamper: (t) => t,
    decoy: (t) => `<x:Held xmlns:x="urn:example:decoy">${withoutSignature(t)}</x:Held>`,
  },
];

/** References to something other than the token, by a signature the receiver's trusted key made. */
export const FOREIGN_REFERENCES: readonly TokenTampering[] = [
  {
    name: 'Reference to an element outside the token (the message\'s wsu:Timestamp), signed by the trusted key',
    reason: REASON.notSelf,
    tamper: trustedResign({ referenceUri: '#_0' }),
  },
  { name: 'Reference URI="" (the whole message), signed by the trusted key', reason: REASON.notSelf, tamper: trustedResign({ referenceUri: '' }) },
  {
    name: 'Reference by XPointer (#xpointer(id(...))), signed by the trusted key',
    reason: REASON.notSelf,
    tamper: (t, k) => trustedResign({ referenceUri: `#xpointer(id('${rootId(t).id}'))` })(t, k),
  },
  {
    name: 'a second Reference (to the message\'s Timestamp) in SignedInfo',
    reason: REASON.signedInfoShape,
    tamper: trustedResign({ extraReferences: [extraReference('#_0')] }),
  },
  {
    name: '200 References in SignedInfo (verification cost attack), refused before any digest',
    reason: REASON.signedInfoShape,
    tamper: trustedResign({ extraReferences: Array.from({ length: 200 }, () => extraReference('#_0')) }),
  },
];

/** Transforms other than exactly enveloped-signature then exclusive c14n. */
export const DISALLOWED_TRANSFORMS: readonly TokenTampering[] = [
  {
    name: 'XSLT transform (stylesheet calling document() on a loopback URL)',
    reason: REASON.transforms,
    tamper: trustedResign({ transforms: [ENVELOPED, xsltTransform('http://127.0.0.1:9/xslt'), EXCLUSIVE] }),
  },
  { name: 'XPath filter transform (NameID filtered out of the digest)', reason: REASON.transforms, tamper: trustedResign({ transforms: [ENVELOPED, xpathTransform, EXCLUSIVE] }) },
  { name: 'XPath Filter 2.0 transform (NameID subtracted)', reason: REASON.transforms, tamper: trustedResign({ transforms: [ENVELOPED, xpathFilter2Transform, EXCLUSIVE] }) },
  { name: 'base64 transform (decoding what the digest covers)', reason: REASON.transforms, tamper: trustedResign({ transforms: [ENVELOPED, transform(BASE64_TRANSFORM), EXCLUSIVE] }) },
  { name: 'enveloped-signature transform only (no exclusive c14n)', reason: REASON.transforms, tamper: trustedResign({ transforms: [ENVELOPED] }) },
  { name: 'exclusive c14n only (no enveloped-signature transform)', reason: REASON.transforms, tamper: trustedResign({ transforms: [EXCLUSIVE] }) },
  {
    name: 'exclusive c14n WithComments transform',
    reason: REASON.transforms,
    tamper: trustedResign({ transforms: [ENVELOPED, transform(EXCLUSIVE_C14N_WITH_COMMENTS)] }),
  },
  { name: 'inclusive c14n CanonicalizationMethod', reason: REASON.c14n, tamper: trustedResign({ canonicalization: INCLUSIVE_C14N }) },
];

/** Algorithms outside the allow-list, in a signature the trusted key made (or an HMAC keyed with public data). */
export const DISALLOWED_ALGORITHMS: readonly TokenTampering[] = [
  {
    name: 'SHA-1 DigestMethod where SHA-1 is not allowed',
    reason: REASON.digestAlgorithm,
    tamper: trustedResign({ digestMethod: ALG.sha1, digestHash: 'sha1' }),
  },
  { name: 'MD5 DigestMethod', reason: REASON.digestAlgorithm, tamper: trustedResign({ digestMethod: XMLDSIG_MORE.md5, digestHash: 'md5' }) },
  {
    name: 'RSA-SHA1 SignatureMethod where SHA-1 is not allowed',
    reason: REASON.signatureAlgorithm,
    tamper: (t, k) => resign(t, { key: { rsa: k.trusted.privateKey, hash: 'sha1' }, signatureMethod: ALG.rsaSha1, keyInfoCertificateBase64: k.trusted.certificateBase64 }),
  },
  {
    name: 'HMAC-SHA1 SignatureMethod keyed with the trusted certificate (key confusion), content changed',
    reason: REASON.signatureAlgorithm,
    tamper: (t, k) =>
      resign(k.impersonate(t), {
        key: { hmacSecret: Buffer.from(k.trusted.certificateBase64, 'base64') },
        keyInfoCertificateBase64: k.trusted.certificateBase64,
      }),
  },
  {
    name: 'HMAC-SHA256 keyed with the trusted certificate\'s PEM text (key confusion)',
    reason: REASON.signatureAlgorithm,
    tamper: (t, k) =>
      resign(k.impersonate(t), {
        key: { hmacSecret: Buffer.from(k.trusted.certificatePem), hash: 'sha256' },
        signatureMethod: XMLDSIG_MORE.hmacSha256,
        keyInfoCertificateBase64: k.trusted.certificateBase64,
      }),
  },
  {
    name: 'HMAC-SHA1 with HMACOutputLength 0 (CVE-2009-0217 truncation)',
    reason: REASON.signatureAlgorithm,
    tamper: (t, k) =>
      resign(k.impersonate(t), {
        key: { hmacSecret: Buffer.alloc(0) },
        signatureMethod: HMAC_SHA1,
        signatureMethodContent: '<ds:HMACOutputLength>0</ds:HMACOutputLength>',
      }),
  },
  { name: 'RSA-MD5 SignatureMethod', reason: REASON.signatureAlgorithm, tamper: trustedResign({ signatureMethod: XMLDSIG_MORE.rsaMd5 }) },
  { name: 'DSA-SHA1 SignatureMethod', reason: REASON.signatureAlgorithm, tamper: trustedResign({ signatureMethod: DSA_SHA1 }) },
  { name: 'an empty SignatureMethod Algorithm ("none")', reason: REASON.signatureAlgorithm, tamper: trustedResign({ signatureMethod: '' }) },
];
