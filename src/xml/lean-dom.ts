import { DOMImplementation } from '@xmldom/xmldom';
import type { LeanDocument, LeanElement } from './lean-tree';

// An xmldom DOM made from the hardened parser's own pass (the lean tree) instead of by xmldom's
// parser, which spends some 160 µs on a 5 KB request re-reading what that pass has already read
// (its fixSelfClosed alone searches the whole text backwards once per distinct tag name); this
// takes about 30. It is the same DOM: made with the calls xmldom's own DOMHandler makes (the
// element appended to its parent before its attributes are set, attributes in document order,
// text and CDATA as they come), with the values the tree holds, which are xmldom's
// (test/unit/xml/lean-dom.test.ts compares both DOMs node by node and by canonical form). The
// tree is only handed over when it holds every node xmldom's parser would make inside the root
// (LeanBuilder.wholeTree); the document's own children besides the root (the XML declaration,
// white space) are not made: everything reads from the root down.

/** The xmldom Document of a whole tree (from LeanBuilder.wholeTree). */
export function domOfLeanTree(tree: LeanDocument): Document {
  const doc = new DOMImplementation().createDocument(null, null as unknown as string, null);
  appendElement(doc, doc, tree.documentElement);
  return doc;
}

function appendElement(doc: Document, parent: Node, lean: LeanElement): void {
  // xmldom's parser passes `undefined`, not null, for a name in no namespace; so do we, so that
  // every property reads the same.
  const element = doc.createElementNS(lean.namespaceURI ?? (undefined as unknown as null), lean.tagName);
  parent.appendChild(element);
  for (const a of lean.attributes) {
    const attribute = doc.createAttributeNS(a.namespaceURI ?? (undefined as unknown as null), a.name);
    attribute.value = a.value;
    (attribute as { nodeValue: string }).nodeValue = a.value;
    element.setAttributeNode(attribute);
  }
  for (let node = lean.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === 1) appendElement(doc, element, node);
    else element.appendChild(node.nodeType === 3 ? doc.createTextNode(node.nodeValue) : doc.createCDATASection(node.nodeValue));
  }
}
