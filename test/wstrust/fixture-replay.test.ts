import { CLIENT_FIXTURES_DIR } from '../support/fixtures';
import { strict as assert } from 'node:assert';
import { constants, createHmac, privateDecrypt, randomBytes } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { NS, SAML2, SAML2_SAMLID_VALUE_TYPE, TOKEN_TYPE, TRUST13, TRUST2005, WSSE_PASSWORD_TEXT } from '../../src/xml/namespaces';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { children, only, parseFault, parseIssueResponse, parseStrict, path, text } from '../support/soap-reply';
import { postToSts } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { passwordDigest, PATH_13, PATH_2005 } from '../support/wstrust-request';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// Replays what real WS-Trust clients sent (captured in shared/fixtures/clients beside the repository) against a
// live server, made fresh (timestamps, nonce, digest) and given credentials where the client sent none.

const FIXTURE_DIR = CLIENT_FIXTURES_DIR;
const USER = 'alice@example.com';
const FIXTURES = [
  'adal-mex-2',
  'adal-direct-2005-1',
  'zeep-text-ts-1',
  'zeep-digest-ts-1',
  'zeep-text-nots-soap11-1',
  'mono-c-custom-1',
  'mono-c-soap11-1',
  'mono-c-custom-symkey-1',
  'mono-ws2007-transport-1',
] as const;
type FixtureName = (typeof FIXTURES)[number];
const PROOF_KEY_FIXTURE: FixtureName = 'mono-c-custom-symkey-1';
/** Password for captures that carry none (Mono) and the candidate a digest capture is checked against. */
const DEFAULT_PASSWORD = 'P@ssw0rd!';

interface RawHttpRequest {
  readonly method: string;
  readonly target: string;
  /** Header lines in order, names as captured. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The body exactly as captured, byte-order mark included. */
  readonly body: Buffer;
}

/** Splits a captured HTTP/1.1 request into request line, header lines and the body bytes. */
function readCapture(name: string): RawHttpRequest {
  const raw = readFileSync(join(FIXTURE_DIR, `${name}.http`));
  const split = raw.indexOf('\r\n\r\n');
  assert.ok(split > 0, `${name}: no end of headers`);
  const head = raw.subarray(0, split).toString('latin1').split('\r\n');
  const [method, target] = (head[0] ?? '').split(' ');
  assert.ok(method && target, `${name}: bad request line`);
  const headers = head.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as const;
  });
  return { method, target, headers, body: raw.subarray(split + 4) };
}

const decodeXmlText = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

interface PreparedFixture {
  readonly name: FixtureName;
  readonly trust: '1.3' | '2005';
  readonly soapNs: string;
  readonly path: string;
  readonly password: string;
  readonly digest: boolean;
  readonly messageId: string;
  readonly appliesTo: string;
  readonly capture: RawHttpRequest;
}

function describeCapture(name: FixtureName): PreparedFixture {
  const capture = readCapture(name);
  const xml = capture.body.toString('utf8');
  const trust = xml.includes(NS.wst2005) ? '2005' : '1.3';
  const soapNs = xml.includes(NS.soap12) ? NS.soap12 : NS.soap11;
  const pw = /<wsse:Password([^>]*)>([^<]*)<\/wsse:Password>/.exec(xml);
  const digest = pw !== null && (pw[1] ?? '').includes('#PasswordDigest');
  let password = pw && !digest ? decodeXmlText(pw[2] ?? '') : DEFAULT_PASSWORD;
  if (digest) {
    // The capture does not carry the password itself; prove which one it was made with.
    const nonce = /<wsse:Nonce[^>]*>([^<]*)</.exec(xml)?.[1] ?? '';
    const created = /<wsse:UsernameToken>[\s\S]*<(?:\w+:)?Created[^>]*>([^<]*)</.exec(xml)?.[1] ?? '';
    assert.equal(passwordDigest(Buffer.from(nonce, 'base64'), created, DEFAULT_PASSWORD), pw?.[2]);
    password = DEFAULT_PASSWORD;
  }
  const messageId = /<(?:\w+:)?(?:MessageID|messageID)\b[^>]*>([^<]*)</.exec(xml)?.[1];
  assert.ok(messageId, `${name}: no MessageID`);
  const appliesTo = /<(?:\w+:)?EndpointReference\b[^>]*>\s*<(?:\w+:)?Address>([^<]*)</.exec(xml)?.[1];
  assert.ok(appliesTo, `${name}: no AppliesTo`);
  return {
    name,
    trust,
    soapNs,
    path: trust === '2005' ? PATH_2005 : PATH_13,
    password,
    digest,
    messageId,
    appliesTo,
    capture,
  };
}

