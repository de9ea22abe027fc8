// The lean tree: what the hardened parser's one linear pass (src/xml/safe-parse.ts) builds of a
// document as it checks it. It carries exactly what the readers look at through src/xml/dom.ts
// (names resolved to namespaces, attributes, text and CDATA) with the same values xmldom would give,
// and where each element sits in the text. It is read-only and has no serialiser. It has two uses:
// a plain request (nothing signed, no token) is read from it directly (LeanBuilder.result), and
// any other document's xmldom DOM is made from it (src/xml/lean-dom.ts, LeanBuilder.wholeTree)
// instead of by xmldom's parser, when it holds every node that parser would make inside the root.
// Signatures are always verified on, and tokens always read from, that DOM.

import type { XmlElementLike, XmlNodeLike } from './dom';
import { NS } from './namespaces';

export type LeanNode = LeanElement | LeanText;

/** A text (nodeType 3) or CDATA section (nodeType 4), its value decoded as xmldom decodes it. */
export class LeanText implements XmlNodeLike {
  readonly firstChild = null;
  nextSibling: LeanNode | null = null;
  constructor(
    readonly nodeType: 3 | 4,
    readonly nodeValue: string,
  ) {}
}

export class LeanAttribute {
  constructor(
    /** The qualified name as written (`o:Type`, `xmlns:o`, `Type`). */
    readonly name: string,
    readonly namespaceURI: string | null,
    readonly localName: string,
    readonly value: string,
  ) {}
}

export class LeanElement implements XmlElementLike {
  readonly nodeType = 1;
  readonly nodeValue = null;
  firstChild: LeanNode | null = null;
  lastChild: LeanNode | null = null;
  nextSibling: LeanNode | null = null;
  /** Index just past the element's end tag (or its self-closing start tag) in the parsed text. */
  end = -1;

  constructor(
    readonly tagName: string,
    readonly localName: string,
    readonly namespaceURI: string | null,
    readonly attributes: readonly LeanAttribute[],
    /** Index of the element's `<` in the parsed text. */
    readonly start: number,
  ) {}

  getAttribute(qualifiedName: string): string | null {
    for (const a of this.attributes) if (a.name === qualifiedName) return a.value;
    return null;
  }

  hasAttribute(qualifiedName: string): boolean {
    return this.getAttribute(qualifiedName) !== null;
  }

  getAttributeNS(namespace: string | null, localName: string): string | null {
    const ns = namespace === '' ? null : namespace;
    for (const a of this.attributes) if (a.localName === localName && a.namespaceURI === ns) return a.value;
    return null;
  }

  hasAttributeNS(namespace: string | null, localName: string): boolean {
    return this.getAttributeNS(namespace, localName) !== null;
  }

  appendChild(node: LeanNode): void {
    if (this.lastChild === null) this.firstChild = node;
    else this.lastChild.nextSibling = node;
    this.lastChild = node;
  }
}

/** A parsed request as a lean tree. */
export interface LeanDocument {
  readonly documentElement: LeanElement;
}

// The builder. It is handed only what the hardened parser's checking pass has already accepted,
// and builds a tree only while the document stays inside a plain subset of XML on which it agrees
// exactly with xmldom 0.8 (names, namespace resolution, attribute-value normalisation, entity and
// character references, text and CDATA). At the first thing outside that subset it gives up, and
// the document is read through xmldom, which remains the judge of everything unusual: an end tag
// other than exactly `</name>`, a name outside ASCII, white space other than space, tab and line
// feed inside a tag, an attribute without quotes or without a space before it, a "<" in an
// attribute value, the same attribute twice (by name or by namespace), an undeclared prefix, an
// undeclaration (`xmlns:p=""`, `xmlns=""`), `xml` or `xmlns` rebound, the XHTML namespace (xmldom
// treats its script and textarea specially), a character reference above U+10FFFF, CDATA outside
// the root. Line ends xmldom rewrites (CR, NEL, LS) are sent to xmldom before the pass starts.
// Past a ds:Signature or one of WS-Trust's token and key holders (ValidateTarget, RenewTarget,
// CancelTarget, OnBehalfOf, ActAs, UseKey) it goes on building, but the tree is then only the
// DOM's source (wholeTree), never read as a lean tree (result): such requests are read from a DOM.

