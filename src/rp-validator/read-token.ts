import { decodeStrictBase64 } from '../xml/base64';
import { parseXmlSafely, XmlRejectedError, type XmlLimits } from '../xml/safe-parse';

/** Generous for an assertion or a Response carrying one, tight enough to refuse a flood cheaply. */
const LIMITS: XmlLimits = { maxBytes: 512 * 1024, maxDepth: 32, maxElements: 5000, maxAttributesPerElement: 64 };
const XML_START = /^\uFEFF?\s*</;

export class TokenInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenInputError';
  }
}

export interface TokenDocument {
  readonly root: Element;
  /** The XML text the DOM was parsed from (after base64 decoding). */
  readonly text: string;
}

/**
 * Parses what a relying party received, with the hardened parser: XML, or base64 of it (what the
 * SAML POST binding carries in SAMLResponse). Throws TokenInputError with a message safe to show.
 */
export function readTokenDocument(input: string | Buffer): TokenDocument {
  const raw = typeof input === 'string' ? input : input.toString('utf8');
  let xml = raw;
  if (!XML_START.test(raw)) {
    // Base64 is 4/3 of the bytes it encodes: refuse what cannot decode within the limit before decoding.
    if (raw.length > (LIMITS.maxBytes * 4) / 3 + 4096) throw new TokenInputError(`the token is larger than ${LIMITS.maxBytes} bytes`);
    const bytes = decodeStrictBase64(raw);
    if (!bytes) throw new TokenInputError('the token is neither XML nor base64 of XML');
    xml = bytes.toString('utf8');
    if (!XML_START.test(xml)) throw new TokenInputError('the base64 text does not decode to XML');
  }
  try {
    const document = parseXmlSafely(xml, LIMITS);
    return { root: document.documentElement, text: xml.replace(/^\uFEFF/, '') };
  } catch (err) {
    if (err instanceof XmlRejectedError) throw new TokenInputError(`the token is not acceptable XML: ${err.message}`);
    throw err;
  }
}
