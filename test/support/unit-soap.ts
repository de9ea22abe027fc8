// Builders for the small SOAP documents the unit tests parse (through the hardened parser, as the server does).
import { readEnvelope, type SoapEnvelope, type SoapVersion } from '../../src/soap/envelope';
import { NS } from '../../src/xml/namespaces';
import { parseXmlSafely } from '../../src/xml/safe-parse';

export const UNIT_LIMITS = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };

/** A SOAP envelope with the given header blocks and body content, parsed and read. */
export function unitEnvelope(headerBlocks: string | undefined, body: string, version: SoapVersion = '1.2'): SoapEnvelope {
  const s = version === '1.2' ? NS.soap12 : NS.soap11;
  const header = headerBlocks === undefined ? '' : `<s:Header>${headerBlocks}</s:Header>`;
  const xml =
    `<s:Envelope xmlns:s="${s}" xmlns:a="${NS.wsa10}" xmlns:o="${NS.wsse}" xmlns:u="${NS.wsu}">` +
    `${header}<s:Body>${body}</s:Body></s:Envelope>`;
  return readEnvelope(parseXmlSafely(xml, UNIT_LIMITS), version);
}

/** The root element of a small document, parsed with the hardened parser. */
export function unitElement(xml: string): Element {
  return parseXmlSafely(xml, UNIT_LIMITS).documentElement;
}

/** Runs `fn` and returns what it threw (failing if it did not throw). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, none was thrown');
}

/** thrownBy for code that throws Errors: what it threw, failing if that is not an Error. */
export function errorThrownBy(fn: () => unknown): Error {
  const err = thrownBy(fn);
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${String(err)}`);
  return err;
}
