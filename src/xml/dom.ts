// Small, namespace-aware DOM helpers. They look only at direct children, never search the whole
// tree, so a value is always read from the place the protocol puts it and never from a copy
// an attacker planted elsewhere.
//
// They read through XmlElementLike, the few DOM members they need, so the same readers work on
// xmldom's Document and on the lean tree the hardened parser builds for plain requests
// (src/xml/lean-tree.ts). Anything whose signature is verified is always read from xmldom.

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;

/** The members of a DOM Node the readers use. */
export interface XmlNodeLike {
  readonly nodeType: number;
  readonly nodeValue: string | null;
  readonly firstChild: XmlNodeLike | null;
  readonly nextSibling: XmlNodeLike | null;
}

/** The members of a DOM Element the readers use; xmldom's Element and LeanElement both have them. */
export interface XmlElementLike extends XmlNodeLike {
  readonly namespaceURI: string | null;
  readonly localName: string | null;
  getAttribute(qualifiedName: string): string | null;
  hasAttribute(qualifiedName: string): boolean;
  getAttributeNS(namespace: string | null, localName: string): string | null;
  hasAttributeNS(namespace: string | null, localName: string): boolean;
}

/** The element children of `parent`; an element's element children are of its own kind (both trees). */
export function childElements<E extends XmlElementLike>(parent: E): E[] {
  const out: E[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) out.push(n as E);
  }
  return out;
}

export function isElement<E extends XmlElementLike>(node: E | undefined, ns: string, localName: string): node is E {
  return node !== undefined && node.namespaceURI === ns && node.localName === localName;
}

/** The children named (ns, localName); `ns` may list several accepted namespaces. */
export function childrenNamed<E extends XmlElementLike>(parent: E, ns: string | readonly string[], localName: string): E[] {
  const out: E[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType !== ELEMENT_NODE) continue;
    const e = n as E;
    if (e.localName !== localName) continue;
    const uri = e.namespaceURI ?? '';
    if (typeof ns === 'string' ? uri === ns : ns.includes(uri)) out.push(e);
  }
  return out;
}

/** The single child named (ns, localName), undefined if absent; throws DuplicateElementError if repeated. */
export function singleChild<E extends XmlElementLike>(
  parent: E,
  ns: string | readonly string[],
  localName: string,
): E | undefined {
  const found = childrenNamed(parent, ns, localName);
  if (found.length > 1) throw new DuplicateElementError(localName);
  return found[0];
}

export class DuplicateElementError extends Error {
  constructor(readonly localName: string) {
    super(`the element ${localName} appears more than once`);
    this.name = 'DuplicateElementError';
  }
}

/** Concatenated text and CDATA of an element's direct children, trimmed. */
export function textOf(el: XmlNodeLike): string {
  let s = '';
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) s += n.nodeValue ?? '';
  }
  return s.trim();
}

export function attributeNS(el: XmlElementLike, ns: string, localName: string): string | undefined {
  return el.hasAttributeNS(ns, localName) ? el.getAttributeNS(ns, localName) ?? undefined : undefined;
}

export function attribute(el: XmlElementLike, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}

/**
 * Whether a processing instruction sits anywhere inside `root`. xml-crypto's exclusive c14n cannot
 * render one (it throws), so signed content holding one must be refused as the sender's fault before
 * it is canonicalised; no SAML token or signed SOAP part has a reason to carry one.
 */
export function holdsProcessingInstruction(root: XmlNodeLike): boolean {
  const stack: XmlNodeLike[] = [root];
  while (stack.length) {
    const node = stack.pop() as XmlNodeLike;
    for (let n = node.firstChild; n !== null; n = n.nextSibling) {
      if (n.nodeType === PROCESSING_INSTRUCTION_NODE) return true;
      if (n.nodeType === ELEMENT_NODE) stack.push(n);
    }
  }
  return false;
}
