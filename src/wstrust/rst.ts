import { BadRequestError, InvalidRequestError, InvalidTimeRangeError } from '../core/errors';
import { DuplicateElementError, attribute, childElements, singleChild, textOf, type XmlElementLike } from '../xml/dom';
import { decodeStrictBase64 } from '../xml/base64';
import { parseDateTime } from '../xml/datetime';
import type { RenewingPolicy } from '../core/token-service';
import { NS, SAML11_ASSERTION_ID_VALUE_TYPE, SAML2_SAMLID_VALUE_TYPE } from '../xml/namespaces';
import { trustUris, type TrustVersion } from './trust-version';

/**
 * A RequestSecurityToken parsed once, up front, into the values the operations act on. Its
 * elements (UseKey's KeyInfo, inline tokens) are xmldom's (E = Element) except while a plain
 * request is read from the lean tree; see withoutElements.
 */
export interface RequestSecurityToken<E extends XmlElementLike = Element> {
  readonly version: TrustVersion;
  readonly requestType: string;
  readonly tokenType: string | undefined;
  readonly keyType: string | undefined;
  readonly appliesTo: string | undefined;
  readonly lifetime: { readonly created: Date | undefined; readonly expires: Date | undefined } | undefined;
  readonly context: string | undefined;
  readonly renewing: RenewingPolicy | undefined;
  /** The token named by ValidateTarget, RenewTarget or CancelTarget, whichever the request type uses. */
  readonly validateTarget: TokenTarget<E> | undefined;
  readonly renewTarget: TokenTarget<E> | undefined;
  readonly cancelTarget: TokenTarget<E> | undefined;
  /** KeySize in bits, when given. */
  readonly keySize: number | undefined;
  /** The requestor's entropy (an Entropy/BinarySecret), for a computed symmetric proof key. */
  readonly clientEntropy: Buffer | undefined;
  readonly computedKeyAlgorithm: string | undefined;
  /** UseKey's ds:KeyInfo, for a public-key proof. */
  readonly useKey: E | undefined;
  /** The token of the subject a delegated request speaks for (OnBehalfOf or ActAs), inline. */
  readonly delegation: { readonly kind: 'OnBehalfOf' | 'ActAs'; readonly token: E } | undefined;
}

/** A token given inline, or named by a SecurityTokenReference KeyIdentifier (its assertion ID). */
export type TokenTarget<E extends XmlElementLike = Element> =
  | { readonly kind: 'inline'; readonly element: E }
  | { readonly kind: 'reference'; readonly tokenId: string };

const SAML_ID_VALUE_TYPES: readonly string[] = [SAML2_SAMLID_VALUE_TYPE, SAML11_ASSERTION_ID_VALUE_TYPE];

const POLICY_NAMESPACES: readonly string[] = [NS.wsp, NS.wsp15];
const ADDRESSING_NAMESPACES: readonly string[] = [NS.wsa10, NS.wsa200408];

export function readRequestSecurityToken<E extends XmlElementLike>(payload: E, version: TrustVersion): RequestSecurityToken<E> {
  const ns = trustUris(version).ns;
  if (payload.localName !== 'RequestSecurityToken' || payload.namespaceURI !== ns) {
    throw new BadRequestError(
      `The Body must hold a RequestSecurityToken in the WS-Trust ${version} namespace (${ns}).`,
    );
  }
  try {
    const requestTypeEl = singleChild(payload, ns, 'RequestType');
    if (!requestTypeEl) throw new InvalidRequestError('The RequestSecurityToken has no RequestType.');
    const optionalText = (name: string): string | undefined => {
      const el = singleChild(payload, ns, name);
      return el && textOf(el);
    };
    return {
      version,
      requestType: textOf(requestTypeEl),
      tokenType: optionalText('TokenType'),
      keyType: optionalText('KeyType'),
      appliesTo: readAppliesTo(payload),
      lifetime: readLifetime(payload, ns),
      context: payload.getAttribute('Context') || undefined,
      renewing: readRenewing(payload, ns),
      validateTarget: readTarget(payload, ns, 'ValidateTarget'),
      renewTarget: readTarget(payload, ns, 'RenewTarget'),
      cancelTarget: readTarget(payload, ns, 'CancelTarget'),
      keySize: readKeySize(payload, ns),
      clientEntropy: readEntropy(payload, ns),
      computedKeyAlgorithm: optionalText('ComputedKeyAlgorithm'),
      useKey: readUseKey(payload, ns),
      delegation: readDelegation(payload, ns),
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) {
      throw new InvalidRequestError(`The RequestSecurityToken has more than one ${err.localName}.`);
    }
    throw err;
  }
}

/**
 * The RST when it holds no element at all (no inline token, UseKey or OnBehalfOf/ActAs token), so
 * nothing in it is read further or verified: then it does not matter which tree it was read from.
 * Undefined otherwise, and the request must be read from xmldom's DOM.
 */
export function withoutElements<E extends XmlElementLike>(rst: RequestSecurityToken<E>): RequestSecurityToken<never> | undefined {
  const { validateTarget, renewTarget, cancelTarget } = rst;
  if (rst.useKey !== undefined || rst.delegation !== undefined) return undefined;
  if (validateTarget?.kind === 'inline' || renewTarget?.kind === 'inline' || cancelTarget?.kind === 'inline') return undefined;
  return { ...rst, useKey: undefined, delegation: undefined, validateTarget, renewTarget, cancelTarget };
}

