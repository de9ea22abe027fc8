import { strict as assert } from 'node:assert';
import { readAddressing } from '../../../src/soap/addressing';
import { readEnvelope } from '../../../src/soap/envelope';
import { readSecurityHeader } from '../../../src/soap/security-header';
import { readRequestSecurityToken, withoutElements } from '../../../src/wstrust/rst';
import type { XmlElementLike } from '../../../src/xml/dom';
import { NS } from '../../../src/xml/namespaces';
import { checkXmlSafely, XmlRejectedError, type XmlLimits } from '../../../src/xml/safe-parse';
import { CLIENT_FIXTURES_DIR } from '../../support/fixtures';
import { clientBodies, parsedByXmldom, seededMutations, suiteBodies } from '../../support/xml-corpus';

// The lean tree must read exactly as xmldom's DOM whenever it is built, and the checking pass that
// builds it must accept and refuse exactly what its checks followed by xmldom's parser do. Checked on the captured client
// requests, on the test suites' own requests, and on thousands of seeded mutations of them.

const LIMITS: XmlLimits = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };

interface ElementView {
  readonly ns: string;
  readonly local: string | null;
  readonly attributes: ReadonlyArray<readonly [string, string, string | null, string | null]>;
  readonly children: ReadonlyArray<ElementView | readonly [number, string | null]>;
}

/** What any reader could see of an element, the same way for both trees (comments and PIs left out). */
function view(el: XmlElementLike & { readonly attributes: ArrayLike<{ name: string; namespaceURI: string | null; localName: string | null; value: string }> }): ElementView {
  const attributes: Array<readonly [string, string, string | null, string | null]> = [];
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes[i] as { name: string; namespaceURI: string | null; localName: string | null; value: string };
    attributes.push([a.name, a.namespaceURI ?? '', a.localName, a.value]);
  }
  attributes.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const children: Array<ElementView | readonly [number, string | null]> = [];
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1) children.push(view(n as never));
    else if (n.nodeType === 3 || n.nodeType === 4) children.push([n.nodeType, n.nodeValue]);
  }
  return { ns: el.namespaceURI ?? '', local: el.localName, attributes, children };
}

type Outcome = { readonly tree: ElementView | undefined } | { readonly rejected: string };

function outcome(read: () => ElementView | undefined): Outcome {
  try {
    return { tree: read() };
  } catch (err) {
    if (err instanceof XmlRejectedError) return { rejected: `${err.rejection}: ${err.message}` };
    throw err;
  }
}

/** Checks one text; returns whether a lean tree was built. */
function agree(text: string): boolean {
  const dom = outcome(() => view(parsedByXmldom(text, LIMITS).documentElement));
  const lean = outcome(() => {
    const checked = checkXmlSafely(text, LIMITS, true);
    return checked.lean ? view(checked.lean.documentElement) : undefined;
  });
  if ('rejected' in lean) {
    assert.deepEqual(dom, lean, `the checks differ on ${JSON.stringify(text.slice(0, 300))}`);
    return false;
  }
  if (lean.tree === undefined) return false; // given up: the DOM decides, whatever it says
  assert.ok('tree' in dom, `xmldom refuses (${JSON.stringify(dom)}) what the lean tree read: ${JSON.stringify(text.slice(0, 300))}`);
  assert.deepEqual(lean.tree, dom.tree, `the trees differ on ${JSON.stringify(text.slice(0, 300))}`);
  return true;
}

