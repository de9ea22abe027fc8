import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { verifySamlToken } from '../../../src/saml/verify-token';
import { NS } from '../../../src/xml/namespaces';
import { checkXmlSafely, parseXmlSafely, XmlRejectedError, type XmlLimits } from '../../../src/xml/safe-parse';
import type { TrustedKey } from '../../../src/xml/verify-signature';
import { wrapAssertion, type AssertionWrapping } from '../../support/attacks/signature-wrapping';
import { impersonate, splitText } from '../../support/attacks/token-text';
import { quickCertificate } from '../../support/quick-certificate';
import { inResponse, signAssertion } from '../../support/rp-tokens';
import { buildRst } from '../../support/wstrust-request';
import { clientBodies, parsedByXmldom, seededMutations, suiteBodies } from '../../support/xml-corpus';

// The DOM the hardened parser makes from its checking pass's tree (src/xml/lean-dom.ts) must be the
// DOM xmldom's parser makes of the same text, node for node, in every property a reader, a
// canonicaliser or a serialiser reads: signatures are verified on it and tokens read from it. Checked
// on client captures, signed tokens in every slot they travel in, the signature-wrapping attacks'
// layouts, and thousands of seeded mutations of all of them.

const LIMITS: XmlLimits = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
const ID_ATTRIBUTES: ReadonlyArray<readonly [string | null, string]> = [[null, 'ID'], [null, 'AssertionID'], [null, 'ResponseID'], [NS.wsu, 'Id']];

const NODE_PROPERTIES = ['nodeType', 'nodeName', 'tagName', 'namespaceURI', 'prefix', 'localName', 'nodeValue', 'data'] as const;
const ATTRIBUTE_PROPERTIES = ['name', 'nodeName', 'namespaceURI', 'prefix', 'localName', 'value', 'nodeValue', 'specified'] as const;

/** Asserts two nodes and their subtrees equal in every property (=== : null is not undefined here). */
function assertSameNode(a: Node, b: Node, path: string): void {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const p of NODE_PROPERTIES) assert.equal(x[p], y[p], `${path}: ${p}`);
  if (a.nodeType === 1) {
    const ax = (a as Element).attributes;
    const bx = (b as Element).attributes;
    assert.equal(ax.length, bx.length, `${path}: attribute count`);
    for (let i = 0; i < ax.length; i++) {
      const p1 = ax.item(i) as unknown as Record<string, unknown>;
      const p2 = bx.item(i) as unknown as Record<string, unknown>;
      for (const p of ATTRIBUTE_PROPERTIES) assert.equal(p1[p], p2[p], `${path}/@${String(p1['name'])}: ${p}`);
    }
  }
  if (a.nodeType !== 1) return;
  assert.equal(a.childNodes.length, b.childNodes.length, `${path}: child count`);
  for (let i = 0; i < a.childNodes.length; i++) {
    assertSameNode(a.childNodes.item(i), b.childNodes.item(i), `${path}/${i}:${a.childNodes.item(i).nodeName}`);
  }
}

function* elementsOf(root: Element): Generator<Element> {
  yield root;
  for (let n = root.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) yield* elementsOf(n as Element);
}

const canonical = (el: Element): string => new ExclusiveCanonicalization().process(el, {}) as unknown as string;
const hasId = (el: Element): boolean => ID_ATTRIBUTES.some(([ns, name]) => (ns === null ? el.hasAttribute(name) : el.hasAttributeNS(ns, name)));

type Made = { readonly doc: Document; readonly fromTree: boolean } | { readonly rejected: string };

function made(make: () => { doc: Document; fromTree: boolean }): Made {
  try {
    return make();
  } catch (err) {
    if (err instanceof XmlRejectedError) return { rejected: `${err.rejection}: ${err.message}` };
    throw err;
  }
}

/**
 * Checks one text: the same refusal either way, or DOMs that are the same node for node, serialise
 * alike and canonicalise alike at the root and at every element with an ID. Returns whether the
 * DOM was made from the checking pass's tree.
 */
