import { strict as assert } from 'node:assert';
import { parseXmlSafely, XmlRejectedError, type XmlLimits, type XmlRejection } from '../../../src/xml/safe-parse';
import { NS } from '../../../src/xml/namespaces';

const LIMITS: XmlLimits = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };

const ENVELOPE =
  `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa10}">` +
  `<s:Header><a:Action s:mustUnderstand="1">${'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue'}</a:Action>` +
  `<a:MessageID>urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</a:MessageID></s:Header>` +
  `<s:Body><t:RequestSecurityToken xmlns:t="${NS.wst13}"><t:RequestType>${NS.wst13}/Issue</t:RequestType>` +
  `</t:RequestSecurityToken></s:Body></s:Envelope>`;
const DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Asserts the input is refused with exactly this rejection, and returns the error. */
function refused(input: string | Buffer, rejection: XmlRejection, limits: XmlLimits = LIMITS): XmlRejectedError {
  let caught: unknown;
  try {
    parseXmlSafely(input, limits);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof XmlRejectedError, `expected an XmlRejectedError (${rejection}), got ${String(caught)}`);
  assert.equal(caught.rejection, rejection, `wrong rejection; message: ${caught.message}`);
  return caught;
}

function rootOf(doc: Document): { ns: string | null; name: string | null } {
  return { ns: doc.documentElement.namespaceURI, name: doc.documentElement.localName };
}

