import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NS } from '../../src/xml/namespaces';
import { checkXmlSafely, parseWithXmldom, type XmlLimits } from '../../src/xml/safe-parse';
import { CLIENT_FIXTURES_DIR } from './fixtures';
import { buildRst, xmlEscape } from './wstrust-request';

// Documents for checking the hardened parser's own trees against xmldom's: real clients' requests,
// the suites' own, and seeded mutations of any of them.

/** The body of every captured client request that is XML, by file name. */
export function clientBodies(): Array<[string, string]> {
  return readdirSync(CLIENT_FIXTURES_DIR)
    .filter((f) => f.endsWith('.http'))
    .map((f): [string, string] => {
      const raw = readFileSync(join(CLIENT_FIXTURES_DIR, f));
      const body = raw.subarray(raw.indexOf('\r\n\r\n') + 4).toString('utf8');
      return [f, body.startsWith('\uFEFF') ? body.slice(1) : body];
    })
    .filter(([, body]) => body.trimStart().startsWith('<'));
}

/** The suites' own requests: digest, untyped, CDATA and references in the password, a PI in a header. */
export function suiteBodies(): string[] {
  const user = { username: 'alice@example.com', password: ' p&ss <wörd> " \' ' };
  return [
    buildRst({ usernameToken: user }).body,
    buildRst({ soap: '1.1', trust: '2005', usernameToken: { ...user, passwordType: 'digest', nonce: Buffer.from('0123456789abcdef') } }).body,
    buildRst({ usernameToken: { ...user, passwordType: 'text-untyped' }, timestamp: null, lifetime: { expires: '2030-01-01T00:00:00Z' } }).body,
    buildRst({ usernameToken: { ...user, rawPasswordXml: `${xmlEscape(user.password)}<!-- c --><![CDATA[x]]>&#x20AC;&#65;` } }).body,
    buildRst({ usernameToken: user, extraHeaderXml: '<x:U xmlns:x="urn:u" s:mustUnderstand="1" xml:lang="en"><?pi x?></x:U>' }).body,
  ];
}

// What a mutation inserts: the characters, references and constructs on which parsers differ.
const PIECES = [
  '<', '>', '/', '"', "'", '=', ' ', '\t', '\n', '\r', '\u0085', '\u2028', '\u00a0', 'é', '&amp;', '&lt;', '&', '&#x41;',
  '&#65;', '&#0;', '&#xD800;', '&#x10FFFF;', '&#1114112;', '<!--c-->', '<![CDATA[x<y]]>', '<?pi x?>', ' xmlns="urn:d"',
  ' xmlns:p="urn:p"', ' xmlns:p=""', ' xmlns=""', 'p:', ' xml:lang="en"', ' a="1"', " a='1'", ' a=1', ' a', '</x>', '<x>', '<x/>',
  `<ds:Signature xmlns:ds="${NS.ds}"/>`, `<h:b xmlns:h="${NS.xhtml}">y</h:b>`, '</ a>', '</a >', '<a:b:c/>', '<1a/>', '<_a.b-c/>',
  ' x:a="1" y:a="2" xmlns:x="urn:1" xmlns:y="urn:1"', ' xmlns:xml="urn:x"',
];

/**
 * `runs` documents, each one of `corpus` with one to three seeded edits (an insertion from PIECES, a
 * deletion, or a copy of a stretch of the text elsewhere): the same documents for the same seed.
 */
export function* seededMutations(corpus: readonly string[], runs: number, seed: number): Generator<string> {
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  for (let run = 0; run < runs; run++) {
    let text = corpus[random(corpus.length)] as string;
    for (let edits = 1 + random(3); edits > 0; edits--) {
      const at = random(text.length + 1);
      const op = random(3);
      if (op === 0) text = text.slice(0, at) + PIECES[random(PIECES.length)] + text.slice(at);
      else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + random(4));
      else {
        const other = random(text.length + 1);
        text = text.slice(0, at) + text.slice(Math.min(at, other), Math.max(at, other)).slice(0, 40) + text.slice(at);
      }
    }
    yield text;
  }
}

/**
 * The oracle: the hardened parser's checks, then xmldom's own parser over the checked text, as
 * parseXmlSafely built every DOM before it made them from its checking pass's tree. Throws
 * XmlRejectedError as parseXmlSafely does.
 */
export function parsedByXmldom(text: string, limits: XmlLimits): Document {
  return parseWithXmldom(checkXmlSafely(text, limits, false).text);
}
