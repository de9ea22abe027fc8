// Small, namespace-aware DOM helpers. They look only at direct children, never search the whole
// tree, so a value is always read from the place the protocol puts it and never from a copy
// an attacker planted elsewhere.

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

export function childElements(parent: Element): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  }
  return out;
}

export function isElement(node: Element | undefined, ns: string, localName: string): node is Element {
  return node !== undefined && node.namespaceURI === ns && node.localName === localName;
}

/** The children named (ns, localName); `ns` may list several accepted namespaces. */
export function childrenNamed(parent: Element, ns: string | readonly string[], localName: string): Element[] {
  const accepted = typeof ns === 'string' ? [ns] : ns;
  return childElements(parent).filter((e) => e.localName === localName && accepted.includes(e.namespaceURI ?? ''));
}

/** The single child named (ns, localName), undefined if absent; throws DuplicateElementError if repeated. */
export function singleChild(parent: Element, ns: string | readonly string[], localName: string): Element | undefined {
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
export function textOf(el: Element): string {
  let s = '';
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) s += n.nodeValue ?? '';
  }
  return s.trim();
}

export function attributeNS(el: Element, ns: string, localName: string): string | undefined {
  return el.hasAttributeNS(ns, localName) ? el.getAttributeNS(ns, localName) ?? undefined : undefined;
}

export function attribute(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}