/** The same timestamp format as the capture: with milliseconds if it had them. */
function like(sample: string, d: Date): string {
  const iso = d.toISOString();
  return /\.\d+Z$/.test(sample) ? iso : iso.replace(/\.\d{3}Z$/, 'Z');
}

/** The capture's body made fresh: new Timestamp, new Nonce/Created/digest, and a UsernameToken if it had none. */
function freshBody(f: PreparedFixture): Buffer {
  let xml = f.capture.body.toString('utf8');
  const now = new Date();
  const expires = new Date(now.getTime() + 5 * 60 * 1000);
  xml = xml.replace(/<((?:[\w-]+:)?)Timestamp\b[\s\S]*?<\/\1Timestamp>/, (block) =>
    block
      .replace(/(<(?:[\w-]+:)?Created\b[^>]*>)([^<]*)/, (_m, open: string, old: string) => open + like(old, now))
      .replace(/(<(?:[\w-]+:)?Expires\b[^>]*>)([^<]*)/, (_m, open: string, old: string) => open + like(old, expires)),
  );
  if (f.digest) {
    const nonce = randomBytes(16);
    xml = xml.replace(/<wsse:UsernameToken\b[\s\S]*?<\/wsse:UsernameToken>/, (block) => {
      let created = '';
      const withCreated = block.replace(/(<(?:[\w-]+:)?Created\b[^>]*>)([^<]*)/, (_m, open: string, old: string) => {
        created = like(old, now);
        return open + created;
      });
      return withCreated
        .replace(/(<wsse:Nonce\b[^>]*>)[^<]*/, (_m, open: string) => open + nonce.toString('base64'))
        .replace(/(<wsse:Password\b[^>]*>)[^<]*/, (_m, open: string) => open + passwordDigest(nonce, created, f.password));
    });
  }
  if (!xml.includes(NS.wsse)) {
    const security =
      `<wsse:Security xmlns:wsse="${NS.wsse}"><wsse:UsernameToken><wsse:Username>${USER}</wsse:Username>` +
      `<wsse:Password Type="${WSSE_PASSWORD_TEXT}">${f.password.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</wsse:Password>` +
      `</wsse:UsernameToken></wsse:Security>`;
    const close = /<\/((?:[\w-]+:)?)Header>/.exec(xml);
    assert.ok(close, `${f.name}: no SOAP Header to put the Security header in`);
    xml = xml.slice(0, close.index) + security + xml.slice(close.index);
  }
  const out = Buffer.from(xml, 'utf8');
  // The Mono captures start with a UTF-8 BOM; it must still be there.
  assert.equal(
    out.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])),
    f.capture.body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])),
    'the byte-order mark is kept as captured',
  );
  return out;
}

/** The capture's own headers, minus Host and Expect, with Content-Length for the fresh body. */
function replayHeaders(f: PreparedFixture, body: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of f.capture.headers) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'expect' || lower === 'content-length') continue;
    headers[name] = value;
  }
  headers['Content-Length'] = String(body.length);
  return headers;
}

const PSHA1 = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1';

