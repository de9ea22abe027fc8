import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { CERTIFICATE_MIXED_HEADERS, CERTIFICATE_MIXED_PATH } from '../../support/attacks/signed-soap-message';
import { ATTACKER, passwordOf, RP, startAttackSts, validateTarget, type AttackSts, type RawRequest } from '../../support/attacks/attack-sts';
import { expectSoapFault, type SoapVersion, type TrustVersion } from '../../support/attacks/expected-rejections';
import {
  billionLaughs,
  externalDtd,
  externalEntity,
  gzipBomb,
  many,
  manyAttributes,
  nested,
  nestedCompact,
  padding,
  parameterEntities,
  quadraticBlowup,
  rootName,
  secondRoot,
  utf16WithDoctype,
  withDoctype,
} from '../../support/attacks/hostile-documents';
import { startOutboundListener, type OutboundListener } from '../../support/attacks/outbound-listener';
import type { ReplayAttack } from '../../support/attacks/replay-attack';
import { appliesTo } from '../../support/trust-messages';
import { buildRst, PATH_13, xmlEscape } from '../../support/wstrust-request';

// Parser attacks on every WS-Trust endpoint (usernamemixed 1.3 and February 2005, certificatemixed):
// entity expansion (billion laughs, quadratic blowup), XXE to a file and to the network, external DTDs
// and parameter entities, a DOCTYPE hidden by UTF-16, foreign encodings, bodies over the size limit
// (Content-Length and chunked), a gzip bomb, nesting, breadth and attributes over the limits, two roots.
// Each is a valid request with only the attack added. A loopback listener stands for every URL an
// attack names: no connection may reach it. XInclude and xml-stylesheet are not processed at all.
// Found here: characters XML 1.0 forbids (&#0;, U+0001, lone surrogates) were accepted and echoed raw
// into replies (RelatesTo), which were then not XML; the hardened parser now refuses them.
// (This matrix supersedes the former test/security/hostile-xml.test.ts, whose cases it all holds.)

// What an XXE reading /etc/passwd would leak; every Linux machine the tests run on has the file.
const passwdLines = readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l.includes(':'));

interface Endpoint {
  readonly name: string;
  readonly soap: SoapVersion;
  readonly trust: TrustVersion;
  valid(): RawRequest;
  readonly attack: ReplayAttack;
  /** What a served request adds to the store (certificatemixed also remembers the signed message). */
  readonly servedRows: Readonly<Record<string, number>>;
}

/** A hostile document, and how the parser must refuse it (undefined: the request is served, the attack inert). */
interface DocumentAttack {
  readonly name: string;
  readonly refusal: string | undefined;
  readonly build: (valid: RawRequest, env: { readonly url: string; readonly limits: Limits }) => RawRequest & { readonly chunked?: boolean };
}
interface Limits {
  readonly maxBodyBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributesPerElement: number;
}

const text = (r: RawRequest): string => (typeof r.body === 'string' ? r.body : r.body.toString('utf8'));
const edit = (r: RawRequest, f: (xml: string) => string): RawRequest => ({ ...r, body: f(text(r)) });
const inHeader = (r: RawRequest, block: string): RawRequest => edit(r, (xml) => xml.replace('</s:Header>', `${block}</s:Header>`));
/** The MessageID's text: where an attack puts its entity reference. */
const messageIdOf = (xml: string): string => {
  const m = /<(?:\w+:)?MessageID>([^<]+)</.exec(xml);
  if (!m) throw new Error('no MessageID');
  return m[1] as string;
};
const DOCTYPE_REFUSED = 'The request was refused: a DOCTYPE or entity declaration is not allowed.';

