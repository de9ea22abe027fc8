import { strict as assert } from 'node:assert';
import { DOMParser } from '@xmldom/xmldom';
import { NS } from '../../src/xml/namespaces';

// Reading what the STS answered: strict parsing, child-axis navigation, QName resolution.

export function parseStrict(xml: string): Document {
  const problems: string[] = [];
  const record = (msg: string): void => {
    problems.push(msg);
  };
  const doc = new DOMParser({ errorHandler: { warning: record, error: record, fatalError: record } }).parseFromString(
    xml,
    'text/xml',
  ) as unknown as Document;
  assert.deepEqual(problems, [], `the response is not well-formed XML: ${xml.slice(0, 300)}`);
  return doc;
}

export function children(parent: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1 && ((n as Element).namespaceURI ?? '') === ns && (n as Element).localName === localName) {
      out.push(n as Element);
    }
  }
  return out;
}

export function allChildren(parent: Node): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

/** The one child named so; fails the test if there is not exactly one. */
export function only(parent: Node, ns: string, localName: string): Element {
  const found = children(parent, ns, localName);
  assert.equal(found.length, 1, `expected exactly one ${localName} under ${(parent as Element).localName ?? '#document'}`);
  return found[0] as Element;
}

export function path(root: Node, steps: ReadonlyArray<readonly [string, string]>): Element {
  let current: Node = root;
  for (const [ns, name] of steps) current = only(current, ns, name);
  return current as Element;
}

export const text = (el: Element): string => (el.textContent ?? '').trim();

/** A QName in element content resolved against the element's in-scope namespaces. */
export function resolveQName(el: Element): { ns: string | null; local: string } {
  const value = text(el);
  const colon = value.indexOf(':');
  const prefix = colon === -1 ? null : value.slice(0, colon);
  const local = colon === -1 ? value : value.slice(colon + 1);
  return { ns: el.lookupNamespaceURI(prefix), local };
}

export interface ParsedFault {
  readonly soapVersion: '1.1' | '1.2';
  /** SOAP 1.2 top-level code (Sender, Receiver, MustUnderstand, VersionMismatch) in the envelope namespace; for 1.1 undefined. */
  readonly code: { ns: string | null; local: string } | undefined;
  /** The 1.2 Subcode value, or the 1.1 faultcode. */
  readonly subcode: { ns: string | null; local: string } | undefined;
  readonly reason: string;
  readonly requestId: string | undefined;
  readonly relatesTo: string | undefined;
  readonly doc: Document;
}

export function parseFault(xml: string): ParsedFault {
  const doc = parseStrict(xml);
  const env = doc.documentElement;
  assert.equal(env.localName, 'Envelope');
  const soapNs = env.namespaceURI;
  assert.ok(soapNs === NS.soap12 || soapNs === NS.soap11, `not a SOAP envelope: ${soapNs}`);
  const header = children(env, soapNs, 'Header')[0];
  const relatesToEl = header && children(header, NS.wsa10, 'RelatesTo')[0];
  const fault = path(env, [[soapNs, 'Body'], [soapNs, 'Fault']]);
  const requestIdOf = (detail: Element | undefined): string | undefined => {
    const id = detail && children(detail, 'urn:trustbridge:fault', 'RequestId')[0];
    return id ? text(id) : undefined;
  };
  if (soapNs === NS.soap12) {
    const codeEl = only(fault, soapNs, 'Code');
    const code = resolveQName(only(codeEl, soapNs, 'Value'));
    const sub = children(codeEl, soapNs, 'Subcode')[0];
    return {
      soapVersion: '1.2',
      code,
      subcode: sub ? resolveQName(only(sub, soapNs, 'Value')) : undefined,
      reason: text(path(fault, [[soapNs, 'Reason'], [soapNs, 'Text']])),
      requestId: requestIdOf(children(fault, soapNs, 'Detail')[0]),
      relatesTo: relatesToEl ? text(relatesToEl) : undefined,
      doc,
    };
  }
  return {
    soapVersion: '1.1',
    code: undefined,
    subcode: resolveQName(only(fault, '', 'faultcode')),
    reason: text(only(fault, '', 'faultstring')),
    requestId: requestIdOf(children(fault, '', 'detail')[0]),
    relatesTo: relatesToEl ? text(relatesToEl) : undefined,
    doc,
  };
}

export interface ParsedIssueResponse {
  readonly doc: Document;
  readonly soapNs: string;
  readonly rstr: Element;
  readonly assertion: Element;
  /** The assertion's own XML, cut from the response text exactly as sent. */
  readonly assertionXml: string;
  readonly relatesTo: string | undefined;
  readonly action: string | undefined;
}

/** Finds the RSTR the way each client version does: 1.3 inside a Collection, February 2005 bare in the Body. */
export function parseIssueResponse(xml: string, trust: '1.3' | '2005'): ParsedIssueResponse {
  const doc = parseStrict(xml);
  const env = doc.documentElement;
  const soapNs = env.namespaceURI as string;
  const body = only(env, soapNs, 'Body');
  const rstr =
    trust === '1.3'
      ? path(body, [[NS.wst13, 'RequestSecurityTokenResponseCollection'], [NS.wst13, 'RequestSecurityTokenResponse']])
      : only(body, NS.wst2005, 'RequestSecurityTokenResponse');
  const wst = trust === '1.3' ? NS.wst13 : NS.wst2005;
  const assertion = path(rstr, [[wst, 'RequestedSecurityToken'], [NS.saml2, 'Assertion']]);
  const header = children(env, soapNs, 'Header')[0];
  const relatesTo = header && children(header, NS.wsa10, 'RelatesTo')[0];
  const action = header && children(header, NS.wsa10, 'Action')[0];
  return {
    doc,
    soapNs,
    rstr,
    assertion,
    assertionXml: cutAssertion(xml),
    relatesTo: relatesTo ? text(relatesTo) : undefined,
    action: action ? text(action) : undefined,
  };
}

/** The text of the one <Assertion ...>...</Assertion> in a response, byte for byte. */
export function cutAssertion(xml: string): string {
  const start = xml.indexOf('<Assertion ');
  const endTag = '</Assertion>';
  const end = xml.indexOf(endTag, start);
  assert.ok(start !== -1 && end !== -1, 'no SAML Assertion in the response');
  assert.equal(xml.indexOf('<Assertion ', start + 1), -1, 'more than one Assertion in the response');
  return xml.slice(start, end + endTag.length);
}
