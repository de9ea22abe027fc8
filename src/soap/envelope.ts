import { InvalidRequestError, VersionMismatchError } from '../core/errors';
import { childElements, isElement, type XmlElementLike } from '../xml/dom';
import { NS } from '../xml/namespaces';

export type SoapVersion = '1.1' | '1.2';

/** A SOAP envelope read from xmldom's DOM (E = Element) or from the hardened parser's lean tree. */
export interface SoapEnvelope<E extends XmlElementLike = Element> {
  readonly version: SoapVersion;
  readonly header: E | undefined;
  readonly body: E;
  /** The one element inside soap:Body: the operation's request. */
  readonly payload: E;
}

export const soapNamespace = (v: SoapVersion): string => (v === '1.2' ? NS.soap12 : NS.soap11);

/** SOAP 1.2 travels as application/soap+xml, SOAP 1.1 as text/xml (each binding's HTTP rules). */
export function soapVersionFromContentType(contentType: string | undefined): SoapVersion | undefined {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType === 'application/soap+xml') return '1.2';
  if (mediaType === 'text/xml') return '1.1';
  return undefined;
}

/** Checks the envelope's structure and that its namespace agrees with the Content-Type. */
export function readEnvelope<E extends XmlElementLike>(doc: { readonly documentElement: E }, expected: SoapVersion): SoapEnvelope<E> {
  const root = doc.documentElement;
  if (root.localName !== 'Envelope' || (root.namespaceURI !== NS.soap12 && root.namespaceURI !== NS.soap11)) {
    throw new VersionMismatchError('The message is not a SOAP 1.1 or SOAP 1.2 envelope.');
  }
  const version: SoapVersion = root.namespaceURI === NS.soap12 ? '1.2' : '1.1';
  if (version !== expected) {
    throw new VersionMismatchError(
      `A SOAP ${version} envelope was sent with the Content-Type of SOAP ${expected}.`,
    );
  }
  const ns = soapNamespace(version);
  const children = childElements(root);
  let header: E | undefined;
  let body: E | undefined;
  for (const [i, child] of children.entries()) {
    if (isElement(child, ns, 'Header') && i === 0) header = child;
    else if (isElement(child, ns, 'Body') && body === undefined && i === children.length - 1) body = child;
    else throw new InvalidRequestError(`The SOAP envelope has an unexpected element ${child.localName}.`);
  }
  if (!body) throw new InvalidRequestError('The SOAP envelope has no Body.');
  const payload = childElements(body);
  if (payload.length !== 1 || !payload[0]) {
    throw new InvalidRequestError('The SOAP Body must hold exactly one element.');
  }
  return { version, header, body, payload: payload[0] };
}

/** True when a header block carries mustUnderstand="1"/"true" in its envelope's namespace. */
export function mustUnderstand(block: XmlElementLike, version: SoapVersion): boolean {
  const value = block.getAttributeNS(soapNamespace(version), 'mustUnderstand');
  return value === '1' || value === 'true';
}
