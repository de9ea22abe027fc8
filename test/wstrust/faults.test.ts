import { strict as assert } from 'node:assert';
import { constants, randomBytes, sign } from 'node:crypto';
import { signingKeyFor, type SigningKey } from '../../src/keys/signing-key';
import { NS } from '../../src/xml/namespaces';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { findLeaks, pemSecret } from '../support/secret-scan';
import { parseFault, type ParsedFault } from '../support/soap-reply';
import { stealActiveKey } from '../support/stolen-key';
import { assertStoreUnchanged, takeStoreSnapshot } from '../support/store-snapshot';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import {
  buildRst,
  isoSeconds,
  soapNsOf,
  trustOf,
  type BuiltRequest,
  type RstSpec,
  type SoapVersion,
  type TrustVersion,
} from '../support/wstrust-request';

// Every fault the usernamemixed endpoints give, in both SOAP versions and both WS-Trust versions,
// with its exact code, HTTP status and the promises every fault keeps (request id, no secrets, no stack).

const USER = 'carol@example.com';
const PASSWORD = 'Fault-Suite-Correct-Horse-9#';
const WRONG_PASSWORD = 'Fault-Suite-Wrong-Battery-7$';
const NO_DIGEST_USER = 'dave@example.com';
const NO_DIGEST_PASSWORD = 'Fault-Suite-Dave-Staple-5%';
const RP = 'https://rp.example.com/';
const MINUTE = 60 * 1000;

type Family = 'wst' | 'wsse' | 'wsa' | 'soap';

interface FaultCase {
  readonly name: string;
  readonly family: Family;
  readonly code: string;
  readonly request: (soap: SoapVersion, trust: TrustVersion) => BuiltRequest;
}

const ut = { username: USER, password: PASSWORD };
const rst = (spec: RstSpec) => (soap: SoapVersion, trust: TrustVersion) => buildRst({ usernameToken: ut, soap, trust, ...spec });

