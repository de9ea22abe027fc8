import { InvalidAddressingHeaderError, MustUnderstandError } from '../core/errors';
import { childElements, textOf, type XmlElementLike } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { mustUnderstand, type SoapEnvelope } from './envelope';

/** The WS-Addressing headers of a request, in whichever WS-Addressing version it used. */
export interface AddressingHeaders {
  readonly namespace: string;
  readonly action: string | undefined;
  readonly messageId: string | undefined;
  readonly to: string | undefined;
  readonly replyTo: string | undefined;
}

const ADDRESSING_NAMESPACES: readonly string[] = [NS.wsa10, NS.wsa200408];
// Header blocks we process; a mustUnderstand block from any other namespace is refused, as SOAP requires.
const UNDERSTOOD_NAMESPACES: readonly string[] = [...ADDRESSING_NAMESPACES, NS.wsse];

export function readAddressing(envelope: SoapEnvelope<XmlElementLike>): AddressingHeaders {
  const found: Record<string, string> = {};
  let namespace: string = NS.wsa10;
  for (const block of envelope.header ? childElements(envelope.header) : []) {
    const ns = block.namespaceURI ?? '';
    if (!UNDERSTOOD_NAMESPACES.includes(ns)) {
      if (mustUnderstand(block, envelope.version)) {
        throw new MustUnderstandError(`The header block ${block.localName} (${ns}) is not understood.`);
      }
      continue;
    }
    if (!ADDRESSING_NAMESPACES.includes(ns)) continue;
    namespace = ns;
    // ADAL spells MessageID "messageID"; WCF and AD FS accept either, so do we.
    const name = block.localName === 'messageID' ? 'MessageID' : block.localName ?? '';
    if (name in found) throw new InvalidAddressingHeaderError(`The WS-Addressing header ${name} appears twice.`);
    if (name === 'ReplyTo') {
      const address = childElements(block).find((e) => e.localName === 'Address' && e.namespaceURI === ns);
      found[name] = address ? textOf(address) : '';
    } else {
      found[name] = textOf(block);
    }
  }
  return {
    namespace,
    action: found['Action'],
    messageId: found['MessageID'],
    to: found['To'],
    replyTo: found['ReplyTo'],
  };
}

/**
 * The action of a request: wsa:Action, else the SOAP 1.2 Content-Type action parameter or the
 * SOAP 1.1 SOAPAction header (Mono's SOAP 1.1 client sends only the latter). When the envelope
 * and the transport both name one, they must agree, or one of them was tampered with.
 */
export function resolveAction(addressing: AddressingHeaders, transportAction: string | undefined): string | undefined {
  if (addressing.action !== undefined && transportAction !== undefined && transportAction !== '') {
    if (addressing.action !== transportAction) {
      throw new InvalidAddressingHeaderError('The wsa:Action header and the HTTP SOAP action disagree.');
    }
  }
  return addressing.action ?? (transportAction || undefined);
}

/** The action named by HTTP: SOAPAction (quoted) or the action parameter of the Content-Type. */
export function transportActionOf(soapActionHeader: string | undefined, contentType: string | undefined): string | undefined {
  const unquote = (s: string): string => s.trim().replace(/^"(.*)"$/, '$1');
  if (soapActionHeader !== undefined) return unquote(soapActionHeader);
  const param = contentType?.split(';').map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('action='));
  return param === undefined ? undefined : unquote(param.slice('action='.length));
}