describe('xml/safe-parse parseXmlSafely', () => {
  describe('accepts a normal SOAP envelope', () => {
    const expected = { ns: NS.soap12, name: 'Envelope' };
    it('as a plain string', () => {
      assert.deepEqual(rootOf(parseXmlSafely(ENVELOPE, LIMITS)), expected);
    });
    it('as a Buffer', () => {
      assert.deepEqual(rootOf(parseXmlSafely(Buffer.from(ENVELOPE), LIMITS)), expected);
    });
    it('with an XML declaration', () => {
      assert.deepEqual(rootOf(parseXmlSafely(DECLARATION + ENVELOPE, LIMITS)), expected);
    });
    it('with a UTF-8 BOM (Buffer) and no declaration', () => {
      assert.deepEqual(rootOf(parseXmlSafely(Buffer.concat([BOM, Buffer.from(ENVELOPE)]), LIMITS)), expected);
    });
    it('with a UTF-8 BOM (Buffer) and an XML declaration', () => {
      const input = Buffer.concat([BOM, Buffer.from(DECLARATION + ENVELOPE)]);
      assert.deepEqual(rootOf(parseXmlSafely(input, LIMITS)), expected);
    });
    it('with a BOM in a string and a declaration spelled UTF-8 in single quotes', () => {
      const input = `\uFEFF<?xml version='1.0' encoding='UTF-8'?>` + ENVELOPE;
      assert.deepEqual(rootOf(parseXmlSafely(input, LIMITS)), expected);
    });
    it('keeps the exact text content (non-ASCII and escaped characters)', () => {
      const doc = parseXmlSafely('<a x="&quot;é&#x9;">&lt;ü&amp;€</a>', LIMITS);
      assert.equal(doc.documentElement.textContent, '<ü&€');
      assert.equal(doc.documentElement.getAttribute('x'), '"é\t');
    });
  });

  describe('refuses a DTD in any form, before parsing', () => {
    it('a DOCTYPE with an internal entity (billion laughs)', () => {
      refused('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>', 'doctype');
    });
    it('a DOCTYPE with an external entity (XXE)', () => {
      refused('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', 'doctype');
    });
    it('a DOCTYPE without entities', () => {
      refused('<!DOCTYPE a><a/>', 'doctype');
    });
    it('a DOCTYPE with a SYSTEM identifier', () => {
      refused('<!DOCTYPE a SYSTEM "http://127.0.0.1:1/a.dtd"><a/>', 'doctype');
    });
    it('a DOCTYPE in mixed case', () => {
      refused('<!DocType a [<!EnTiTy x "y">]><a>&x;</a>', 'doctype');
      refused('<!doctype a><a/>', 'doctype');
    });
    it('an ENTITY declaration on its own', () => {
      refused('<a><!ENTITY x "y"></a>', 'doctype');
    });
    it('a DOCTYPE after a UTF-8 BOM', () => {
      refused(Buffer.concat([BOM, Buffer.from('<!DOCTYPE a><a/>')]), 'doctype');
    });
    it('a DOCTYPE inside the SOAP body', () => {
      refused(ENVELOPE.replace('<s:Body>', '<s:Body><!DOCTYPE x>'), 'doctype');
    });
  });

  describe('enforces the limits', () => {
    it('too many bytes (string)', () => {
      refused(`<a>${'x'.repeat(2000)}</a>`, 'too-large', { ...LIMITS, maxBytes: 1024 });
    });
    it('too many bytes counts UTF-8 bytes, not characters', () => {
      const text = `<a>${'é'.repeat(600)}</a>`; // 607 characters, 1207 bytes
      assert.ok(text.length < 1024);
      refused(text, 'too-large', { ...LIMITS, maxBytes: 1024 });
    });
    it('too many bytes (Buffer)', () => {
      refused(Buffer.from(`<a>${'x'.repeat(2000)}</a>`), 'too-large', { ...LIMITS, maxBytes: 1024 });
    });
    it('exactly maxBytes is accepted', () => {
      const text = `<a>${'x'.repeat(1024 - 7)}</a>`;
      assert.equal(Buffer.byteLength(text), 1024);
      parseXmlSafely(text, { ...LIMITS, maxBytes: 1024 });
    });
    it('too deep', () => {
      const deep = '<a>'.repeat(LIMITS.maxDepth + 1) + '</a>'.repeat(LIMITS.maxDepth + 1);
      refused(deep, 'too-deep');
    });
    it('maxDepth levels exactly is accepted', () => {
      const ok = '<a>'.repeat(LIMITS.maxDepth) + '</a>'.repeat(LIMITS.maxDepth);
      parseXmlSafely(ok, LIMITS);
    });
    it('too many elements', () => {
      refused(`<r>${'<e/>'.repeat(LIMITS.maxElements)}</r>`, 'too-many-elements');
    });
    it('too many attributes on one element', () => {
      const attrs = Array.from({ length: LIMITS.maxAttributesPerElement + 1 }, (_, i) => `a${i}="v"`).join(' ');
      refused(`<r><e ${attrs}/></r>`, 'too-many-attributes');
    });
    it('namespace declarations count as attributes', () => {
      const attrs = Array.from({ length: LIMITS.maxAttributesPerElement + 1 }, (_, i) => `xmlns:p${i}="urn:x:${i}"`).join(' ');
      refused(`<r ${attrs}/>`, 'too-many-attributes');
    });
    it('an "=" inside an attribute value is not counted as another attribute', () => {
      const attrs = Array.from({ length: LIMITS.maxAttributesPerElement }, (_, i) => `a${i}="x=y=z"`).join(' ');
      parseXmlSafely(`<r ${attrs}/>`, LIMITS);
    });
  });

  describe('refuses malformed documents', () => {
    it('two root elements', () => {
      refused('<a/><b/>', 'malformed');
      refused(ENVELOPE + ENVELOPE, 'malformed');
    });
    it('no root element', () => {
      refused('', 'malformed');
      refused('just text', 'malformed');
      refused(DECLARATION, 'malformed');
      refused('<!-- only a comment -->', 'malformed');
    });
    it('an unclosed root element', () => {
      refused('<a>', 'malformed');
      refused(ENVELOPE.slice(0, ENVELOPE.length - '</s:Envelope>'.length), 'malformed');
    });
    it('an unclosed inner element', () => {
      refused('<a><b></a>', 'malformed');
      refused('<a><b></b>', 'malformed');
    });
    it('a mismatched end tag', () => {
      refused('<a></b>', 'malformed');
    });
    it('content after the root element', () => {
      refused('<a/>junk', 'malformed');
    });
    it('a bare "&" in text', () => {
      refused('<a>fish & chips</a>', 'malformed');
    });
    it('an unterminated start tag or attribute value', () => {
      refused('<a x="1></a>', 'malformed');
      refused('<a', 'malformed');
    });
    it('an unterminated comment', () => {
      refused('<a><!-- never closed </a>', 'malformed');
    });
    it('an unterminated CDATA section', () => {
      refused('<a><![CDATA[ never closed </a>', 'malformed');
    });
    it('an undefined entity reference', () => {
      refused('<a>&undefined;</a>', 'malformed');
    });
    it('a duplicate attribute', () => {
      refused('<a x="1" x="2"/>', 'malformed');
    });
  });

  describe('refuses encodings other than UTF-8', () => {
    for (const encoding of ['ISO-8859-1', 'UTF-16', 'windows-1252', 'us-ascii']) {
      it(encoding, () => {
        const err = refused(`<?xml version="1.0" encoding="${encoding}"?><a/>`, 'unsupported-encoding');
        assert.match(err.message, new RegExp(encoding, 'i'));
      });
    }
    it('after a BOM too', () => {
      refused(Buffer.concat([BOM, Buffer.from('<?xml version="1.0" encoding="latin1"?><a/>')]), 'unsupported-encoding');
    });
  });

  describe('scans markup correctly', () => {
    it('a ">" inside attribute values (double and single quotes)', () => {
      const doc = parseXmlSafely(`<a x="1>2"><b y='>' z="/>"/><c/></a>`, LIMITS);
      const a = doc.documentElement;
      assert.equal(a.getAttribute('x'), '1>2');
      const b = a.getElementsByTagName('b')[0];
      assert.equal(b?.getAttribute('y'), '>');
      assert.equal(b?.getAttribute('z'), '/>');
      assert.equal(a.getElementsByTagName('c').length, 1);
    });
    it('a "/>" inside an attribute value does not make the element self-closing for depth counting', () => {
      // With only 2 levels allowed, <a><b x="/>"><c/></b></a> is 2 deep (c is self-closing): accepted.
      parseXmlSafely('<a><b x="/>"><c/></b></a>', { ...LIMITS, maxDepth: 2 });
      refused('<a><b x="/>"><c></c></b></a>', 'too-deep', { ...LIMITS, maxDepth: 2 });
    });
    it('"<" and fake elements inside CDATA and comments are text, not elements', () => {
      const doc = parseXmlSafely('<a><![CDATA[<b><c x="1">]]><!-- <d><e> --></a>', { ...LIMITS, maxDepth: 8, maxElements: 16 });
      assert.equal(doc.documentElement.textContent, '<b><c x="1">');
      assert.equal(doc.documentElement.getElementsByTagName('b').length, 0);
    });
    it('elements hidden in CDATA do not count towards the element limit', () => {
      parseXmlSafely(`<a><![CDATA[${'<e/>'.repeat(100)}]]></a>`, { ...LIMITS, maxElements: 16 });
    });
    it('a processing instruction with ">" inside', () => {
      parseXmlSafely('<?pi a > b ?><a/>', LIMITS);
    });
  });

  describe('is fast on hostile input', () => {
    const SIZE = 200 * 1024;
    const fill = (unit: string): string => unit.repeat(Math.floor(SIZE / unit.length));
    const hostile: Array<[string, string, XmlRejection]> = [
      ['deep nesting', fill('<a>'), 'too-deep'],
      ['a flat flood of elements', `<r>${fill('<a/>')}</r>`, 'too-many-elements'],
      ['an attribute flood', `<a ${fill('b="" ')}/>`, 'too-many-attributes'],
      ['an unterminated attribute value', `<a x="${fill('y')}`, 'malformed'],
      ['thousands of unterminated comments', `<a>${fill('<!--')}`, 'malformed'],
      ['thousands of unterminated tags', fill('<a'), 'malformed'],
      ['billion laughs', `<!DOCTYPE l [${fill('<!ENTITY a "&b;&b;">')}]><l>&a;</l>`, 'doctype'],
    ];
    for (const [name, input, rejection] of hostile) {
      it(`${name} (${Math.round(input.length / 1024)} KB) is refused in under 50 ms`, () => {
        assert.ok(input.length >= 195 * 1024);
        const started = process.hrtime.bigint();
        refused(input, rejection);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        assert.ok(ms < 50, `took ${ms.toFixed(1)} ms`);
      });
    }
  });
});