const CASES: readonly FaultCase[] = [
  {
    name: 'wrong password',
    family: 'wsse',
    code: 'FailedAuthentication',
    request: rst({ usernameToken: { username: USER, password: WRONG_PASSWORD } }),
  },
  {
    name: 'unknown user',
    family: 'wsse',
    code: 'FailedAuthentication',
    request: rst({ usernameToken: { username: 'nobody@example.com', password: PASSWORD } }),
  },
  { name: 'no wsse:Security header', family: 'wsse', code: 'InvalidSecurity', request: rst({ security: false }) },
  { name: 'wsse:Security without UsernameToken', family: 'wsse', code: 'InvalidSecurity', request: rst({ usernameToken: null }) },
  {
    name: 'expired Timestamp',
    family: 'wsse',
    code: 'MessageExpired',
    request: rst({ timestamp: { created: isoSeconds(-30 * MINUTE), expires: isoSeconds(-20 * MINUTE) } }),
  },
  {
    name: 'Timestamp Created in the future beyond the clock skew',
    family: 'wsse',
    code: 'MessageExpired',
    request: rst({ timestamp: { created: isoSeconds(20 * MINUTE), expires: isoSeconds(25 * MINUTE) } }),
  },
  {
    name: 'UsernameToken Created too old',
    family: 'wsse',
    code: 'MessageExpired',
    request: (soap, trust) =>
      buildRst({ soap, trust, usernameToken: { ...ut, nonce: randomBytes(16), created: isoSeconds(-30 * MINUTE) } }),
  },
  {
    name: 'UsernameToken Created in the future beyond the clock skew',
    family: 'wsse',
    code: 'MessageExpired',
    request: (soap, trust) =>
      buildRst({ soap, trust, usernameToken: { ...ut, nonce: randomBytes(16), created: isoSeconds(30 * MINUTE) } }),
  },
  {
    name: 'PasswordDigest for a user not allowed digest',
    family: 'wsse',
    code: 'FailedAuthentication',
    request: rst({ usernameToken: { username: NO_DIGEST_USER, password: NO_DIGEST_PASSWORD, passwordType: 'digest' } }),
  },
  { name: 'unknown AppliesTo', family: 'wst', code: 'InvalidScope', request: rst({ appliesTo: 'https://unknown.example.com/' }) },
  { name: 'missing AppliesTo', family: 'wst', code: 'InvalidRequest', request: rst({ appliesTo: null }) },
  // Validate, Renew and Cancel were "not offered yet" (t:BadRequest) when this suite was specified; since
  // commit 7998df4 they are served, and a request without its ValidateTarget/RenewTarget/CancelTarget is an
  // incomplete request: t:InvalidRequest.
  ...(['Validate', 'Renew', 'Cancel'] as const).map(
    (op): FaultCase => ({
      name: `RequestType ${op} without its ${op}Target`,
      family: 'wst',
      code: 'InvalidRequest',
      request: (soap, trust) =>
        buildRst({ soap, trust, usernameToken: ut, requestType: `${trustOf(trust).ns}/${op}`, action: `${trustOf(trust).ns}/RST/${op}` }),
    }),
  ),
  {
    name: 'unknown RequestType URI',
    family: 'wst',
    code: 'BadRequest',
    request: rst({ requestType: 'urn:example:request-type:Frobnicate' }),
  },
  // SAML 1.1 was refused when this suite was specified; since commit 5e0666b it is issued. JWT stays unsupported.
  { name: 'TokenType JWT (a real token type we do not issue)', family: 'wst', code: 'BadRequest', request: rst({ tokenType: 'urn:ietf:params:oauth:token-type:jwt' }) },
  { name: 'made-up TokenType', family: 'wst', code: 'BadRequest', request: rst({ tokenType: 'urn:example:token:made-up' }) },
  {
    name: 'KeyType PublicKey',
    family: 'wst',
    code: 'BadRequest',
    request: (soap, trust) => buildRst({ soap, trust, usernameToken: ut, keyType: trustOf(trust).keyTypePublic }),
  },
  {
    name: 'wsa:Action contradicting the RequestType',
    family: 'wsa',
    code: 'ActionNotSupported',
    request: (soap, trust) => buildRst({ soap, trust, usernameToken: ut, action: `${trustOf(trust).ns}/RST/Cancel` }),
  },
  {
    name: 'wsa:Action disagreeing with the HTTP SOAP action',
    family: 'wsa',
    code: 'InvalidAddressingHeader',
    request: (soap, trust) =>
      buildRst({ soap, trust, usernameToken: ut, action: trustOf(trust).issueAction, transportAction: 'urn:example:some-other-action' }),
  },
  {
    name: 'a mustUnderstand header block we do not know',
    family: 'soap',
    code: 'MustUnderstand',
    request: rst({ extraHeaderXml: '<x:Frobnicate xmlns:x="urn:example:unknown-header" s:mustUnderstand="1">yes</x:Frobnicate>' }),
  },
  {
    name: 'an envelope of the other SOAP version than the Content-Type says',
    family: 'soap',
    code: 'VersionMismatch',
    request: (soap, trust) => {
      const other = buildRst({ soap: soap === '1.2' ? '1.1' : '1.2', trust, usernameToken: ut });
      const own = buildRst({ soap, trust, usernameToken: ut });
      return { ...other, headers: own.headers };
    },
  },
  {
    name: 'unparseable XML',
    family: 'wst',
    code: 'InvalidRequest',
    request: (soap, trust) => {
      const req = buildRst({ soap, trust, usernameToken: ut });
      return { ...req, body: req.body.replace('<s:Body>', '<s:Body><<t:Broken =="') };
    },
  },
  {
    name: 'a document cut short before its end tags',
    family: 'wst',
    code: 'InvalidRequest',
    request: (soap, trust) => {
      const req = buildRst({ soap, trust, usernameToken: ut });
      return { ...req, body: req.body.slice(0, req.body.indexOf('</t:RequestSecurityToken>')) };
    },
  },
  {
    name: 'a document missing only its final </s:Envelope> end tag',
    family: 'wst',
    code: 'InvalidRequest',
    request: (soap, trust) => {
      const req = buildRst({ soap, trust, usernameToken: ut });
      return { ...req, body: req.body.slice(0, req.body.length - '</s:Envelope>'.length) };
    },
  },
  {
    name: 'a mismatched end tag (not well-formed)',
    family: 'wst',
    code: 'InvalidRequest',
    request: (soap, trust) => {
      const req = buildRst({ soap, trust, usernameToken: ut });
      return { ...req, body: req.body.replace('</t:RequestSecurityToken>', '</t:RequestSecurityTokenX>') };
    },
  },
];

const COMBINATIONS: ReadonlyArray<{ soap: SoapVersion; trust: TrustVersion }> = [
  { soap: '1.2', trust: '1.3' },
  { soap: '1.1', trust: '1.3' },
  { soap: '1.2', trust: '2005' },
  { soap: '1.1', trust: '2005' },
];