function sameDom(text: string): boolean {
  const ours = made(() => {
    const checked = checkXmlSafely(text, LIMITS, false);
    return { doc: checked.dom(), fromTree: checked.domFromTree };
  });
  const oracle = made(() => ({ doc: parsedByXmldom(text, LIMITS), fromTree: false }));
  const where = JSON.stringify(text.slice(0, 300));
  if ('rejected' in ours || 'rejected' in oracle) {
    assert.deepEqual('rejected' in ours && ours.rejected, 'rejected' in oracle && oracle.rejected, `the checks differ on ${where}`);
    return false;
  }
  if (!ours.fromTree) return false;
  const a = ours.doc.documentElement;
  const b = oracle.doc.documentElement;
  assertSameNode(a, b, where);
  assert.equal(new XMLSerializer().serializeToString(a), new XMLSerializer().serializeToString(b), where);
  const theirs = [...elementsOf(b)];
  [...elementsOf(a)].forEach((el, i) => {
    if (i === 0 || hasId(el)) assert.equal(canonical(el), canonical(theirs[i] as Element), `${where}: c14n of ${el.tagName}`);
  });
  return true;
}

/** A signed SAML 2.0 assertion with what canonicalisation is picky about: entities, white space, CDATA, xml:lang. */
function signedCorpus(): { readonly signed: string; readonly trusted: TrustedKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate = quickCertificate('lean-dom.test');
  const unsigned =
    `<Assertion xmlns="${NS.saml2}" ID="_lean_dom_1" IssueInstant="2030-01-01T00:00:00Z" Version="2.0">` +
    `<Issuer>https://idp.example/</Issuer>\n  <Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</NameID></Subject>` +
    `<Conditions NotBefore="2030-01-01T00:00:00Z" NotOnOrAfter="2030-01-01T01:00:00Z"><AudienceRestriction><Audience>https://rp.example/</Audience></AudienceRestriction></Conditions>` +
    `<AttributeStatement xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<Attribute Name="note" xml:lang="en"><AttributeValue xsi:type="xs:string">a &amp; b &lt;c&gt; "q" &#x20AC;\t<![CDATA[<raw & text>]]></AttributeValue></Attribute>` +
    `<Attribute Name="tab&#9;and&#10;line" NameFormat="urn:x"><AttributeValue>  spaced  </AttributeValue></Attribute>` +
    `</AttributeStatement></Assertion>`;
  return {
    signed: signAssertion(unsigned, privateKey, certificate.pem),
    trusted: { thumbprintSha256: certificate.thumbprint, publicKey },
  };
}

/** A token in each slot it travels in: alone, in a samlp:Response, in each WS-Trust holder of a request. */
function inEverySlot(token: string): string[] {
  const rst = buildRst({ usernameToken: { username: 'alice@example.com', password: 'pw' } }).body;
  const holders = ['ValidateTarget', 'RenewTarget', 'CancelTarget', 'OnBehalfOf', 'ActAs'];
  return [
    token,
    inResponse(token),
    ...holders.map((h) => rst.replace('</t:RequestSecurityToken>', `<t:${h}>${token}</t:${h}></t:RequestSecurityToken>`)),
  ];
}

const WRAPPINGS: readonly AssertionWrapping[] = ['XSW3', 'XSW4', 'XSW5', 'XSW6', 'XSW7', 'XSW8'];

