import { DOMParser } from '@xmldom/xmldom';

export interface XmlLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributesPerElement: number;
}

export type XmlRejection =
  | 'too-large'
  | 'doctype'
  | 'too-deep'
  | 'too-many-elements'
  | 'too-many-attributes'
  | 'unsupported-encoding'
  | 'malformed';

/** Raised for any input the hardened parser refuses; the message is safe to show to the sender. */
export class XmlRejectedError extends Error {
  constructor(
    readonly rejection: XmlRejection,
    message: string,
  ) {
    super(message);
    this.name = 'XmlRejectedError';
  }
}

const UTF8_BOM = '\uFEFF';
// A DTD is the only way to declare entities; refusing it outright, before any parser sees the
// text, closes billion-laughs, XXE and parameter-entity tricks in one place.
const DTD_MARKERS = /<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i;
const ENCODING_DECLARATION = /^<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/;

/**
 * Parses untrusted XML into a DOM after checking, on the raw text and before building anything,
 * that it has no DTD and stays within the size, depth, element and attribute limits.
 */
export function parseXmlSafely(input: Buffer | string, limits: XmlLimits): Document {
  const byteLength = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (byteLength > limits.maxBytes) {
    throw new XmlRejectedError('too-large', `the XML is larger than ${limits.maxBytes} bytes`);
  }
  let text = typeof input === 'string' ? input : input.toString('utf8');
  if (text.startsWith(UTF8_BOM)) text = text.slice(1);
  if (DTD_MARKERS.test(text)) {
    throw new XmlRejectedError('doctype', 'a DOCTYPE or entity declaration is not allowed');
  }
  const encoding = ENCODING_DECLARATION.exec(text)?.[1]?.toLowerCase();
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') {
    throw new XmlRejectedError('unsupported-encoding', `only UTF-8 is accepted, not ${encoding}`);
  }
  checkShape(text, limits);
  return buildDom(text);
}

function buildDom(text: string): Document {
  let problem: string | undefined;
  const parser = new DOMParser({
    errorHandler: {
      warning: () => undefined,
      error: (msg: string) => {
        problem ??= msg;
      },
      fatalError: (msg: string) => {
        problem ??= msg;
      },
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, 'application/xml');
  } catch {
    throw new XmlRejectedError('malformed', 'the XML is not well-formed');
  }
  if (problem !== undefined || !doc || !doc.documentElement) {
    throw new XmlRejectedError('malformed', 'the XML is not well-formed');
  }
  return doc;
}

// An ampersand must start an entity or character reference; the five predefined entities are the
// only names that can resolve, since DTDs are refused.
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);)/;
const NAME_END = /[\s/>]/;

/**
 * One linear pass over the text that checks well-formedness of the tag structure (matching end
 * tags, one root, nothing but white space outside it, no stray ampersand) and counts elements,
 * depth and attributes, without building anything: a hostile document is refused in microseconds.
 */
function checkShape(text: string, limits: XmlLimits): void {
  const open: string[] = [];
  let elements = 0;
  let roots = 0;
  let i = text.indexOf('<');
  checkText(text.slice(0, i === -1 ? text.length : i), true);
  while (i !== -1) {
    const next = text.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      i = skipMarkup(text, i);
    } else if (next === 0x3f /* ? */) {
      i = requireEnd(text, i, '?>');
    } else if (next === 0x2f /* / */) {
      const end = requireEnd(text, i, '>');
      if (text.slice(i + 2, end - 1).trim() !== open.pop()) throw malformed();
      i = end;
    } else {
      const tag = scanStartTag(text, i);
      const name = tagName(text, i + 1);
      elements++;
      if (open.length === 0) roots++;
      if (roots > 1) throw new XmlRejectedError('malformed', 'the XML has more than one root element');
      if (elements > limits.maxElements) {
        throw new XmlRejectedError('too-many-elements', `the XML has more than ${limits.maxElements} elements`);
      }
      if (tag.attributes > limits.maxAttributesPerElement) {
        throw new XmlRejectedError(
          'too-many-attributes',
          `an element has more than ${limits.maxAttributesPerElement} attributes`,
        );
      }
      if (BARE_AMPERSAND.test(text.slice(i, tag.end))) throw malformed();
      if (!tag.selfClosing) {
        open.push(name);
        if (open.length > limits.maxDepth) {
          throw new XmlRejectedError('too-deep', `the XML is nested deeper than ${limits.maxDepth} levels`);
        }
      }
      i = tag.end;
    }
    const following = text.indexOf('<', i);
    checkText(text.slice(i, following === -1 ? text.length : following), open.length === 0);
    i = following;
  }
  if (roots === 0) throw new XmlRejectedError('malformed', 'the XML has no root element');
  if (open.length > 0) throw malformed();
}

function checkText(segment: string, outsideRoot: boolean): void {
  if (outsideRoot ? segment.trim() !== '' : BARE_AMPERSAND.test(segment)) throw malformed();
}

function tagName(text: string, from: number): string {
  let end = from;
  while (end < text.length && !NAME_END.test(text.charAt(end))) end++;
  if (end === from) throw malformed();
  return text.slice(from, end);
}

const malformed = (): XmlRejectedError => new XmlRejectedError('malformed', 'the XML is not well-formed');

function requireEnd(text: string, from: number, terminator: string): number {
  const end = text.indexOf(terminator, from);
  if (end === -1) throw malformed();
  return end + terminator.length;
}

function skipMarkup(text: string, i: number): number {
  if (text.startsWith('<!--', i)) return requireEnd(text, i + 4, '-->');
  if (text.startsWith('<![CDATA[', i)) return requireEnd(text, i + 9, ']]>');
  throw malformed();
}

function scanStartTag(text: string, start: number): { end: number; attributes: number; selfClosing: boolean } {
  let attributes = 0;
  let quote = 0;
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3d /* = */) {
      attributes++;
    } else if (c === 0x3e /* > */) {
      return { end: i + 1, attributes, selfClosing: text.charCodeAt(i - 1) === 0x2f };
    }
  }
  throw malformed();
}
