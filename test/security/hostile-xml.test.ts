import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { NS } from '../../src/xml/namespaces';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { parseFault } from '../support/soap-reply';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { buildRst, xmlEscape, type BuiltRequest } from '../support/wstrust-request';

// Hostile XML replayed against a live server: each attack is refused with a SOAP fault, quickly,
// without leaking local files, without issuing anything, and the server keeps serving.

const USER = 'erin@example.com';
const PASSWORD = 'Hostile-Suite-P@ss-1';
const RP = 'https://rp.example.com/';
const MAX_MS = 200;

const S12 = NS.soap12;
const ENVELOPE_OPEN = `<s:Envelope xmlns:s="${S12}">`;

/** /etc/passwd lines that must never appear in a response (the file exists on this machine). */
function passwdLines(): string[] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .filter((l) => l.includes(':'));
  } catch {
    return [];
  }
}

function valid(): BuiltRequest {
  return buildRst({ usernameToken: { username: USER, password: PASSWORD } });
}

/** A valid request with `prolog` put before the root element. */
function withProlog(prolog: string, usernameXml = xmlEscape(USER)): BuiltRequest {
  const req = valid();
  const body = req.body
    .replace('<?xml version="1.0" encoding="utf-8"?>', `<?xml version="1.0" encoding="utf-8"?>${prolog}`)
    .replace(`<wsse:Username>${xmlEscape(USER)}</wsse:Username>`, `<wsse:Username>${usernameXml}</wsse:Username>`);
  return { ...req, body };
}

/** A valid request with `xml` added as a header block. */
function withHeaderBlock(xml: string): BuiltRequest {
  const req = valid();
  return { ...req, body: req.body.replace('</s:Header>', `${xml}</s:Header>`) };
}

