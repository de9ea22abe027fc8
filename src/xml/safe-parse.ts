import { DOMParser } from '@xmldom/xmldom';
import { domOfLeanTree } from './lean-dom';
import { LeanBuilder, type LeanDocument } from './lean-tree';

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
 * that it has no DTD and stays within the size, depth, element and attribute limits. The DOM is
 * xmldom's, made from the checking pass's tree when the document is plain enough (see CheckedXml).
 */
export function parseXmlSafely(input: Buffer | string, limits: XmlLimits): Document {
  return checkXmlSafely(input, limits, false).dom();
}

/**
 * XML that passed every check of the hardened parser (no DTD, UTF-8, within the limits,
 * well-formed tag structure), with its lean tree when one was asked for and the document is
 * plain enough for it and holds nothing signed (otherwise `lean` is undefined), and its xmldom DOM
 * on demand.
 */
export interface CheckedXml {
  /** The text every check ran on, and the one the DOM is made from (a leading BOM removed). */
  readonly text: string;
  readonly lean: LeanDocument | undefined;
  /**
   * The hardened xmldom DOM of `text`, made on first use: from the checking pass's tree when that
   * tree holds every node xmldom's parser would make (src/xml/lean-dom.ts), by xmldom's parser
   * otherwise. The two are the same DOM; the first costs a fifth of the second.
   */
  dom(): Document;
  /** Whether dom() is made from the checking pass's tree (false: by xmldom's parser). */
  readonly domFromTree: boolean;
}

/**
 * The hardened parser's checks, in one linear pass over the text that also builds the lean tree.
 * A lean tree is returned (`lean`, when `readLean`) only when it reads exactly as xmldom's DOM
 * would and holds nothing signed: anything outside the plain subset it handles (see LeanBuilder)
 * leaves it undefined, and the caller reads the DOM instead, so the same documents are accepted and
 * refused either way.
 */
export function checkXmlSafely(input: Buffer | string, limits: XmlLimits, readLean: boolean): CheckedXml {
  const byteLength = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (byteLength > limits.maxBytes) {
    throw new XmlRejectedError('too-large', `the XML is larger than ${limits.maxBytes} bytes`);
  }
  let text = typeof input === 'string' ? input : input.toString('utf8');
  if (text.startsWith(UTF8_BOM)) text = text.slice(1);
  if (text.includes('<!') && DTD_MARKERS.test(text)) {
    throw new XmlRejectedError('doctype', 'a DOCTYPE or entity declaration is not allowed');
  }
  // xmldom keeps characters XML 1.0 forbids (U+0000, most C0 controls), literal or referenced; they
  // would reach replies (RelatesTo) and signed tokens (a delegated NameID), which would then not be XML.
  if (NOT_XML_CHARACTER.test(text)) throw new XmlRejectedError('malformed', 'the XML holds a character XML does not allow');
  const encoding = ENCODING_DECLARATION.exec(text)?.[1]?.toLowerCase();
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') {
    throw new XmlRejectedError('unsupported-encoding', `only UTF-8 is accepted, not ${encoding}`);
  }
  // xmldom normalises line ends before parsing; the lean tree does not, so such text goes to xmldom.
  const builder = hasLineEndsXmldomRewrites(text) ? undefined : new LeanBuilder(text);
  checkShape(text, limits, builder);
  const tree = builder?.wholeTree();
  let doc: Document | undefined;
  return {
    text,
    lean: readLean ? builder?.result() : undefined,
    dom: () => (doc ??= tree ? domOfLeanTree(tree) : parseWithXmldom(text)),
    domFromTree: tree !== undefined,
  };
}

/**
 * xmldom's own parser over text the checks have passed (checkXmlSafely's `text`): what makes the DOM
 * when the checking pass's tree cannot. A parse error of any kind is a malformed document.
 */