/** P_SHA-1 (TLS 1.0 P_hash): WS-Trust's computed key from requestor entropy (secret) and issuer entropy (seed). */
function pSha1(secret: Buffer, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let a = seed;
  for (let produced = 0; produced < length; produced += 20) {
    a = createHmac('sha1', secret).update(a).digest();
    out.push(createHmac('sha1', secret).update(a).update(seed).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

interface XmlEncryptionModule {
  decrypt(xml: string, options: { key: string }, callback: (err: Error | null, result?: string) => void): void;
}
// xml-encryption ships no types; it is the relying-party side here, independent of our encryption code.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const xmlenc = require('xml-encryption') as XmlEncryptionModule;

function decryptXml(encryptedDataXml: string, privateKeyPem: string): Promise<string> {
  return new Promise((resolve, reject) =>
    xmlenc.decrypt(encryptedDataXml, { key: privateKeyPem }, (err, result) => (err ? reject(err) : resolve(result ?? ''))),
  );
}

describe('wstrust: replaying captured third-party client requests', function () {
  this.timeout(30_000);
  const prepared = FIXTURES.map(describeCapture);
  const passwords = [...new Set(prepared.map((f) => f.password))];
  let otherCertificatePem: string;

  before(() => {
    otherCertificatePem = generateSelfSignedCertificate({ commonName: 'not-the-sts', validDays: 1 }).certificatePem;
  });

  it('reads every capture: version, SOAP version and credentials as documented', () => {
    const byName = new Map(prepared.map((f) => [f.name, f]));
    assert.equal(byName.get('adal-mex-2')?.password, 'P@ss<&>w0rd');
    assert.equal(byName.get('adal-direct-2005-1')?.trust, '2005');
    assert.equal(byName.get('zeep-digest-ts-1')?.digest, true);
    assert.equal(byName.get('zeep-text-nots-soap11-1')?.soapNs, NS.soap11);
    assert.equal(byName.get('mono-c-soap11-1')?.soapNs, NS.soap11);
    assert.equal(byName.get('mono-c-custom-1')?.capture.body[0], 0xef, 'Mono captures carry a BOM');
    assert.equal(prepared.filter((f) => f.trust === '2005').length, 1);
  });

  // One server per distinct password: the user name is the same in every capture.
  for (const password of passwords) {
    const group = prepared.filter((f) => f.password === password);
    describe(`captures made with user ${USER} and password #${passwords.indexOf(password) + 1} (${group.map((f) => f.name).join(', ')})`, () => {
      let sts: TestSts;

      before(async () => {
        sts = await startTestSts();
        recordLogs(sts.logs);
        recordPassword(password);
        await sts.addUser({ name: USER, password, claims: [], allowPasswordDigest: true });
        await sts.addRelyingParty({ appliesTo: 'https://rp.example.com/' });
        await sts.addRelyingParty({ appliesTo: 'urn:federation:MicrosoftOnline' });
      });

      after(async () => {
        await sts?.stop();
      });

      for (const f of group) {
        if (f.name === PROOF_KEY_FIXTURE) {
          // Specified as "the proof-key fault this build gives, naming SymmetricKey". Since commit 75d1737 proof keys are
          // offered and the refusal is for a relying party without an encryption certificate (as here); its reason says
          // "symmetric proof key". The served case is the describe block below.
          it(`${f.name}: for a relying party without encryption certificate, refused with SOAP 1.2 Sender, t:BadRequest (WS-Trust 1.3), naming the symmetric proof key`, async () => {
            const body = freshBody(f);
            const before = await sts.instance.store.ledger.count();
            const res = await postToSts(`${sts.baseUrl}${f.path}`, {
              ca: sts.tlsCertificatePem,
              headers: replayHeaders(f, body),
              body,
            });
            assert.equal(res.status, 400, res.body);
            assert.match(String(res.headers['content-type']), /^application\/soap\+xml/);
            const fault = parseFault(res.body);
            assert.equal(fault.soapVersion, '1.2');
            assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
            assert.deepEqual(fault.subcode, { ns: NS.wst13, local: 'BadRequest' });
            assert.match(fault.reason, /SymmetricKey|symmetric proof key/i);
            assert.equal(fault.relatesTo, f.messageId);
            assert.equal(await sts.instance.store.ledger.count(), before);
          });
          continue;
        }

        it(`${f.name}: WS-Trust ${f.trust} over SOAP ${f.soapNs === NS.soap12 ? '1.2' : '1.1'} gets a signed SAML 2.0 token in the form its client parses`, async () => {
          const body = freshBody(f);
          const res = await postToSts(`${sts.baseUrl}${f.path}`, {
            ca: sts.tlsCertificatePem,
            headers: replayHeaders(f, body),
            body,
          });
          assert.equal(res.status, 200, res.body.slice(0, 600));
          const soap12 = f.soapNs === NS.soap12;
          assert.match(String(res.headers['content-type']), soap12 ? /^application\/soap\+xml/ : /^text\/xml/);

          const reply = parseIssueResponse(res.body, f.trust);
          assert.equal(reply.soapNs, f.soapNs, 'the reply uses the SOAP version of the request');
          assert.equal(reply.relatesTo, f.messageId, 'wsa:RelatesTo carries the request MessageID');
          const uris = f.trust === '1.3' ? TRUST13 : TRUST2005;
          assert.equal(reply.action, uris.issueResponseAction);

          const wst = uris.ns;
          const rstr = reply.rstr;
          assert.equal(text(only(rstr, wst, 'TokenType')), TOKEN_TYPE.saml20);
          const lifetime = only(rstr, wst, 'Lifetime');
          const created = Date.parse(text(only(lifetime, NS.wsu, 'Created')));
          const expires = Date.parse(text(only(lifetime, NS.wsu, 'Expires')));
          assert.ok(Number.isFinite(created) && Number.isFinite(expires) && expires > created, 'Lifetime Created < Expires');
          assert.equal(
            text(path(rstr, [[NS.wsp, 'AppliesTo'], [NS.wsa10, 'EndpointReference'], [NS.wsa10, 'Address']])),
            f.appliesTo,
          );
          const assertionId = reply.assertion.getAttribute('ID');
          assert.ok(assertionId);
          for (const ref of ['RequestedAttachedReference', 'RequestedUnattachedReference']) {
            const keyId = path(rstr, [[wst, ref], [NS.wsse, 'SecurityTokenReference'], [NS.wsse, 'KeyIdentifier']]);
            assert.equal(keyId.getAttribute('ValueType'), SAML2_SAMLID_VALUE_TYPE);
            assert.equal(text(keyId), assertionId, `${ref} names the assertion`);
          }
          // ADAL's XPath: 2005 //s:Envelope/s:Body/t:RequestSecurityTokenResponse/t:TokenType, 1.3 through the Collection.
          const body2 = only(reply.doc.documentElement, f.soapNs, 'Body');
          if (f.trust === '2005') {
            assert.equal(children(body2, NS.wst2005, 'RequestSecurityTokenResponse').length, 1);
          } else {
            assert.equal(children(body2, NS.wst13, 'RequestSecurityTokenResponseCollection').length, 1);
          }
          if (f.name.startsWith('adal')) {
            assert.equal(res.headers['client-request-id'], '00000000-0000-0000-0000-000000000001', 'ADAL correlation id echoed');
          }

          const good = verifyWithXmlsec1(reply.assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
          assert.ok(good.ok, `xmlsec1 must verify with the signing certificate: ${good.output}`);
          const bad = verifyWithXmlsec1(reply.assertionXml, otherCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
          assert.equal(bad.ok, false, 'xmlsec1 must refuse the assertion against another certificate');

          const entry = await sts.instance.store.ledger.get(assertionId);
          assert.equal(entry?.subject, USER);
          assert.equal(entry?.audience, f.appliesTo);
        });
      }
    });
  }

  describe('mono-c-custom-symkey-1 against a relying party with an encryption certificate (proof keys offered)', () => {
    let sts: TestSts;
    const rpKeys = generateSelfSignedCertificate({ commonName: 'rp.example.com encryption', validDays: 1 });
    const f = prepared.find((p) => p.name === PROOF_KEY_FIXTURE) as PreparedFixture;

    before(async () => {
      sts = await startTestSts();
      recordLogs(sts.logs);
      recordPassword(f.password);
      await sts.addUser({ name: USER, password: f.password, claims: [] });
      await sts.addRelyingParty({
        appliesTo: 'https://rp.example.com/',
        encryptionCertificatePem: rpKeys.certificatePem,
        tokenEncryption: 'aes256-gcm',
      });
    });

    after(async () => {
      await sts?.stop();
    });

    it('gets a computed PSHA1 proof key (server Entropy, RequestedProofToken/ComputedKey) and an EncryptedAssertion whose holder-of-key is P_SHA1(client, server entropy)', async () => {
      const body = freshBody(f);
      const res = await postToSts(`${sts.baseUrl}${f.path}`, { ca: sts.tlsCertificatePem, headers: replayHeaders(f, body), body });
      assert.equal(res.status, 200, res.body.slice(0, 600));
      const doc = parseStrict(res.body);
      const env = doc.documentElement;
      assert.equal(env.namespaceURI, NS.soap12);
      const relatesTo = children(only(env, NS.soap12, 'Header'), NS.wsa10, 'RelatesTo')[0];
      assert.equal(relatesTo && text(relatesTo), f.messageId);
      const rstr = path(env, [
        [NS.soap12, 'Body'],
        [NS.wst13, 'RequestSecurityTokenResponseCollection'],
        [NS.wst13, 'RequestSecurityTokenResponse'],
      ]);
      assert.equal(text(only(rstr, NS.wst13, 'KeyType')), TRUST13.keyTypeSymmetric);
      assert.equal(text(path(rstr, [[NS.wst13, 'RequestedProofToken'], [NS.wst13, 'ComputedKey']])), PSHA1);
      const serverEntropy = Buffer.from(text(path(rstr, [[NS.wst13, 'Entropy'], [NS.wst13, 'BinarySecret']])), 'base64');
      assert.ok(serverEntropy.length >= 16, 'server entropy');
      const clientEntropyText = /<trust:BinarySecret[^>]*>([^<]*)</.exec(f.capture.body.toString('utf8'))?.[1] ?? '';
      const expectedKey = pSha1(Buffer.from(clientEntropyText, 'base64'), serverEntropy, 256 / 8);

      const encrypted = path(rstr, [[NS.wst13, 'RequestedSecurityToken'], [NS.saml2, 'EncryptedAssertion']]);
      const encryptedData = only(encrypted, NS.xenc, 'EncryptedData');
      const assertionXml = await decryptXml(new XMLSerializer().serializeToString(encryptedData), rpKeys.privateKeyPem);
      const verified = verifyWithXmlsec1(assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
      assert.ok(verified.ok, `the decrypted assertion verifies: ${verified.output}`);

      const assertion = parseStrict(assertionXml).documentElement;
      const confirmation = path(assertion, [[NS.saml2, 'Subject'], [NS.saml2, 'SubjectConfirmation']]);
      assert.equal(confirmation.getAttribute('Method'), SAML2.holderOfKey);
      const encryptedKey = path(confirmation, [
        [NS.saml2, 'SubjectConfirmationData'],
        [NS.ds, 'KeyInfo'],
        [NS.xenc, 'EncryptedKey'],
      ]);
      const wrapped = Buffer.from(text(path(encryptedKey, [[NS.xenc, 'CipherData'], [NS.xenc, 'CipherValue']])), 'base64');
      const proofKey = privateDecrypt(
        { key: rpKeys.privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        wrapped,
      );
      assert.ok(proofKey.equals(expectedKey), 'the holder-of-key is P_SHA1(client entropy, server entropy)');
    });
  });
});