function readAppliesTo(rst: XmlElementLike): string | undefined {
  const appliesTo = singleChild(rst, POLICY_NAMESPACES, 'AppliesTo');
  if (!appliesTo) return undefined;
  const epr = singleChild(appliesTo, ADDRESSING_NAMESPACES, 'EndpointReference');
  const address = epr && singleChild(epr, ADDRESSING_NAMESPACES, 'Address');
  if (!address || childElements(appliesTo).length !== 1) {
    throw new InvalidRequestError('AppliesTo must hold one wsa:EndpointReference with an Address.');
  }
  const value = textOf(address);
  if (value === '') throw new InvalidRequestError('The AppliesTo address is empty.');
  return value;
}

function readLifetime(rst: XmlElementLike, ns: string): RequestSecurityToken['lifetime'] {
  const lifetime = singleChild(rst, ns, 'Lifetime');
  if (!lifetime) return undefined;
  const read = (name: string): Date | undefined => {
    const el = singleChild(lifetime, NS.wsu, name);
    if (!el) return undefined;
    const d = parseDateTime(textOf(el));
    if (!d) throw new InvalidTimeRangeError(`The Lifetime ${name} is not a UTC xsd:dateTime.`);
    return d;
  };
  return { created: read('Created'), expires: read('Expires') };
}

function readRenewing(rst: XmlElementLike, ns: string): RenewingPolicy | undefined {
  const renewing = singleChild(rst, ns, 'Renewing');
  if (!renewing) return undefined;
  const flag = (name: string, fallback: boolean): boolean => {
    const value = attribute(renewing, name);
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new InvalidRequestError(`Renewing/@${name} must be true or false.`);
  };
  return { allow: flag('Allow', true), afterExpiry: flag('OK', false) };
}

function readTarget<E extends XmlElementLike>(rst: E, ns: string, name: string): TokenTarget<E> | undefined {
  const target = singleChild(rst, ns, name);
  if (!target) return undefined;
  const [content, ...rest] = childElements(target);
  if (!content || rest.length > 0) throw new InvalidRequestError(`${name} must hold exactly one token or token reference.`);
  if (content.namespaceURI !== NS.wsse || content.localName !== 'SecurityTokenReference') {
    return { kind: 'inline', element: content };
  }
  const keyIdentifier = singleChild(content, NS.wsse, 'KeyIdentifier');
  if (!keyIdentifier || !SAML_ID_VALUE_TYPES.includes(attribute(keyIdentifier, 'ValueType') ?? '')) {
    throw new InvalidRequestError(`${name} references a token by something other than its SAML assertion ID.`);
  }
  const tokenId = textOf(keyIdentifier);
  if (tokenId === '') throw new InvalidRequestError(`${name} references an empty token ID.`);
  return { kind: 'reference', tokenId };
}

function readKeySize(rst: XmlElementLike, ns: string): number | undefined {
  const el = singleChild(rst, ns, 'KeySize');
  if (!el) return undefined;
  const text = textOf(el);
  if (!/^\d{1,5}$/.test(text)) throw new InvalidRequestError('KeySize must be a whole number of bits.');
  return Number(text);
}

function readEntropy(rst: XmlElementLike, ns: string): Buffer | undefined {
  const entropy = singleChild(rst, ns, 'Entropy');
  if (!entropy) return undefined;
  const secret = singleChild(entropy, ns, 'BinarySecret');
  const bytes = secret && childElements(entropy).length === 1 ? decodeStrictBase64(textOf(secret)) : undefined;
  if (!bytes) throw new InvalidRequestError('Entropy must hold one base64 BinarySecret (encrypted entropy is not accepted).');
  return bytes;
}

function readUseKey<E extends XmlElementLike>(rst: E, ns: string): E | undefined {
  const useKey = singleChild(rst, ns, 'UseKey');
  if (!useKey) return undefined;
  const [keyInfo, ...rest] = childElements(useKey);
  if (!keyInfo || rest.length || keyInfo.namespaceURI !== NS.ds || keyInfo.localName !== 'KeyInfo') {
    throw new InvalidRequestError('UseKey must hold one ds:KeyInfo with the key to use.');
  }
  return keyInfo;
}

function readDelegation<E extends XmlElementLike>(rst: E, ns: string): RequestSecurityToken<E>['delegation'] {
  const onBehalfOf = singleChild(rst, ns, 'OnBehalfOf');
  const actAs = singleChild(rst, [NS.wst14, ns], 'ActAs');
  if (onBehalfOf && actAs) throw new InvalidRequestError('A request may carry OnBehalfOf or ActAs, not both.');
  const holder = onBehalfOf ?? actAs;
  if (!holder) return undefined;
  const kind = onBehalfOf ? 'OnBehalfOf' : 'ActAs';
  const [token, ...rest] = childElements(holder);
  if (!token || rest.length > 0 || (token.namespaceURI === NS.wsse && token.localName === 'SecurityTokenReference')) {
    throw new InvalidRequestError(`${kind} must hold exactly one token, inline.`);
  }
  return { kind, token };
}
