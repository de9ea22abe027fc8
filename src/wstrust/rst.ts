import { BadRequestError, InvalidRequestError, InvalidTimeRangeError } from '../core/errors';
import { DuplicateElementError, childElements, singleChild, textOf } from '../xml/dom';
import { parseDateTime } from '../xml/datetime';
import { NS } from '../xml/namespaces';
import { trustUris, type TrustVersion } from './trust-version';

/** A RequestSecurityToken parsed once, up front, into the values the operations act on. */
export interface RequestSecurityToken {
  readonly version: TrustVersion;
  readonly requestType: string;
  readonly tokenType: string | undefined;
  readonly keyType: string | undefined;
  readonly appliesTo: string | undefined;
  readonly lifetime: { readonly created: Date | undefined; readonly expires: Date | undefined } | undefined;
  readonly context: string | undefined;
}

const POLICY_NAMESPACES: readonly string[] = [NS.wsp, NS.wsp15];
const ADDRESSING_NAMESPACES: readonly string[] = [NS.wsa10, NS.wsa200408];

export function readRequestSecurityToken(payload: Element, version: TrustVersion): RequestSecurityToken {
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
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) {
      throw new InvalidRequestError(`The RequestSecurityToken has more than one ${err.localName}.`);
    }
    throw err;
  }
}

function readAppliesTo(rst: Element): string | undefined {
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

function readLifetime(rst: Element, ns: string): RequestSecurityToken['lifetime'] {
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