describe('xml/lean-dom: the DOM made from the checking pass is the DOM xmldom parses', () => {
  const corpus = signedCorpus();
  const evil = impersonate('alice@example.com', 'admin@example.com');
  const wrapped = WRAPPINGS.map((v) => {
    const w = wrapAssertion(v, corpus.signed, evil);
    return inResponse(`${w.before}${w.token}${w.after}`);
  });
  const slots = inEverySlot(corpus.signed);
  const signedDocuments = [...slots, ...wrapped];

  it('every captured client request and the suites\' own requests', () => {
    let fromTree = 0;
    const texts = [...clientBodies().map(([, b]) => b), ...suiteBodies()];
    for (const text of texts) if (sameDom(text)) fromTree++;
    // The suites' requests with a comment or PI inside the root are the only ones for xmldom's parser.
    assert.ok(fromTree >= texts.length - 2, `made from the tree for ${fromTree} of ${texts.length}`);
  });

  it('a signed token in every slot it travels in is made from the tree; so are the signature-wrapping layouts but those with xmlns=""', () => {
    for (const text of slots) assert.ok(sameDom(text), `not made from the tree: ${text.slice(0, 200)}`);
    for (const [k, text] of wrapped.entries()) {
      // An undeclaration (XSW7's and XSW8's copies carry xmlns="") is outside the tree's subset.
      assert.equal(sameDom(text), !text.includes('xmlns=""'), WRAPPINGS[k]);
    }
  });

  it('signatures verify, and wrapped copies are refused, the same way on both DOMs', () => {
    const firstAssertion = (doc: Document): Element => doc.getElementsByTagNameNS(NS.saml2, 'Assertion').item(0) as Element;
    const verdict = (doc: Document): string => {
      try {
        const v = verifySamlToken(firstAssertion(doc), [corpus.trusted]);
        return `verified ${v.token.nameId} ${v.digest}`;
      } catch (err) {
        return `refused: ${(err as Error).message}`;
      }
    };
    const verdicts = signedDocuments.map((text) => {
      const ours = verdict(parseXmlSafely(text, LIMITS));
      assert.equal(ours, verdict(parsedByXmldom(text, LIMITS)), text.slice(0, 200));
      return ours;
    });
    assert.ok(verdicts.slice(0, slots.length).every((v) => v.startsWith('verified alice@example.com')), verdicts.join('\n'));
    assert.ok(verdicts.some((v) => v.startsWith('refused')), 'some wrapping puts an unsigned copy first');
  });

  it('thousands of seeded mutations of signed documents and client requests: the same refusals, the same DOM', function () {
    this.timeout(120_000);
    const texts = [...signedDocuments, ...clientBodies().map(([, b]) => b)];
    let fromTree = 0;
    const runs = 4000;
    for (const text of seededMutations(texts, runs, 20261122)) if (sameDom(text)) fromTree++;
    assert.ok(fromTree > runs / 20, `made from the tree for only ${fromTree} of ${runs} mutations`);
  });

  describe("what the tree leaves out goes to xmldom's parser, so a signature still sees it", () => {
    it('a comment inside the root: xmldom keeps its node, and a truncation bait reads whole', () => {
      const bait = splitText('alice@example.com', 5, (tail) => `<!---->${tail}`)(corpus.signed);
      const checked = checkXmlSafely(bait, LIMITS, false);
      assert.equal(checked.domFromTree, false);
      const doc = checked.dom();
      const nameId = doc.getElementsByTagNameNS(NS.saml2, 'NameID').item(0) as Element;
      assert.equal(nameId.childNodes.length, 3, 'text, comment, text');
      assert.equal(verifySamlToken(doc.documentElement, [corpus.trusted]).token.nameId, 'alice@example.com');
    });

    it('a processing instruction inside a signed token is still refused', () => {
      const withPi = corpus.signed.replace('<Issuer>', '<?evil x?><Issuer>');
      const checked = checkXmlSafely(withPi, LIMITS, false);
      assert.equal(checked.domFromTree, false);
      assert.throws(() => verifySamlToken(checked.dom().documentElement, [corpus.trusted]), /processing instruction/);
    });

    it('a comment or PI outside the root is no node of the root: the tree is used', () => {
      assert.equal(checkXmlSafely(`<?xml version="1.0"?><!-- c -->${corpus.signed}<?after x?>`, LIMITS, false).domFromTree, true);
    });

    it('a carriage return (xmldom rewrites line ends first)', () => {
      assert.equal(checkXmlSafely(corpus.signed.replace('\n', '\r\n'), LIMITS, false).domFromTree, false);
    });
  });

  it('reads a request made from the tree as a lean tree only when it holds nothing signed', () => {
    const [, , validate] = slots;
    const checked = checkXmlSafely(validate as string, LIMITS, true);
    assert.equal(checked.lean, undefined);
    assert.equal(checked.domFromTree, true);
  });
});