export function parseWithXmldom(text: string): Document {
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
const CHARACTER_REFERENCE = /&#(?:(\d+)|x([0-9A-Fa-f]+));/g;
// Outside XML 1.0's Char production (surrogates are refused as references, and cannot come from UTF-8).
const NOT_XML_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Whether a character reference names a character XML 1.0 allows (its Char production). */
function isXmlCharacter(code: number): boolean {
  if (code < 0x20) return code === 0x09 || code === 0x0a || code === 0x0d;
  return code <= 0xd7ff || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** Whether `slice` holds a character reference to something XML does not allow (&#0;, &#xD800;, beyond U+10FFFF). */
function forbiddenReferenceIn(slice: string): boolean {
  if (!slice.includes('&#')) return false;
  for (const m of slice.matchAll(CHARACTER_REFERENCE)) {
    const digits = m[1] ?? (m[2] as string);
    if (digits.length > 8 || !isXmlCharacter(parseInt(digits, m[1] === undefined ? 16 : 10))) return true;
  }
  return false;
}

function hasLineEndsXmldomRewrites(text: string): boolean {
  return text.includes('\r') || text.includes('\u0085') || text.includes('\u2028');
}

/**
 * Finds stray ampersands in one forward sweep: remembers where the next "&" is, so each tag or text
 * segment costs its own length, however few ampersands the document has.
 */
class AmpersandScan {
  private next = -1;
  constructor(private readonly text: string) {}

  /**
   * Whether `text[from, to)` holds an ampersand that starts no entity or character reference, or a
   * character reference to a character XML does not allow.
   */
  badAmpersandIn(from: number, to: number): boolean {
    if (this.next < from) {
      this.next = this.text.indexOf('&', from);
      if (this.next === -1) this.next = this.text.length;
    }
    if (this.next >= to) return false;
    const slice = this.text.slice(this.next, to);
    return BARE_AMPERSAND.test(slice) || forbiddenReferenceIn(slice);
  }
}

/**
 * One linear pass over the text that checks well-formedness of the tag structure (matching end
 * tags, one root, nothing but white space outside it, no stray ampersand) and counts elements,
 * depth and attributes: a hostile document is refused in microseconds. With a builder it also
 * hands each start tag, end tag, text and CDATA inside the root to it, after that item's checks.
 */
function checkShape(text: string, limits: XmlLimits, builder: LeanBuilder | undefined): void {
  const open: string[] = [];
  const ampersands = new AmpersandScan(text);
  let elements = 0;
  let roots = 0;
  let i = text.indexOf('<');
  checkOutsideText(text, 0, i === -1 ? text.length : i);
  while (i !== -1) {
    const next = text.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      const start = i;
      i = skipMarkup(text, i);
      builder?.markup(start, i, open.length > 0);
    } else if (next === 0x3f /* ? */) {
      i = requireEnd(text, i, '?>');
      builder?.instruction(open.length > 0);
    } else if (next === 0x2f /* / */) {
      const end = requireEnd(text, i, '>');
      const name = open.pop();
      if (!endTagNames(text, i, end, name)) throw malformed();
      builder?.endTag(i, end, name as string);
      i = end;
    } else {
      const tag = scanStartTag(text, i);
      const nameEnd = tagNameEnd(text, i + 1);
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
      if (ampersands.badAmpersandIn(i, tag.end)) throw malformed();
      const name = text.slice(i + 1, nameEnd);
      if (!tag.selfClosing) {
        open.push(name);
        if (open.length > limits.maxDepth) {
          throw new XmlRejectedError('too-deep', `the XML is nested deeper than ${limits.maxDepth} levels`);
        }
      }
      builder?.startTag(i, name, tag.end, tag.selfClosing);
      i = tag.end;
    }
    const following = text.indexOf('<', i);
    const segmentEnd = following === -1 ? text.length : following;
    if (open.length === 0) checkOutsideText(text, i, segmentEnd);
    else {
      if (ampersands.badAmpersandIn(i, segmentEnd)) throw malformed();
      if (segmentEnd > i) builder?.text(i, segmentEnd);
    }
    i = following;
  }
  if (roots === 0) throw new XmlRejectedError('malformed', 'the XML has no root element');
  if (open.length > 0) throw malformed();
}

/** Whether the end tag `text[start, end)` names `name` (white space around the name allowed). */
function endTagNames(text: string, start: number, end: number, name: string | undefined): boolean {
  if (name === undefined) return false;
  if (end - 1 === start + 2 + name.length && text.startsWith(name, start + 2)) return true;
  return text.slice(start + 2, end - 1).trim() === name;
}

/** Outside the root element only white space may appear. */
function checkOutsideText(text: string, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) continue;
    if (text.slice(k, to).trim() !== '') throw malformed();
    return;
  }
}

/** Where the tag name starting at `from` ends (at white space, "/" or ">"); throws if it is empty. */
function tagNameEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && !isNameEnd(text.charCodeAt(end))) end++;
  if (end === from) throw malformed();
  return end;
}

const NAME_END = /[\s/>]/;
function isNameEnd(c: number): boolean {
  if (c < 0x80) return c === 0x2f || c === 0x3e || c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return NAME_END.test(String.fromCharCode(c));
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