const ATTACKS: readonly DocumentAttack[] = [
  {
    name: 'billion laughs (10^9 expansions of nested entities)',
    refusal: DOCTYPE_REFUSED,
    build: (r) => edit(r, (xml) => withDoctype(xml, billionLaughs(rootName(xml)), { at: messageIdOf(xml), ref: '&lol9;' })),
  },
  {
    name: 'quadratic blowup (one 50 kB entity referenced 2,000 times)',
    refusal: DOCTYPE_REFUSED,
    build: (r) => edit(r, (xml) => withDoctype(xml, quadraticBlowup(rootName(xml)), { at: messageIdOf(xml), ref: '&a;'.repeat(2000) })),
  },
  {
    name: 'XXE: an external entity naming file:///etc/passwd',
    refusal: DOCTYPE_REFUSED,
    build: (r) => edit(r, (xml) => withDoctype(xml, externalEntity(rootName(xml), 'file:///etc/passwd'), { at: messageIdOf(xml), ref: '&xxe;' })),
  },
  {
    name: 'XXE: an external entity naming a loopback URL (SSRF)',
    refusal: DOCTYPE_REFUSED,
    build: (r, { url }) => edit(r, (xml) => withDoctype(xml, externalEntity(rootName(xml), url), { at: messageIdOf(xml), ref: '&xxe;' })),
  },
  {
    name: 'an external DTD on a loopback URL',
    refusal: DOCTYPE_REFUSED,
    build: (r, { url }) => edit(r, (xml) => withDoctype(xml, externalDtd(rootName(xml), url))),
  },
  {
    name: 'out-of-band XXE through external parameter entities',
    refusal: DOCTYPE_REFUSED,
    build: (r, { url }) => edit(r, (xml) => withDoctype(xml, parameterEntities(rootName(xml), url))),
  },
  {
    name: 'a lower-case <!doctype> with an internal subset',
    refusal: DOCTYPE_REFUSED,
    build: (r) => edit(r, (xml) => withDoctype(xml, `<!doctype ${rootName(xml)} [<!entity x "y">]>`)),
  },
  {
    name: 'a DOCTYPE without any entity',
    refusal: DOCTYPE_REFUSED,
    build: (r) => edit(r, (xml) => withDoctype(xml, `<!DOCTYPE ${rootName(xml)}>`)),
  },
  {
    name: 'a DOCTYPE hidden by UTF-16 (BOM, NUL-interleaved bytes)',
    refusal: 'The request was refused: the XML holds a character XML does not allow.',
    build: (r) => ({ ...r, body: utf16WithDoctype(text(r), billionLaughs(rootName(text(r)))) }),
  },
  {
    name: 'a UTF-7 encoding declaration (+ADw- smuggling)',
    refusal: 'The request was refused: only UTF-8 is accepted, not utf-7.',
    build: (r) => edit(r, (xml) => `<?xml version="1.0" encoding="UTF-7"?>${xml.replace(/^<\?xml[^>]*\?>/, '')}`),
  },
  {
    name: 'an ISO-8859-1 encoding declaration',
    refusal: 'The request was refused: only UTF-8 is accepted, not iso-8859-1.',
    build: (r) => edit(r, (xml) => `<?xml version="1.0" encoding="ISO-8859-1"?>${xml.replace(/^<\?xml[^>]*\?>/, '')}`),
  },
  {
    name: 'an oversized body announced by Content-Length',
    refusal: 'The request was refused: the request body is larger than 262144 bytes.',
    build: (r, { limits }) => inHeader(r, padding(limits.maxBodyBytes)),
  },
  {
    name: 'an oversized body sent chunked (no Content-Length)',
    refusal: 'The request was refused: the request body is larger than 262144 bytes.',
    build: (r, { limits }) => ({ ...inHeader(r, padding(limits.maxBodyBytes)), chunked: true }),
  },
  {
    name: 'a gzip bomb (Content-Encoding: gzip, 8 MiB compressed to kilobytes), never inflated',
    refusal: 'The request was refused: the XML holds a character XML does not allow.',
    build: (r) => ({ ...r, headers: { ...r.headers, 'Content-Encoding': 'gzip' }, body: gzipBomb(8) }),
  },
  {
    name: 'nesting one level beyond limits.maxDepth',
    refusal: 'The request was refused: the XML is nested deeper than 48 levels.',
    build: (r, { limits }) => inHeader(r, nested(limits.maxDepth)),
  },
  {
    name: 'nesting 10,000 levels deep (a recursive parser\'s stack)',
    refusal: 'The request was refused: the XML is nested deeper than 48 levels.',
    build: (r) => inHeader(r, nestedCompact(10_000)),
  },
  {
    name: 'one element more than limits.maxElements',
    refusal: 'The request was refused: the XML has more than 4000 elements.',
    build: (r, { limits }) => inHeader(r, many(limits.maxElements)),
  },
  {
    name: 'an element with more attributes than limits.maxAttributesPerElement',
    refusal: 'The request was refused: an element has more than 48 attributes.',
    build: (r, { limits }) => inHeader(r, manyAttributes(limits.maxAttributesPerElement + 1)),
  },
  {
    name: 'two root elements (a second Envelope after the first)',
    refusal: 'The request was refused: the XML has more than one root element.',
    build: (r) => edit(r, (xml) => secondRoot(xml, xml.replace(/^<\?xml[^>]*\?>/, ''))),
  },
  {
    name: 'text after the root element',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => `${xml}trailing`),
  },
  {
    name: 'an unescaped "&" in text',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => xml.replace(/(<(?:\w+:)?MessageID>)/, '$1a & b ')),
  },
  {
    name: 'a character reference to U+0000 (&#0;) in the MessageID, which the reply would echo',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => xml.replace(/(<(?:\w+:)?MessageID>)/, '$1&#0;')),
  },
  {
    name: 'a character reference to a lone surrogate (&#xD800;)',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => xml.replace(/(<(?:\w+:)?MessageID>)/, '$1&#xD800;')),
  },
  {
    name: 'a character reference beyond Unicode (&#1114112;)',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => xml.replace(/(<(?:\w+:)?MessageID>)/, '$1&#1114112;')),
  },
  {
    name: 'a literal control character (U+0001) in the MessageID',
    refusal: 'The request was refused: the XML holds a character XML does not allow.',
    build: (r) => edit(r, (xml) => xml.replace(/(<(?:\w+:)?MessageID>)/, '$1\u0001')),
  },
  {
    name: 'an unterminated CDATA section',
    refusal: 'The request was refused: the XML is not well-formed.',
    build: (r) => edit(r, (xml) => xml.replace('</s:Header>', '<![CDATA[never ends</s:Header>')),
  },
  {
    name: 'XInclude of /etc/passwd and of a loopback URL in a header block (not processed)',
    refusal: undefined,
    build: (r, { url }) =>
      inHeader(
        r,
        `<x:Box xmlns:x="urn:example:xi" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/><xi:include href="${url}"/></x:Box>`,
      ),
  },
  {
    name: 'an xml-stylesheet processing instruction naming a loopback URL (not processed)',
    refusal: undefined,
    build: (r, { url }) => edit(r, (xml) => xml.replace(/^(<\?xml[^>]*\?>)?/, `$1<?xml-stylesheet type="text/xsl" href="${url}"?>`)),
  },
];