describe('xml/lean-tree: the lean tree reads as xmldom does', () => {
  it('every captured client request gets a lean tree that reads exactly as xmldom', () => {
    const bodies = clientBodies();
    assert.ok(bodies.length >= 8, `found ${bodies.length} client captures in ${CLIENT_FIXTURES_DIR}`);
    for (const [name, body] of bodies) assert.ok(agree(body), `${name}: no lean tree`);
  });

  it("the suites' own requests (digest, untyped, CDATA and references in the password, PIs) too", () => {
    for (const body of suiteBodies()) assert.ok(agree(body), body.slice(0, 200));
  });

  it('the readers give the same values from both trees', () => {
    for (const body of [...clientBodies().map(([, b]) => b), ...suiteBodies()]) {
      const version = body.includes(NS.soap12) ? '1.2' : '1.1';
      const trust = body.includes(NS.wst13) ? '1.3' : '2005';
      const read = (root: XmlElementLike): unknown => {
        const envelope = readEnvelope({ documentElement: root }, version);
        const security = readSecurityHeader(envelope);
        const rst = readRequestSecurityToken(envelope.payload, trust);
        return {
          version: envelope.version,
          addressing: readAddressing(envelope),
          timestamp: security?.timestamp,
          usernameToken: security?.usernameToken,
          rst: withoutElements(rst),
        };
      };
      const lean = checkXmlSafely(body, LIMITS, true).lean;
      assert.ok(lean);
      let fromDom: unknown;
      let fromLean: unknown;
      try {
        fromDom = read(parsedByXmldom(body, LIMITS).documentElement);
      } catch (err) {
        fromDom = err;
      }
      try {
        fromLean = read(lean.documentElement);
      } catch (err) {
        fromLean = err;
      }
      assert.deepEqual(fromLean, fromDom);
    }
  });

  it('thousands of seeded mutations: the same checks, and the same tree whenever one is built', function () {
    this.timeout(60_000);
    const corpus = [...clientBodies().map(([, b]) => b), ...suiteBodies()];
    let built = 0;
    const runs = 6000;
    for (const text of seededMutations(corpus, runs, 20240611)) {
      if (agree(text)) built++;
    }
    assert.ok(built > runs / 20, `a lean tree was built for only ${built} of ${runs} mutations`);
  });

  describe('gives up, leaving the document to xmldom, on what it does not read exactly as xmldom', () => {
    const cases: Array<[string, string]> = [
      ['a carriage return (xmldom rewrites line ends)', '<a>x\r\ny</a>'],
      ['an end tag with white space', '<a>x</a >'],
      ['an unquoted attribute value (xmldom accepts it with a warning)', '<a x=1/>'],
      ['attributes without a space between them', '<a x="1"y="2"/>'],
      ['an undeclared prefix', '<p:a/>'],
      ['an undeclared attribute prefix', '<a p:x="1"/>'],
      ['a prefix undeclared by xmlns:p=""', '<a xmlns:p=""/>'],
      ['xmlns=""', '<a xmlns=""/>'],
      ['the same attribute twice by namespace', '<a xmlns:x="urn:1" xmlns:y="urn:1" x:a="1" y:a="2"/>'],
      ['a non-ASCII name', '<é/>'],
      ['the XHTML namespace', `<a xmlns="${NS.xhtml}"/>`],
      ['"<" in an attribute value', '<a x="<"/>'],
      ['a character reference beyond Unicode', '<a>&#x110000;</a>'],
      ['CDATA outside the root', '<![CDATA[x]]><a/>'],
    ];
    for (const [name, text] of cases) {
      it(name, () => {
        let lean: unknown;
        try {
          lean = checkXmlSafely(text, LIMITS, true).lean;
        } catch (err) {
          assert.ok(err instanceof XmlRejectedError);
          return;
        }
        assert.equal(lean, undefined);
      });
    }
  });

  it('builds none for a request with a ds:Signature anywhere, or a token or key holder', () => {
    assert.equal(checkXmlSafely(`<a><b><ds:Signature xmlns:ds="${NS.ds}"/></b></a>`, LIMITS, true).lean, undefined);
    for (const holder of ['ValidateTarget', 'RenewTarget', 'CancelTarget', 'OnBehalfOf', 'ActAs', 'UseKey']) {
      assert.equal(checkXmlSafely(`<a><t:${holder} xmlns:t="${NS.wst13}"/></a>`, LIMITS, true).lean, undefined, holder);
    }
    assert.ok(checkXmlSafely('<a><Signature/></a>', LIMITS, true).lean, 'a Signature outside xmldsig is only a name');
  });

  it('records where each element is in the text', () => {
    const text = '<a><b x="1">t</b><c/></a>';
    const root = checkXmlSafely(text, LIMITS, true).lean?.documentElement;
    assert.ok(root);
    const b = root.firstChild as typeof root;
    const c = b.nextSibling as typeof root;
    assert.equal(text.slice(root.start, root.end), text);
    assert.equal(text.slice(b.start, b.end), '<b x="1">t</b>');
    assert.equal(text.slice(c.start, c.end), '<c/>');
  });

  it('is not built unless asked for, and the DOM is built once, on demand', () => {
    const checked = checkXmlSafely('<a/>', LIMITS, false);
    assert.equal(checked.lean, undefined);
    assert.equal(checked.dom(), checked.dom());
  });
});