// WS-Trust's elements that hold a token or a key (whatever their namespace, to be safe).
const TOKEN_HOLDERS = new Set(['ValidateTarget', 'RenewTarget', 'CancelTarget', 'OnBehalfOf', 'ActAs', 'UseKey']);
const KNOWN_NAMESPACES = new Map<string, string>(
  [...Object.values(NS), NS.wst13, NS.wst2005].map((uri): [string, string] => [uri, uri]),
);
const REFERENCE = /&(?:(amp)|(lt)|(gt)|(quot)|(apos)|#(\d+)|#x([0-9A-Fa-f]+));/g;
const PREDEFINED = ['&', '<', '>', '"', "'"];
const ATTRIBUTE_WHITE_SPACE = /[\t\n]/g;

class GiveUp extends Error {}
const giveUp = new GiveUp();

/**
 * Builds the lean tree from the items checkShape hands it (each already checked); result() is
 * undefined when the document left the plain subset.
 */
export class LeanBuilder {
  private readonly stack: LeanElement[] = [];
  private root: LeanElement | undefined;
  private failed = false;
  // A ds:Signature or a token holder was seen: what is signed or carries a token is read from a DOM.
  private holdsSignedOrToken = false;
  // A comment or processing instruction inside the root: xmldom makes a node of it, the tree does not.
  private leftOutNodes = false;
  // In-scope namespace declarations, innermost last; each element records how many it added.
  private readonly prefixes: string[] = ['xml'];
  private readonly uris: string[] = [NS.xml];
  private readonly declared: number[] = [];

  constructor(private readonly source: string) {}

  /** The lean tree for reading, if the document stayed in the plain subset and holds nothing signed. */
  result(): LeanDocument | undefined {
    if (this.failed || this.holdsSignedOrToken || this.root === undefined) return undefined;
    return { documentElement: this.root };
  }

  /**
   * The tree of a document in the plain subset, signed parts and tokens included: what
   * src/xml/lean-dom.ts builds an xmldom DOM from. Undefined if the document left the subset, or
   * holds a comment or processing instruction inside its root (xmldom makes nodes of them, which a
   * signature's canonical form or holdsProcessingInstruction would see).
   */
  wholeTree(): LeanDocument | undefined {
    if (this.failed || this.leftOutNodes || this.root === undefined) return undefined;
    return { documentElement: this.root };
  }

  startTag(start: number, tagName: string, end: number, selfClosing: boolean): void {
    if (this.failed) return;
    try {
      const element = this.readStartTag(start, tagName, end, selfClosing);
      const parent = this.stack[this.stack.length - 1];
      if (parent) parent.appendChild(element);
      else this.root = element;
      if (selfClosing) {
        element.end = end;
        this.popScope();
      } else this.stack.push(element);
    } catch (err) {
      if (err !== giveUp) throw err;
      this.failed = true;
    }
  }

  endTag(start: number, end: number, name: string): void {
    if (this.failed) return;
    // Exactly `</name>`: xmldom matches other spellings by its own rules, not always as nesting does.
    if (end - start !== name.length + 3) {
      this.failed = true;
      return;
    }
    const element = this.stack.pop() as LeanElement;
    element.end = end;
    this.popScope();
  }

  text(from: number, to: number): void {
    if (this.failed) return;
    const raw = this.source.slice(from, to);
    const value = raw.includes('&') ? decodeReferences(raw) : raw;
    if (value === undefined) this.failed = true;
    else (this.stack[this.stack.length - 1] as LeanElement).appendChild(new LeanText(3, value));
  }

  /** A comment or CDATA section from `from` to `to`; `inside` when it is inside the root element. */
  markup(from: number, to: number, inside: boolean): void {
    if (this.failed) return;
    if (this.source.charCodeAt(from + 2) !== 0x5b /* [ */) {
      // A comment: readers skip it, but a DOM would hold it.
      if (inside) this.leftOutNodes = true;
      return;
    }
    if (!inside) {
      this.failed = true;
      return;
    }
    if (to - 3 > from + 9) {
      (this.stack[this.stack.length - 1] as LeanElement).appendChild(new LeanText(4, this.source.slice(from + 9, to - 3)));
    }
  }

  /** A processing instruction; `inside` when it is inside the root element. */
  instruction(inside: boolean): void {
    if (inside) this.leftOutNodes = true;
  }

  private readStartTag(start: number, tagName: string, end: number, selfClosing: boolean): LeanElement {
    const text = this.source;
    const tagColon = qualifiedNameColon(text, start + 1, start + 1 + tagName.length);
    // Attributes: (white space, name, white space?, "=", white space?, quoted value)*, white space?, "/"? ">".
    const names: string[] = [];
    const values: string[] = [];
    let declarations = 0;
    let p = start + 1 + tagName.length;
    const last = selfClosing ? end - 2 : end - 1;
    for (;;) {
      const spaceFrom = p;
      p = skipWhiteSpace(text, p);
      if (p >= last) break;
      if (p === spaceFrom) throw giveUp;
      const nameStart = p;
      while (p < last && !isAttributeNameEnd(text.charCodeAt(p))) p++;
      qualifiedNameColon(text, nameStart, p);
      const name = text.slice(nameStart, p);
      if (names.includes(name)) throw giveUp;
      p = skipWhiteSpace(text, p);
      if (text.charCodeAt(p) !== 0x3d /* = */) throw giveUp;
      p = skipWhiteSpace(text, p + 1);
      const quote = text.charCodeAt(p);
      if (quote !== 0x22 && quote !== 0x27) throw giveUp;
      const close = text.indexOf(quote === 0x22 ? '"' : "'", p + 1);
      if (close === -1 || close >= last) throw giveUp;
      const raw = text.slice(p + 1, close);
      if (raw.includes('<')) throw giveUp;
      const normalised = raw.includes('\t') || raw.includes('\n') ? raw.replace(ATTRIBUTE_WHITE_SPACE, ' ') : raw;
      const value = normalised.includes('&') ? decodeReferences(normalised) : normalised;
      if (value === undefined) throw giveUp;
      if (name.startsWith('xmlns') && (name.length === 5 || name.charCodeAt(5) === 0x3a)) declarations++;
      names.push(name);
      values.push(value);
      p = close + 1;
    }
    if (p !== last) throw giveUp;

    // Namespace declarations first: they apply to the element's own name and attributes.
    if (declarations > 0) {
      for (let k = 0; k < names.length; k++) {
        const name = names[k] as string;
        if (!name.startsWith('xmlns') || (name.length !== 5 && name.charCodeAt(5) !== 0x3a)) continue;
        const prefix = name.length === 5 ? '' : name.slice(6);
        const value = values[k] as string;
        if (value === '' || prefix === 'xml' || prefix === 'xmlns' || value === NS.xml || value === NS.xmlns) throw giveUp;
        // The protocol's own namespaces as the very constants the readers compare with (=== is then a pointer check).
        const uri = KNOWN_NAMESPACES.get(value) ?? value;
        this.prefixes.push(prefix);
        this.uris.push(uri);

      }
    }
    this.declared.push(declarations);

    const attributes: LeanAttribute[] = [];
    for (let k = 0; k < names.length; k++) {
      const name = names[k] as string;
      const colon = name.indexOf(':');
      let namespaceURI: string | null = null;
      let localName = name;
      if (name === 'xmlns') namespaceURI = NS.xmlns;
      else if (colon > 0) {
        const prefix = name.slice(0, colon);
        localName = name.slice(colon + 1);
        const uri = prefix === 'xmlns' ? NS.xmlns : this.resolve(prefix);
        if (uri === undefined) throw giveUp;
        namespaceURI = uri;
        for (const other of attributes) {
          if (other.namespaceURI === namespaceURI && other.localName === localName) throw giveUp;
        }
      }
      attributes.push(new LeanAttribute(name, namespaceURI, localName, values[k] as string));
    }

    const prefix = tagColon > 0 ? tagName.slice(0, tagColon) : '';
    if (prefix === 'xmlns' || prefix === 'xml') throw giveUp;
    const namespaceURI = this.resolve(prefix);
    if (namespaceURI === undefined && prefix !== '') throw giveUp;
    if (namespaceURI === NS.xhtml) throw giveUp;
    const localName = tagColon > 0 ? tagName.slice(tagColon + 1) : tagName;
    if ((namespaceURI === NS.ds && localName === 'Signature') || TOKEN_HOLDERS.has(localName)) this.holdsSignedOrToken = true;
    return new LeanElement(tagName, localName, namespaceURI ?? null, attributes, start);
  }

  private resolve(prefix: string): string | undefined {
    for (let k = this.prefixes.length - 1; k >= 0; k--) if (this.prefixes[k] === prefix) return this.uris[k];
    return undefined;
  }

  private popScope(): void {
    let added = this.declared.pop() ?? 0;
    for (; added > 0; added--) {
      this.prefixes.pop();
      this.uris.pop();
    }
  }
}

/**
 * Checks that `text[from, to)` is an ASCII qualified name (`[A-Za-z_][-.0-9A-Za-z_]*`, optionally
 * `:` and another such part; a subset of what xmldom accepts) and returns the colon's index
 * relative to `from`, or -1; gives up on anything else.
 */
function qualifiedNameColon(text: string, from: number, to: number): number {
  let colon = -1;
  let partStart = from;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (k === partStart) {
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f)) throw giveUp;
    } else if (c === 0x3a /* : */) {
      if (colon !== -1) throw giveUp;
      colon = k - from;
      partStart = k + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e)) {
      throw giveUp;
    }
  }
  if (partStart >= to) throw giveUp;
  return colon;
}

function skipWhiteSpace(text: string, p: number): number {
  for (;;) {
    const c = text.charCodeAt(p);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09) return p;
    p++;
  }
}

function isAttributeNameEnd(c: number): boolean {
  return c === 0x3d || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x2f || c === 0x3e || c === 0x22 || c === 0x27;
}

/**
 * Replaces the five predefined entities and character references as xmldom does; undefined for a
 * character reference xmldom would turn into something other than that character.
 */
function decodeReferences(s: string): string | undefined {
  let impossible = false;
  const decoded = s.replace(REFERENCE, (_m, amp, lt, gt, quot, apos, dec: string | undefined, hex: string | undefined) => {
    if (dec === undefined && hex === undefined) {
      return PREDEFINED[amp ? 0 : lt ? 1 : gt ? 2 : quot ? 3 : apos ? 4 : 0] as string;
    }
    const digits = (dec ?? hex) as string;
    if (digits.length > 8) {
      impossible = true;
      return '';
    }
    const code = dec !== undefined ? parseInt(dec, 10) : parseInt(hex as string, 16);
    if (code > 0x10ffff) {
      impossible = true;
      return '';
    }
    return String.fromCodePoint(code);
  });
  return impossible ? undefined : decoded;
}