describe('attacks: hostile XML documents on every WS-Trust endpoint', function () {
  this.timeout(60_000);
  let sts: AttackSts;
  let outbound: OutboundListener;
  let endpoints: Endpoint[];

  before(async () => {
    sts = await startAttackSts();
    outbound = await startOutboundListener();
    assert.ok(passwdLines.length > 0, 'the leak check needs /etc/passwd lines to look for');
    endpoints = [
      {
        name: 'usernamemixed 1.3 (SOAP 1.2)',
        soap: '1.2',
        trust: '1.3',
        valid: () => sts.request({ op: 'Issue', rstBody: appliesTo(RP) }),
        attack: sts.attack,
        servedRows: { issuance_ledger: 1 },
      },
      {
        name: 'usernamemixed 2005 (SOAP 1.1)',
        soap: '1.1',
        trust: '2005',
        valid: () => sts.request({ op: 'Issue', version: '2005', soap: '1.1', rstBody: appliesTo(RP) }),
        attack: sts.attack,
        servedRows: { issuance_ledger: 1 },
      },
      {
        name: 'certificatemixed 1.3 (SOAP 1.2)',
        soap: '1.2',
        trust: '1.3',
        valid: () => ({ path: CERTIFICATE_MIXED_PATH, headers: CERTIFICATE_MIXED_HEADERS, body: sts.signedMessage().xml }),
        attack: sts.attackCertificateMixed,
        servedRows: { issuance_ledger: 1, replay_cache: 1 },
      },
    ];
  });
  afterEach(() => {
    assert.equal(outbound.connections(), 0, 'the server connected to a URL named by the attack');
  });
  after(async () => {
    await outbound?.close();
    await sts?.stop();
  });

  for (const endpointName of ['usernamemixed 1.3 (SOAP 1.2)', 'usernamemixed 2005 (SOAP 1.1)', 'certificatemixed 1.3 (SOAP 1.2)']) {
    describe(endpointName, () => {
      const endpoint = (): Endpoint => endpoints.find((e) => e.name === endpointName) as Endpoint;
      for (const a of ATTACKS) {
        const answer = a.refusal === undefined ? 'served, the attack inert' : 'wst:InvalidRequest';
        it(`${a.name} on ${endpointName} → ${answer}`, async () => {
          const e = endpoint();
          const hostile = a.build(e.valid(), { url: outbound.url, limits: sts.instance.config.limits });
          const res = await e.attack(() => sts.post(hostile.path, hostile), a.refusal === undefined ? { store: { rowsAdded: e.servedRows } } : {});
          if (a.refusal === undefined) {
            assert.equal(res.status, 200, res.body.slice(0, 600));
          } else {
            expectSoapFault(res, { soap: e.soap, trust: e.trust, family: 'wst', code: 'InvalidRequest', reason: a.refusal });
          }
          for (const line of passwdLines) assert.ok(!res.body.includes(line), 'no /etc/passwd content in the answer');
        });
      }
    });
  }

  describe('comment and CDATA truncation in the password (usernamemixed 1.3, SOAP 1.2)', () => {
    const withPasswordXml = (rawPasswordXml: string): RawRequest => {
      const req = buildRst({ usernameToken: { username: ATTACKER, password: '', rawPasswordXml }, appliesTo: RP });
      return { path: req.path, headers: req.headers, body: req.body };
    };
    const failedAuthentication = { soap: '1.2', trust: '1.3', family: 'wsse', code: 'FailedAuthentication', reason: 'The security token could not be authenticated or authorized.' } as const;

    it('the real password, a comment, then more text → wsse:FailedAuthentication (all the text is the password)', async () => {
      const res = await sts.attack(() => sts.post(PATH_13, withPasswordXml(`${xmlEscape(passwordOf(ATTACKER))}<!-- cut -->-not-really`)));
      expectSoapFault(res, failedAuthentication);
    });

    it('the real password in CDATA, then more text → wsse:FailedAuthentication', async () => {
      const res = await sts.attack(() => sts.post(PATH_13, withPasswordXml(`<![CDATA[${passwordOf(ATTACKER)}]]>-not-really`)));
      expectSoapFault(res, failedAuthentication);
    });

    it('positive control: the real password split by a comment is the real password (comments are not text) → served', async () => {
      const password = xmlEscape(passwordOf(ATTACKER));
      const res = await sts.attack(() => sts.post(PATH_13, withPasswordXml(`${password.slice(0, 5)}<!-- split -->${password.slice(5)}`)), { store: { rowsAdded: { issuance_ledger: 1 } } });
      assert.equal(res.status, 200, res.body.slice(0, 600));
    });
  });

  it('nesting beyond limits.maxDepth inside an inline token in ValidateTarget → wst:InvalidRequest, before any signature work', async () => {
    const token = await sts.issue();
    const deep = token.replace('</Subject>', `${nested(sts.instance.config.limits.maxDepth)}</Subject>`);
    const res = await sts.attack(() => sts.send({ op: 'Validate', rstBody: validateTarget(deep) }));
    expectSoapFault(res, { soap: '1.2', trust: '1.3', family: 'wst', code: 'InvalidRequest', reason: 'The request was refused: the XML is nested deeper than 48 levels.' });
  });
});