describe('security: hostile XML', function () {
  this.timeout(30_000);
  let sts: TestSts;
  const passwd = passwdLines();

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD);
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });

  after(async () => {
    await sts?.stop();
  });

  async function post(req: BuiltRequest, chunked = false): Promise<PostResult> {
    return postToSts(`${sts.baseUrl}${req.path}`, {
      ca: sts.tlsCertificatePem,
      headers: chunked ? { ...req.headers } : req.headers,
      body: req.body,
      chunked,
    });
  }

  /** Sends the attack and checks everything every hostile input must get. */
  async function refused(
    req: BuiltRequest,
    expected: { ns: string; local: string },
    options: { chunked?: boolean } = {},
  ): Promise<PostResult> {
    const before = await sts.instance.store.ledger.count();
    const res = await post(req, options.chunked);
    assert.ok(res.elapsedMs < MAX_MS, `answered in ${res.elapsedMs.toFixed(1)} ms (limit ${MAX_MS} ms)`);
    assert.equal(res.status, 400, `a SOAP 1.2 Sender fault; body: ${res.body.slice(0, 500)}`);
    const fault = parseFault(res.body);
    assert.deepEqual(fault.code, { ns: S12, local: 'Sender' });
    assert.deepEqual(fault.subcode, expected);
    assert.ok(!res.body.includes('root:'), 'no "root:" in the response');
    for (const line of passwd) assert.ok(!res.body.includes(line), 'no /etc/passwd content in the response');
    assert.equal(await sts.instance.store.ledger.count(), before, 'nothing issued');
    // The server is still alive and serving.
    const after = await post(valid());
    assert.equal(after.status, 200, after.body.slice(0, 600));
    return res;
  }

  const invalidRequest = { ns: NS.wst13, local: 'InvalidRequest' };
  const failedAuthentication = { ns: NS.wsse, local: 'FailedAuthentication' };

  it('control: the valid request every attack is built from is served', async () => {
    const res = await post(valid());
    assert.equal(res.status, 200, res.body);
  });

  it('billion laughs (nested internal entities)', async () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    await refused(withProlog(`<!DOCTYPE s:Envelope [${entities.join('')}]>`, '&lol9;'), invalidRequest);
  });

  it('XXE: an external entity naming file:///etc/passwd', async () => {
    await refused(withProlog('<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', '&xxe;'), invalidRequest);
  });

  it('an external DTD (SYSTEM identifier on loopback)', async () => {
    await refused(withProlog('<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'), invalidRequest);
  });

  it('parameter entities (an external parameter entity expanded in the internal subset)', async () => {
    await refused(
      withProlog('<!DOCTYPE s:Envelope [<!ENTITY % p SYSTEM "file:///etc/passwd"><!ENTITY % q "<!ENTITY leak \'%p;\'>"> %q;]>', '&leak;'),
      invalidRequest,
    );
  });

  it('a DOCTYPE without any entity', async () => {
    await refused(withProlog('<!DOCTYPE s:Envelope>'), invalidRequest);
  });

  it('an oversized body announced by Content-Length', async () => {
    const limit = sts.instance.config.limits.maxBodyBytes;
    const req = valid();
    const body = req.body.replace('</s:Header>', `<!--${'x'.repeat(limit)}--></s:Header>`);
    assert.ok(Buffer.byteLength(body) > limit);
    await refused({ ...req, body }, invalidRequest);
  });

  it('an oversized body sent chunked, without Content-Length', async () => {
    const limit = sts.instance.config.limits.maxBodyBytes;
    const req = valid();
    const body = req.body.replace('</s:Header>', `<!--${'x'.repeat(limit)}--></s:Header>`);
    await refused({ ...req, body }, invalidRequest, { chunked: true });
  });

  it('nesting deeper than limits.maxDepth', async () => {
    const depth = sts.instance.config.limits.maxDepth + 1;
    await refused(withHeaderBlock(`${'<x:d xmlns:x="urn:example:deep">'.repeat(depth)}${'</x:d>'.repeat(depth)}`), invalidRequest);
  });

  it('more elements than limits.maxElements', async () => {
    const count = sts.instance.config.limits.maxElements + 1;
    await refused(withHeaderBlock(`<x:m xmlns:x="urn:example:many">${'<x:e/>'.repeat(count)}</x:m>`), invalidRequest);
  });

  it('an element with more attributes than limits.maxAttributesPerElement', async () => {
    const count = sts.instance.config.limits.maxAttributesPerElement + 1;
    const attrs = Array.from({ length: count }, (_, i) => ` a${i}="v"`).join('');
    await refused(withHeaderBlock(`<x:a xmlns:x="urn:example:attrs"${attrs}/>`), invalidRequest);
  });

  it('two root elements', async () => {
    const req = valid();
    await refused({ ...req, body: `${req.body}${ENVELOPE_OPEN}<s:Body/></s:Envelope>` }, invalidRequest);
  });

  it('text after the root element (not well-formed)', async () => {
    const req = valid();
    await refused({ ...req, body: `${req.body}trailing-garbage` }, invalidRequest);
  });

  it('an unescaped "&" in text (not well-formed)', async () => {
    const req = valid();
    await refused({ ...req, body: req.body.replace('<wsa:MessageID>', '<wsa:MessageID>a & b ') }, invalidRequest);
  });

  it('a non-UTF-8 encoding declaration (ISO-8859-1)', async () => {
    const req = valid();
    await refused(
      { ...req, body: req.body.replace('encoding="utf-8"', 'encoding="ISO-8859-1"') },
      invalidRequest,
    );
  });

  it('a password truncated by a comment: the real password, a comment, then more text is not the password', async () => {
    // A reader that takes only the first text node would see the right password here.
    const req = buildRst({
      usernameToken: { username: USER, password: PASSWORD, rawPasswordXml: `${xmlEscape(PASSWORD)}<!-- cut -->-not-really` },
    });
    await refused(req, failedAuthentication);
  });

  it('a CDATA password followed by more text is not the password', async () => {
    const req = buildRst({
      usernameToken: { username: USER, password: PASSWORD, rawPasswordXml: `<![CDATA[${PASSWORD}]]>-not-really` },
    });
    await refused(req, failedAuthentication);
  });
});
