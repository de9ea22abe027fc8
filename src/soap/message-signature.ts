import { createHash, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { InvalidSecurityError, UnsupportedSecurityTokenError } from '../core/errors';
import { attribute, attributeNS, childElements, holdsProcessingInstruction, textOf } from '../xml/dom';
import { isDsElement } from '../xml/verify-signature';
import { ALG, NS } from '../xml/namespaces';
import type { SoapEnvelope } from './envelope';

export const X509V3_VALUE_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';

export interface SignedMessage {
  /** The certificate whose key signed the Timestamp and the Body; not yet trusted: the caller decides. */
  readonly certificate: X509Certificate;
  /**
   * Names what was signed: the signer's certificate and its SignedInfo (which holds the digests of the
   * Timestamp and the Body), hashed. The same message sent again has the same one: the replay key.
   */
  readonly signedContent: string;
}

const SIGNATURE_HASH: Record<string, string> = { [ALG.rsaSha256]: 'sha256' };
const DIGEST_HASH: Record<string, string> = { [ALG.sha256]: 'sha256' };

/**
 * Verifies a WS-Security message signature made with an X.509 BinarySecurityToken: one ds:Signature
 * in our Security header, exactly two References (the header's own wsu:Timestamp and the SOAP Body,
 * by wsu:Id, each ID unique in the message), exclusive c14n only, RSA-SHA256 and SHA-256 only, and a
 * KeyInfo that points at the BinarySecurityToken in the same header.
 */
export function verifyMessageSignature(envelope: SoapEnvelope, security: Element, body: Element, timestamp: Element): SignedMessage {
  const signatures = childElements(security).filter((e) => e.namespaceURI === NS.ds && e.localName === 'Signature');
  if (signatures.length !== 1) throw new InvalidSecurityError('The wsse:Security header must hold exactly one ds:Signature.');
  const signature = signatures[0] as Element;
  const [signedInfo, signatureValue, keyInfo, ...rest] = childElements(signature);
  if (!isDsElement(signedInfo, 'SignedInfo') || !isDsElement(signatureValue, 'SignatureValue') || !isDsElement(keyInfo, 'KeyInfo') || rest.length) {
    throw new InvalidSecurityError('The signature must hold SignedInfo, SignatureValue and KeyInfo.');
  }
  const [c14n, method, ...references] = childElements(signedInfo);
  if (!isDsElement(c14n, 'CanonicalizationMethod') || attribute(c14n, 'Algorithm') !== ALG.excC14n || childElements(c14n).length) {
    throw new InvalidSecurityError('The signature must use exclusive canonicalisation.');
  }
  const hash = isDsElement(method, 'SignatureMethod') ? SIGNATURE_HASH[attribute(method, 'Algorithm') ?? ''] : undefined;
  if (!hash) throw new InvalidSecurityError('The signature algorithm must be RSA-SHA256.');

  const targets = new Map([
    [wsuId(timestamp, 'Timestamp'), timestamp],
    [wsuId(body, 'Body'), body],
  ]);
  if (references.length !== 2) throw new InvalidSecurityError('The signature must cover exactly the Timestamp and the Body.');
  for (const reference of references) {
    const uri = isDsElement(reference, 'Reference') ? attribute(reference, 'URI') : undefined;
    const target = uri?.startsWith('#') ? targets.get(uri.slice(1)) : undefined;
    if (!target) throw new InvalidSecurityError('A signature reference points at something other than the Timestamp or the Body.');
    targets.delete(uri?.slice(1) ?? '');
    checkReference(reference as Element, target);
  }
  if (countWsuIds(envelope, timestamp, body) !== 2) {
    throw new InvalidSecurityError('The signed IDs are not unique in the message.');
  }

  const certificate = referencedCertificate(security, keyInfo as Element);
  const canonicalSignedInfo = canonical(signedInfo as Element);
  const value = Buffer.from(textOf(signatureValue as Element).replace(/\s+/g, ''), 'base64');
  if (!verify(hash, Buffer.from(canonicalSignedInfo), certificate.publicKey, value)) {
    throw new InvalidSecurityError('The message signature is not valid.');
  }
  const signedContent = createHash('sha256').update(certificate.raw).update(canonicalSignedInfo).digest('base64');
  return { certificate, signedContent };
}

function checkReference(reference: Element, target: Element): void {
  const [transforms, digestMethod, digestValue, ...rest] = childElements(reference);
  const transformList = transforms && isDsElement(transforms, 'Transforms') ? childElements(transforms) : [];
  if (
    rest.length ||
    transformList.length !== 1 ||
    attribute(transformList[0] as Element, 'Algorithm') !== ALG.excC14n ||
    childElements(transformList[0] as Element).length ||
    !isDsElement(digestMethod, 'DigestMethod') ||
    !isDsElement(digestValue, 'DigestValue')
  ) {
    throw new InvalidSecurityError('Each signature reference must use exactly the exclusive-c14n transform.');
  }
  const hash = DIGEST_HASH[attribute(digestMethod, 'Algorithm') ?? ''];
  if (!hash) throw new InvalidSecurityError('The digest algorithm must be SHA-256.');
  const actual = createHash(hash).update(canonical(target)).digest();
  const expected = Buffer.from(textOf(digestValue), 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new InvalidSecurityError(`The signed ${target.localName} was altered (digest mismatch).`);
  }
}

// Exclusive c14n by xml-crypto, which cannot render a processing instruction: one is the sender's fault.
function canonical(element: Element): string {
  if (holdsProcessingInstruction(element)) {
    throw new InvalidSecurityError(`The signed ${element.localName} holds a processing instruction, which is not accepted.`);
  }
  return new ExclusiveCanonicalization().process(element, {}) as string;
}

function referencedCertificate(security: Element, keyInfo: Element): X509Certificate {
  const [str, ...more] = childElements(keyInfo);
  const reference = str && str.namespaceURI === NS.wsse && str.localName === 'SecurityTokenReference' ? childElements(str) : [];
  const ref = reference[0];
  const uri = ref && ref.namespaceURI === NS.wsse && ref.localName === 'Reference' ? attribute(ref, 'URI') : undefined;
  if (more.length || reference.length !== 1 || !uri?.startsWith('#')) {
    throw new InvalidSecurityError('The signature\'s KeyInfo must reference the BinarySecurityToken in the header.');
  }
  const tokens = childElements(security).filter(
    (e) => e.namespaceURI === NS.wsse && e.localName === 'BinarySecurityToken' && attributeNS(e, NS.wsu, 'Id') === uri.slice(1),
  );
  const token = tokens[0];
  if (tokens.length !== 1 || !token) throw new InvalidSecurityError('The referenced BinarySecurityToken is missing or repeated.');
  if (attribute(token, 'ValueType') !== X509V3_VALUE_TYPE) {
    throw new UnsupportedSecurityTokenError('The BinarySecurityToken must be an X.509 v3 certificate.');
  }
  try {
    return new X509Certificate(Buffer.from(textOf(token).replace(/\s+/g, ''), 'base64'));
  } catch {
    throw new InvalidSecurityError('The BinarySecurityToken is not a valid X.509 certificate.');
  }
}

function wsuId(el: Element, what: string): string {
  const id = attributeNS(el, NS.wsu, 'Id');
  if (!id) throw new InvalidSecurityError(`The ${what} must carry a wsu:Id for the signature to reference.`);
  return id;
}

// Every wsu:Id in the message, so that a second element claiming a signed ID (a wrapping attempt) is refused.
function countWsuIds(envelope: SoapEnvelope, timestamp: Element, body: Element): number {
  const wanted = new Set([attributeNS(timestamp, NS.wsu, 'Id'), attributeNS(body, NS.wsu, 'Id')]);
  let count = 0;
  const stack: Element[] = [envelope.payload.ownerDocument.documentElement];
  while (stack.length) {
    const el = stack.pop() as Element;
    const id = attributeNS(el, NS.wsu, 'Id') ?? attribute(el, 'Id') ?? attribute(el, 'ID');
    if (id !== undefined && wanted.has(id)) count++;
    stack.push(...childElements(el));
  }
  return count;
}