/** The namespace a fault code's prefix must resolve to. */
function codeNamespace(family: Family, soap: SoapVersion, trust: TrustVersion): string {
  switch (family) {
    case 'wst':
      return trustOf(trust).ns;
    case 'wsse':
      return NS.wsse;
    case 'wsa':
      return NS.wsa10;
    case 'soap':
      return soapNsOf(soap);
  }
}

const STACK_TRACE = /\bat [\w.<>]+ \(|\bat (?:file:|node:|\/)|\.(?:ts|js):\d+|\/work\/|\/src\/|\/dist\/|node_modules|Error:/;

describe('wstrust: faults', function () {
  this.timeout(30_000);
  let sts: TestSts;

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD, WRONG_PASSWORD, NO_DIGEST_PASSWORD);
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addUser({ name: NO_DIGEST_USER, password: NO_DIGEST_PASSWORD, claims: [], allowPasswordDigest: false });
    await sts.addRelyingParty({ appliesTo: RP });
  });

  after(async () => {
    await sts?.stop();
  });

  async function send(req: BuiltRequest): Promise<PostResult> {
    return postToSts(`${sts.baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  }

  /** Checks everything a fault must be; returns it parsed. */
  async function expectFault(
    res: PostResult,
    expected: { family: Family; code: string; soap: SoapVersion; trust: TrustVersion },
  ): Promise<ParsedFault> {
    const { family, code, soap, trust } = expected;
    const sender = family !== 'soap';
    assert.equal(res.status, soap === '1.1' ? 500 : sender ? 400 : 500, `HTTP status; body starts: ${res.body.slice(0, 300)}`);
    assert.match(String(res.headers['content-type']), soap === '1.2' ? /^application\/soap\+xml/ : /^text\/xml/);
    const fault = parseFault(res.body);
    assert.equal(fault.soapVersion, soap, 'the fault is in the SOAP version of the request');
    const qname = { ns: codeNamespace(family, soap, trust), local: code };
    if (soap === '1.2') {
      if (family === 'soap') {
        assert.deepEqual(fault.code, qname, 'SOAP 1.2 Code');
        assert.equal(fault.subcode, undefined, 'no Subcode for a SOAP-level fault');
      } else {
        assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' }, 'SOAP 1.2 Code');
        assert.deepEqual(fault.subcode, qname, 'SOAP 1.2 Subcode');
      }
    } else {
      assert.deepEqual(fault.subcode, qname, 'SOAP 1.1 faultcode');
    }
    // Only the endpoint's WS-Trust namespace appears.
    const otherTrustNs = trustOf(trust === '1.3' ? '2005' : '1.3').ns;
    assert.ok(!res.body.includes(otherTrustNs), 'no WS-Trust namespace of the other version');
    assert.doesNotMatch(res.body, STACK_TRACE, 'no stack trace, file path or error name');
    for (const secret of [PASSWORD, WRONG_PASSWORD, NO_DIGEST_PASSWORD]) assert.ok(!res.body.includes(secret), 'no password');
    assert.ok(res.requestId.length > 0, 'X-Request-Id header');
    assert.equal(fault.requestId, res.requestId, 'the Detail request id matches X-Request-Id');
    const record = sts.logs.find((r) => r.fields['requestId'] === res.requestId);
    assert.ok(record, 'a log record for the request id');
    assert.equal(record.fields['fault'], `${family}:${code}`, 'the log record names the fault code');
    return fault;
  }

  for (const { soap, trust } of COMBINATIONS) {
    describe(`SOAP ${soap}, WS-Trust ${trust} endpoint`, () => {
      for (const c of CASES) {
        const qname = `${c.family === 'soap' ? 's' : c.family === 'wst' ? 't' : c.family === 'wsse' ? 'o' : 'a'}:${c.code}`;
        it(`${c.name} → ${qname}`, async () => {
          const before = await sts.instance.store.ledger.count();
          const res = await send(c.request(soap, trust));
          await expectFault(res, { family: c.family, code: c.code, soap, trust });
          assert.equal(await sts.instance.store.ledger.count(), before, 'a refused request issues nothing');
        });
      }

      it('wrong password and unknown user get the same reason text (no user enumeration)', async () => {
        const wrong = parseFault((await send(rst({ usernameToken: { username: USER, password: WRONG_PASSWORD } })(soap, trust))).body);
        const unknown = parseFault(
          (await send(rst({ usernameToken: { username: 'nobody@example.com', password: WRONG_PASSWORD } })(soap, trust))).body,
        );
        assert.equal(wrong.reason, unknown.reason);
        assert.deepEqual(wrong.subcode, unknown.subcode);
        assert.ok(!wrong.reason.includes(USER) && !unknown.reason.includes('nobody'), 'the reason names no user');
      });

      it('a reused UsernameToken Nonce: the first request is served, the identical second one is refused with o:InvalidSecurity', async () => {
        const req = buildRst({ soap, trust, usernameToken: { ...ut, nonce: randomBytes(16), created: isoSeconds() } });
        const first = await send(req);
        assert.equal(first.status, 200, first.body.slice(0, 600));
        const before = await sts.instance.store.ledger.count();
        const second = await send(req);
        await expectFault(second, { family: 'wsse', code: 'InvalidSecurity', soap, trust });
        assert.equal(await sts.instance.store.ledger.count(), before);
      });

      it('the valid request these cases vary is served (control)', async () => {
        const res = await send(buildRst({ soap, trust, usernameToken: ut }));
        assert.equal(res.status, 200, res.body.slice(0, 600));
        assert.equal(res.headers['content-type']?.toString().startsWith(soap === '1.2' ? 'application/soap+xml' : 'text/xml'), true);
      });
    });
  }

  describe('the active key\'s off-thread signer fails (OpenSSL refuses on the thread pool)', () => {
    it('Issue gets a Receiver wst:RequestFailed naming only the request id, nothing reaches the ledger, the log has the error and no key material; the next Issue is served', async () => {
      const ring = sts.instance.signingKeys;
      const stolen = await stealActiveKey(sts.instance);
      const real = ring.current();
      let offThreadCalls = 0;
      // The instance's own key, signed with on the thread pool as loadSigningKey does, with a PSS salt
      // longer than the modulus: OpenSSL fails inside the signing call and the callback gets its error.
      const failing: SigningKey = signingKeyFor(real.certificatePem, 'sealed', real.sign, (hash, data) => {
        offThreadCalls++;
        return new Promise((resolve, reject) =>
          sign(hash, data, { key: stolen.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 100_000 }, (err, signature) =>
            err ? reject(err) : resolve(signature),
          ),
        );
      });
      const before = takeStoreSnapshot(sts);
      const ledgerBefore = await sts.instance.store.ledger.count();
      ring.current = () => failing;
      let res: PostResult;
      try {
        res = await send(buildRst({ usernameToken: ut }));
      } finally {
        ring.current = () => real;
      }
      assert.equal(offThreadCalls, 1, 'signed off the thread, once, with no retry on the event loop');
      assert.equal(res.status, 500, res.body.slice(0, 600));
      const fault = parseFault(res.body);
      assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Receiver' });
      assert.deepEqual(fault.subcode, { ns: trustOf('1.3').ns, local: 'RequestFailed' });
      assert.equal(fault.reason, `The request failed inside the STS (request id ${res.requestId}).`);
      assert.equal(fault.requestId, res.requestId);
      assert.doesNotMatch(res.body, STACK_TRACE);
      assert.doesNotMatch(res.body, /openssl|rsa routines|too large/i, 'the caller is not told why');
      assert.equal(await sts.instance.store.ledger.count(), ledgerBefore, 'no ledger row for a token that was never signed');
      assertStoreUnchanged(before, takeStoreSnapshot(sts));

      const lines = sts.logs.filter((r) => r.fields['requestId'] === res.requestId);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      const [line] = lines;
      assert.equal(line?.level, 'error');
      assert.equal(line?.msg, 'internal error');
      const { durationMs, errorMessage, ...fields } = line?.fields ?? {};
      assert.equal(typeof durationMs, 'number');
      assert.match(String(errorMessage), /^error:[0-9A-F]+:rsa routines::data too large for key size$/);
      // The error's name and message only: no stack, no OpenSSL error stack, nothing of the key.
      assert.deepEqual(fields, {
        requestId: res.requestId,
        path: '/adfs/services/trust/13/usernamemixed',
        operation: 'Issue',
        appliesTo: RP,
        subject: USER,
        httpStatus: 500,
        // The fault the caller got, as 'request failed' lines name it: a search by fault finds this too.
        fault: 'wst:RequestFailed',
        errorName: 'Error',
      });
      const logs = sts.logs.map((r) => ({ where: `log: ${r.msg}`, text: JSON.stringify(r), isLog: true }));
      assert.deepEqual(findLeaks([...logs, { where: 'response', text: res.body, isLog: false }], [pemSecret('token-signing private key', stolen.privateKeyPem)]), []);

      const after = await send(buildRst({ usernameToken: ut }));
      assert.equal(after.status, 200, after.body.slice(0, 600));
      assert.equal(await sts.instance.store.ledger.count(), ledgerBefore + 1);
    });
  });
});
