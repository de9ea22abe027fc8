import { createHash, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { attribute, childElements, holdsProcessingInstruction, isElement, textOf } from './dom';
import { ALG, NS } from './namespaces';

/** A key a signature may be checked against: chosen by us (pinned), never taken from the message. */
export interface TrustedKey {
  readonly thumbprintSha256: string;
  readonly publicKey: KeyObject;
}

export interface SignatureProfile {
  /** The attribute that holds the signed element's ID (SAML 2.0: ID; SAML 1.1: AssertionID). */
  readonly idAttribute: string;
  /** SHA-1 digests and RSA-SHA1 signatures, for legacy relying parties only. */
  readonly allowSha1: boolean;
}

export interface VerifiedSignature {
  readonly keyThumbprint: string;
  /** Base64 digest of the canonical signed content (the DigestValue), to compare with the ledger. */
  readonly digest: string;
}

export type SignatureRejection = 'missing' | 'profile' | 'duplicate-id' | 'digest' | 'untrusted-key' | 'signature';

export class SignatureRejectedError extends Error {
  constructor(
    readonly rejection: SignatureRejection,
    message: string,
    /** For untrusted-key: the SHA-256 thumbprint of the certificate KeyInfo named (lets a caller whose list is stale look it up). */
    readonly keyInfoThumbprint?: string,
  ) {
    super(message);
    this.name = 'SignatureRejectedError';
  }
}

const SIGNATURE_ALGORITHMS: Record<string, { hash: string; sha1: boolean }> = {
  [ALG.rsaSha256]: { hash: 'sha256', sha1: false },
  [ALG.rsaSha1]: { hash: 'sha1', sha1: true },
};
const DIGEST_ALGORITHMS: Record<string, { hash: string; sha1: boolean }> = {
  [ALG.sha256]: { hash: 'sha256', sha1: false },
  [ALG.sha1]: { hash: 'sha1', sha1: true },
};
const ID_ATTRIBUTES = ['ID', 'AssertionID', 'Id', 'ResponseID'];

/**
 * Verifies the enveloped signature of `element` under a strict profile, cheaply refused before any
 * cryptography: exactly one ds:Signature as a direct child, one Reference to the element itself by
 * an ID no other element shares, only the enveloped and exclusive-c14n transforms, algorithms from
 * the allow-list. A certificate in KeyInfo only selects among the trusted keys; it never adds one.
 * Callers must read data only from `element`, the thing that was signed.
 */
export function verifyEnvelopedSignature(
  element: Element,
  trusted: readonly TrustedKey[],
  profile: SignatureProfile,
): VerifiedSignature {
  const signatures = childElements(element).filter((e) => e.namespaceURI === NS.ds && e.localName === 'Signature');
  if (signatures.length === 0) throw new SignatureRejectedError('missing', 'the token is not signed');
  if (signatures.length > 1) throw new SignatureRejectedError('profile', 'the token has more than one signature');
  const signature = signatures[0] as Element;
  const parts = signatureParts(signature);
  const signedInfo = readSignedInfo(parts.signedInfo, profile);

  const id = attribute(element, profile.idAttribute);
  if (!id || signedInfo.referenceUri !== `#${id}`) {
    throw new SignatureRejectedError('profile', 'the signature does not reference the token itself');
  }
  if (countElementsWithId(element.ownerDocument, id) !== 1) {
    throw new SignatureRejectedError('duplicate-id', 'more than one element carries the signed ID');
  }

  const digest = digestWithoutSignature(element, signature, signedInfo.digestHash, signedInfo.referencePrefixes);
  const expected = Buffer.from(signedInfo.digestValue, 'base64');
  if (expected.length !== digest.length || !timingSafeEqual(expected, digest)) {
    throw new SignatureRejectedError('digest', 'the signed content was altered (digest mismatch)');
  }

  const canonicalSignedInfo = canonicalise(parts.signedInfo, signedInfo.signedInfoPrefixes);
  const signatureValue = Buffer.from(textOf(parts.signatureValue).replace(/\s+/g, ''), 'base64');
  for (const key of candidateKeys(parts.keyInfo, trusted)) {
    if (verify(signedInfo.signatureHash, Buffer.from(canonicalSignedInfo), key.publicKey, signatureValue)) {
      return { keyThumbprint: key.thumbprintSha256, digest: digest.toString('base64') };
    }
  }
  throw new SignatureRejectedError('signature', 'the signature is not valid under any trusted key');
}

function signatureParts(signature: Element): { signedInfo: Element; signatureValue: Element; keyInfo: Element | undefined } {
  const children = childElements(signature);
  const [signedInfo, signatureValue, keyInfo, ...rest] = children;
  const ok =
    signedInfo?.namespaceURI === NS.ds &&
    signedInfo.localName === 'SignedInfo' &&
    signatureValue?.namespaceURI === NS.ds &&
    signatureValue.localName === 'SignatureValue' &&
    (keyInfo === undefined || (keyInfo.namespaceURI === NS.ds && keyInfo.localName === 'KeyInfo')) &&
    rest.length === 0;
  if (!ok || !signedInfo || !signatureValue) {
    throw new SignatureRejectedError('profile', 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo');
  }
  return { signedInfo, signatureValue, keyInfo };
}

interface SignedInfoProfile {
  readonly signatureHash: string;
  readonly digestHash: string;
  readonly digestValue: string;
  readonly referenceUri: string | undefined;
  readonly signedInfoPrefixes: string[];
  readonly referencePrefixes: string[];
}

function readSignedInfo(signedInfo: Element, profile: SignatureProfile): SignedInfoProfile {
  const [c14n, method, reference, ...rest] = childElements(signedInfo);
  if (!isDsElement(c14n, 'CanonicalizationMethod') || !isDsElement(method, 'SignatureMethod') || !isDsElement(reference, 'Reference') || rest.length) {
    throw new SignatureRejectedError('profile', 'SignedInfo must hold one CanonicalizationMethod, SignatureMethod and Reference');
  }
  if (attribute(c14n, 'Algorithm') !== ALG.excC14n) {
    throw new SignatureRejectedError('profile', 'only exclusive canonicalisation is accepted');
  }
  const signatureAlg = SIGNATURE_ALGORITHMS[attribute(method, 'Algorithm') ?? ''];
  if (!signatureAlg || (signatureAlg.sha1 && !profile.allowSha1) || childElements(method).length) {
    throw new SignatureRejectedError('profile', 'the signature algorithm is not allowed');
  }
  const [transforms, digestMethod, digestValue, ...extra] = childElements(reference);
  if (!isDsElement(transforms, 'Transforms') || !isDsElement(digestMethod, 'DigestMethod') || !isDsElement(digestValue, 'DigestValue') || extra.length) {
    throw new SignatureRejectedError('profile', 'the Reference must hold Transforms, DigestMethod and DigestValue');
  }
  const [enveloped, exclusive, ...moreTransforms] = childElements(transforms);
  if (
    !isDsElement(enveloped, 'Transform') ||
    attribute(enveloped, 'Algorithm') !== ALG.envelopedSignature ||
    childElements(enveloped).length ||
    !isDsElement(exclusive, 'Transform') ||
    attribute(exclusive, 'Algorithm') !== ALG.excC14n ||
    moreTransforms.length
  ) {
    throw new SignatureRejectedError('profile', 'only the enveloped-signature and exclusive-c14n transforms are accepted');
  }
  const digestAlg = DIGEST_ALGORITHMS[attribute(digestMethod, 'Algorithm') ?? ''];
  if (!digestAlg || (digestAlg.sha1 && !profile.allowSha1)) {
    throw new SignatureRejectedError('profile', 'the digest algorithm is not allowed');
  }
  return {
    signatureHash: signatureAlg.hash,
    digestHash: digestAlg.hash,
    digestValue: textOf(digestValue),
    referenceUri: attribute(reference, 'URI'),
    signedInfoPrefixes: inclusivePrefixes(c14n),
    referencePrefixes: inclusivePrefixes(exclusive),
  };
}


// Exclusive c14n's InclusiveNamespaces PrefixList (Shibboleth and others send one); nothing else may sit inside.
function inclusivePrefixes(method: Element): string[] {
  const children = childElements(method);
  if (children.length === 0) return [];
  const list = children[0];
  if (children.length > 1 || list?.localName !== 'InclusiveNamespaces' || list.namespaceURI !== ALG.excC14n) {
    throw new SignatureRejectedError('profile', 'an unexpected element sits inside a canonicalisation method');
  }
  return (attribute(list, 'PrefixList') ?? '').split(/\s+/).filter((p) => p !== '');
}

function canonicalise(node: Element, prefixes: string[]): string {
  if (holdsProcessingInstruction(node)) {
    throw new SignatureRejectedError('profile', 'the signed content holds a processing instruction, which is not accepted');
  }
  return new ExclusiveCanonicalization().process(node, {
    inclusiveNamespacesPrefixList: prefixes,
    ancestorNamespaces: ancestorNamespaces(node),
  } as never) as string;
}

// Prefixes in a PrefixList are rendered from the ancestors' declarations, as exclusive c14n requires.
function ancestorNamespaces(node: Element): { prefix: string; namespaceURI: string }[] {
  const found: { prefix: string; namespaceURI: string }[] = [];
  for (let p = node.parentNode as Element | null; p && p.nodeType === 1; p = p.parentNode as Element | null) {
    for (let i = 0; i < p.attributes.length; i++) {
      const a = p.attributes.item(i);
      if (a?.prefix === 'xmlns' && !found.some((f) => f.prefix === a.localName)) {
        found.push({ prefix: a.localName ?? '', namespaceURI: a.value });
      }
    }
  }
  return found;
}

// The enveloped transform: canonicalise the element without its Signature. Detaching the Signature
// for the moment (rather than cloning the whole token) keeps this cheap; it is put back in place.
function digestWithoutSignature(element: Element, signature: Element, hash: string, prefixes: string[]): Buffer {
  const next = signature.nextSibling;
  element.removeChild(signature);
  try {
    return createHash(hash).update(canonicalise(element, prefixes)).digest();
  } finally {
    element.insertBefore(signature, next);
  }
}

function* candidateKeys(keyInfo: Element | undefined, trusted: readonly TrustedKey[]): Generator<TrustedKey> {
  const certificate = keyInfo && embeddedCertificate(keyInfo);
  if (certificate === undefined) {
    yield* trusted;
    return;
  }
  const thumbprint = createHash('sha256').update(certificate).digest('hex');
  const match = trusted.find((k) => k.thumbprintSha256 === thumbprint);
  if (!match) throw new SignatureRejectedError('untrusted-key', 'the token is signed with a certificate that is not trusted', thumbprint);
  yield match;
}

// Only its thumbprint matters (it selects a trusted key or none), so the certificate is never parsed:
// a malformed one simply matches nothing.
function embeddedCertificate(keyInfo: Element): Buffer | undefined {
  const data = childElements(keyInfo).find((e) => isDsElement(e, 'X509Data'));
  const cert = data && childElements(data).find((e) => isDsElement(e, 'X509Certificate'));
  return cert && Buffer.from(textOf(cert).replace(/\s+/g, ''), 'base64');
}

function countElementsWithId(doc: Document, id: string): number {
  let count = 0;
  const stack: Element[] = [doc.documentElement];
  while (stack.length) {
    const el = stack.pop() as Element;
    for (const name of ID_ATTRIBUTES) if (el.getAttribute(name) === id) count++;
    if (el.getAttributeNS(NS.wsu, 'Id') === id) count++;
    stack.push(...childElements(el));
  }
  return count;
}

/** An XML-DSig element with this local name. */
export const isDsElement = (el: Element | undefined, localName: string): el is Element => isElement(el, NS.ds, localName);
