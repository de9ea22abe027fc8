import { strict as assert } from 'node:assert';
import { Agent } from 'node:https';
import { DOMParser } from '@xmldom/xmldom';
import * as soap from 'soap';
import { SignedXml } from 'xml-crypto';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { ALG, NS, SAML2, TOKEN_TYPE, TRUST13, TRUST2005 } from '../../src/xml/namespaces';
import { recordLogs, recordPassword, recordResponse } from '../support/observed-traffic';
import { allChildren, children, cutAssertion, only, parseFault, parseIssueResponse, path, text } from '../support/soap-reply';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { buildRst, isoSeconds, trustOf, type RstSpec, type SoapVersion, type TrustVersion } from '../support/wstrust-request';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// What an issued token says, for both WS-Trust versions and both SOAP versions, and that the
// WSDL-driven npm soap client can obtain one through our mex.

const USER = 'alice@example.com';
const PASSWORD = 'Issue-Suite-Pässwörd-1!';
const DIGEST_USER = 'bob@example.com';
const DIGEST_PASSWORD = 'Digest-Suite-Secret-2?';

const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const ROLE = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const DEPARTMENT = 'urn:example:claims:department';

const RP_WITH_ENDPOINT = {
  appliesTo: 'https://rp.example.com/',
  endpointUrl: 'https://rp.example.com/acs',
  nameIdFormat: SAML2.nameIdEmail,
  releasedClaims: [EMAIL, ROLE],
  tokenLifetimeSeconds: 1800,
};
const RP_BARE = { appliesTo: 'urn:example:rp:bare' };
const RP_BARE_DEFAULT_LIFETIME_SECONDS = 3600;

const COMBINATIONS: ReadonlyArray<{ trust: TrustVersion; soap: SoapVersion }> = [
  { trust: '1.3', soap: '1.2' },
  { trust: '1.3', soap: '1.1' },
  { trust: '2005', soap: '1.2' },
  { trust: '2005', soap: '1.1' },
];

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function verifyWithXmlCrypto(assertionXml: string, certificatePem: string): boolean {
  const doc = new DOMParser().parseFromString(assertionXml, 'text/xml');
  const signatures = doc.getElementsByTagNameNS(NS.ds, 'Signature');
  assert.equal(signatures.length, 1, 'one ds:Signature');
  // Only the certificate we give it: never the one in KeyInfo.
  const sig = new SignedXml({ publicCert: certificatePem, getCertFromKeyInfo: () => null });
  sig.loadSignature(signatures[0] as unknown as Node);
  try {
    return sig.checkSignature(assertionXml);
  } catch {
    return false;
  }
}

describe('wstrust: Issue', function () {
  this.timeout(30_000);
  let sts: TestSts;
  let otherCertificatePem: string;
  const issuedIds: Array<{ id: string; audience: string; digestValue: string }> = [];

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD, DIGEST_PASSWORD);
    await sts.addUser({
      name: USER,
      password: PASSWORD,
      claims: [
        { name: EMAIL, value: 'alice@example.com' },
        { name: ROLE, value: 'Admins' },
        { name: ROLE, value: 'Users & <Friends>' },
        { name: DEPARTMENT, value: 'unreleased-department' },
      ],
    });
    await sts.addUser({ name: DIGEST_USER, password: DIGEST_PASSWORD, claims: [], allowPasswordDigest: true });
    await sts.addRelyingParty(RP_WITH_ENDPOINT);
    await sts.addRelyingParty(RP_BARE);
    otherCertificatePem = generateSelfSignedCertificate({ commonName: 'not-the-sts', validDays: 1 }).certificatePem;
  });

  after(async () => {
    await sts?.stop();
  });

  async function send(spec: RstSpec): Promise<PostResult> {
    const req = buildRst({ usernameToken: { username: USER, password: PASSWORD }, ...spec });
    return postToSts(`${sts.baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  }

  async function issueOk(spec: RstSpec): Promise<ReturnType<typeof parseIssueResponse> & { res: PostResult }> {
    const res = await send(spec);
    assert.equal(res.status, 200, res.body.slice(0, 600));
    const reply = parseIssueResponse(res.body, spec.trust ?? '1.3');
    const digestValue = text(
      path(reply.assertion, [[NS.ds, 'Signature'], [NS.ds, 'SignedInfo'], [NS.ds, 'Reference'], [NS.ds, 'DigestValue']]),
    );
    issuedIds.push({
      id: reply.assertion.getAttribute('ID') ?? '',
      audience: spec.appliesTo ?? RP_WITH_ENDPOINT.appliesTo,
      digestValue,
    });
    return { ...reply, res };
  }

  for (const { trust, soap: soapVersion } of COMBINATIONS) {
    describe(`WS-Trust ${trust} over SOAP ${soapVersion}`, () => {
      it('states issuer, subject, bearer confirmation with Recipient, conditions, authentication and the released claims', async () => {
        const started = Date.now();
        const reply = await issueOk({ trust, soap: soapVersion });
        const a = reply.assertion;
        assert.equal(reply.soapNs, soapVersion === '1.2' ? NS.soap12 : NS.soap11);
        assert.equal(a.namespaceURI, NS.saml2);
        assert.equal(a.getAttribute('Version'), '2.0');
        assert.equal(text(only(a, NS.saml2, 'Issuer')), sts.instance.config.issuer);

        const nameId = path(a, [[NS.saml2, 'Subject'], [NS.saml2, 'NameID']]);
        assert.equal(text(nameId), USER);
        assert.equal(nameId.getAttribute('Format'), SAML2.nameIdEmail);
        const confirmations = children(only(a, NS.saml2, 'Subject'), NS.saml2, 'SubjectConfirmation');
        assert.equal(confirmations.length, 1);
        assert.equal(confirmations[0]?.getAttribute('Method'), SAML2.bearer);
        const data = only(confirmations[0] as Element, NS.saml2, 'SubjectConfirmationData');
        assert.equal(data.getAttribute('Recipient'), RP_WITH_ENDPOINT.endpointUrl);
        const confirmationEnd = Date.parse(data.getAttribute('NotOnOrAfter') ?? '');

        const conditions = only(a, NS.saml2, 'Conditions');
        const notBefore = Date.parse(conditions.getAttribute('NotBefore') ?? '');
        const notOnOrAfter = Date.parse(conditions.getAttribute('NotOnOrAfter') ?? '');
        assert.ok(notBefore >= started - 1000 && notBefore <= Date.now() + 1000, 'NotBefore is now');
        assert.equal(notOnOrAfter - notBefore, RP_WITH_ENDPOINT.tokenLifetimeSeconds * 1000, 'default lifetime = the RP tokenLifetimeSeconds');
        assert.equal(confirmationEnd, notOnOrAfter);
        assert.equal(
          text(path(conditions, [[NS.saml2, 'AudienceRestriction'], [NS.saml2, 'Audience']])),
          RP_WITH_ENDPOINT.appliesTo,
        );

        const authn = only(a, NS.saml2, 'AuthnStatement');
        assert.ok(Number.isFinite(Date.parse(authn.getAttribute('AuthnInstant') ?? '')));
        assert.equal(
          text(path(authn, [[NS.saml2, 'AuthnContext'], [NS.saml2, 'AuthnContextClassRef']])),
          SAML2.passwordProtectedTransport,
        );

        const attributes = children(only(a, NS.saml2, 'AttributeStatement'), NS.saml2, 'Attribute');
        const released = new Map(
          attributes.map((attr) => [attr.getAttribute('Name'), children(attr, NS.saml2, 'AttributeValue').map(text)]),
        );
        assert.equal(attributes.length, released.size, 'one Attribute per claim name');
        assert.deepEqual(
          Object.fromEntries(released),
          { [EMAIL]: ['alice@example.com'], [ROLE]: ['Admins', 'Users & <Friends>'] },
          'exactly the released claims, multi-valued as several AttributeValues',
        );
        assert.ok(!reply.res.body.includes('unreleased-department'), 'an unreleased claim never leaves');

        // RSTR Lifetime mirrors the token's conditions.
        const wst = trustOf(trust).ns;
        const lifetime = only(reply.rstr, wst, 'Lifetime');
        assert.equal(Date.parse(text(only(lifetime, NS.wsu, 'Created'))), notBefore);
        assert.equal(Date.parse(text(only(lifetime, NS.wsu, 'Expires'))), notOnOrAfter);
        assert.equal(text(only(reply.rstr, wst, 'KeyType')), trustOf(trust).keyTypeBearer);
        assert.equal(text(only(reply.rstr, wst, 'TokenType')), TOKEN_TYPE.saml20);
      });

      it('is signed RSA-SHA256 with exclusive c14n over its own ID, the certificate in KeyInfo; xmlsec1 and xml-crypto verify it with the signing certificate only', async () => {
        const reply = await issueOk({ trust, soap: soapVersion });
        const a = reply.assertion;
        const signature = only(a, NS.ds, 'Signature');
        assert.equal(allChildren(a)[1], signature, 'the Signature follows the Issuer');
        const signedInfo = only(signature, NS.ds, 'SignedInfo');
        assert.equal(only(signedInfo, NS.ds, 'CanonicalizationMethod').getAttribute('Algorithm'), ALG.excC14n);
        assert.equal(only(signedInfo, NS.ds, 'SignatureMethod').getAttribute('Algorithm'), ALG.rsaSha256);
        const reference = only(signedInfo, NS.ds, 'Reference');
        assert.equal(reference.getAttribute('URI'), `#${a.getAttribute('ID')}`);
        assert.deepEqual(
          children(only(reference, NS.ds, 'Transforms'), NS.ds, 'Transform').map((t) => t.getAttribute('Algorithm')),
          [ALG.envelopedSignature, ALG.excC14n],
        );
        assert.equal(only(reference, NS.ds, 'DigestMethod').getAttribute('Algorithm'), ALG.sha256);
        assert.equal(
          text(path(signature, [[NS.ds, 'KeyInfo'], [NS.ds, 'X509Data'], [NS.ds, 'X509Certificate']])),
          pemBody(sts.signingCertificatePem),
        );

        const xmlsec = verifyWithXmlsec1(reply.assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
        assert.ok(xmlsec.ok, xmlsec.output);
        assert.equal(verifyWithXmlsec1(reply.assertionXml, otherCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, false);
        assert.equal(verifyWithXmlCrypto(reply.assertionXml, sts.signingCertificatePem), true, 'xml-crypto verifies');
        assert.equal(verifyWithXmlCrypto(reply.assertionXml, otherCertificatePem), false, 'xml-crypto refuses another certificate');
        const tampered = reply.assertionXml.replace(`>${USER}</NameID>`, '>mallory@example.com</NameID>');
        assert.notEqual(tampered, reply.assertionXml);
        assert.equal(verifyWithXmlsec1(tampered, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, false);
      });

      it('for a relying party without endpoint URL or released claims: no Recipient, no AttributeStatement, unspecified NameID, default lifetime', async () => {
        const reply = await issueOk({ trust, soap: soapVersion, appliesTo: RP_BARE.appliesTo });
        const a = reply.assertion;
        const nameId = path(a, [[NS.saml2, 'Subject'], [NS.saml2, 'NameID']]);
        assert.equal(nameId.getAttribute('Format'), SAML2.nameIdUnspecified);
        const data = path(a, [[NS.saml2, 'Subject'], [NS.saml2, 'SubjectConfirmation'], [NS.saml2, 'SubjectConfirmationData']]);
        assert.equal(data.hasAttribute('Recipient'), false, 'no Recipient without an endpoint URL');
        assert.ok(data.hasAttribute('NotOnOrAfter'));
        assert.equal(children(a, NS.saml2, 'AttributeStatement').length, 0, 'no AttributeStatement when nothing is released');
        const conditions = only(a, NS.saml2, 'Conditions');
        assert.equal(
          Date.parse(conditions.getAttribute('NotOnOrAfter') ?? '') - Date.parse(conditions.getAttribute('NotBefore') ?? ''),
          RP_BARE_DEFAULT_LIFETIME_SECONDS * 1000,
        );
        assert.equal(text(path(conditions, [[NS.saml2, 'AudienceRestriction'], [NS.saml2, 'Audience']])), RP_BARE.appliesTo);
        assert.ok(verifyWithXmlsec1(reply.assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok);
      });

      it('honours a shorter requested Lifetime Expires exactly', async () => {
        const expires = isoSeconds(5 * 60 * 1000);
        const reply = await issueOk({ trust, soap: soapVersion, lifetime: { created: isoSeconds(), expires } });
        const conditions = only(reply.assertion, NS.saml2, 'Conditions');
        assert.equal(Date.parse(conditions.getAttribute('NotOnOrAfter') ?? ''), Date.parse(expires));
        const data = path(reply.assertion, [[NS.saml2, 'Subject'], [NS.saml2, 'SubjectConfirmation'], [NS.saml2, 'SubjectConfirmationData']]);
        assert.equal(Date.parse(data.getAttribute('NotOnOrAfter') ?? ''), Date.parse(expires));
        const lifetime = only(reply.rstr, trustOf(trust).ns, 'Lifetime');
        assert.equal(Date.parse(text(only(lifetime, NS.wsu, 'Expires'))), Date.parse(expires));
      });

      it('clamps a longer requested Lifetime to the relying party lifetime', async () => {
        const reply = await issueOk({ trust, soap: soapVersion, lifetime: { expires: isoSeconds(10 * 3600 * 1000) } });
        const conditions = only(reply.assertion, NS.saml2, 'Conditions');
        assert.equal(
          Date.parse(conditions.getAttribute('NotOnOrAfter') ?? '') - Date.parse(conditions.getAttribute('NotBefore') ?? ''),
          RP_WITH_ENDPOINT.tokenLifetimeSeconds * 1000,
        );
      });

      it('refuses a requested Lifetime that has already ended with t:InvalidTimeRange, issuing nothing', async () => {
        const before = await sts.instance.store.ledger.count();
        const res = await send({ trust, soap: soapVersion, lifetime: { created: isoSeconds(-7200_000), expires: isoSeconds(-3600_000) } });
        assert.equal(res.status, soapVersion === '1.2' ? 400 : 500, res.body);
        const fault = parseFault(res.body);
        assert.deepEqual(fault.subcode, { ns: trustOf(trust).ns, local: 'InvalidTimeRange' });
        if (soapVersion === '1.2') assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
        assert.equal(await sts.instance.store.ledger.count(), before);
      });
    });
  }

  // A describe of its own so it runs after the suites above (mocha runs a suite's own tests before its children).
  describe('issuance ledger', () => {
  it('records every issued token in the ledger with subject, audience, signing-key thumbprint and digest', async () => {
    assert.ok(issuedIds.length >= 16, `tokens were issued above (${issuedIds.length})`);
    for (const issued of issuedIds) {
      const entry = await sts.instance.store.ledger.get(issued.id);
      assert.ok(entry, `ledger entry for ${issued.id}`);
      assert.equal(entry.tokenId, issued.id);
      assert.equal(entry.subject, USER);
      assert.equal(entry.audience, issued.audience);
      assert.equal(entry.keyThumbprint, sts.instance.signingKey.thumbprintSha256);
      assert.equal(entry.digest, issued.digestValue, 'the ledger digest is the assertion DigestValue');
      assert.equal(entry.tokenType, TOKEN_TYPE.saml20);
    }
    assert.equal(await sts.instance.store.ledger.get('_no-such-token'), undefined);
  });
  });

  describe('interop: npm soap client driven by our mex WSDL', () => {
    let agent: Agent;
    const mexUrl = (): string => `${sts.baseUrl}/adfs/services/trust/mex`;

    before(() => {
      // Loopback over IPv4 only; trust the test TLS certificate and nothing else.
      agent = new Agent({ ca: sts.tlsCertificatePem, family: 4, keepAlive: false });
    });
    after(() => agent.destroy());

    async function client(user: string, password: string, passwordType: 'PasswordText' | 'PasswordDigest'): Promise<soap.Client> {
      const c = await soap.createClientAsync(mexUrl(), {
        wsdl_options: { ca: sts.tlsCertificatePem, httpsAgent: agent },
        forceSoap12Headers: true,
      });
      c.setSecurity(new soap.WSSecurity(user, password, { passwordType }));
      return c;
    }

    async function call(
      c: soap.Client,
      operation: 'Trust13IssueAsyncAsync' | 'TrustFeb2005IssueAsyncAsync',
      args: Record<string, unknown>,
    ): Promise<string> {
      const [, raw] = (await c[operation](args, { httpsAgent: agent })) as [unknown, string];
      assert.equal(typeof raw, 'string');
      recordResponse(raw);
      return raw;
    }

    it('Trust13IssueAsync with a PasswordText UsernameToken gets a token xmlsec1 verifies', async () => {
      const c = await client(USER, PASSWORD, 'PasswordText');
      const raw = await call(c, 'Trust13IssueAsyncAsync', {
        RequestType: TRUST13.requestTypeIssue,
        TokenType: TOKEN_TYPE.saml20,
        KeyType: TRUST13.keyTypeBearer,
        AppliesTo: { EndpointReference: { Address: RP_WITH_ENDPOINT.appliesTo } },
      });
      const reply = parseIssueResponse(raw, '1.3');
      assert.equal(reply.soapNs, NS.soap12);
      const xml = cutAssertion(raw);
      const result = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
      assert.ok(result.ok, result.output);
      assert.equal(text(path(reply.assertion, [[NS.saml2, 'Subject'], [NS.saml2, 'NameID']])), USER);
      assert.ok(await sts.instance.store.ledger.get(reply.assertion.getAttribute('ID') ?? ''));
    });

    it('TrustFeb2005IssueAsync gets a bare RSTR with a token xmlsec1 verifies', async () => {
      const c = await client(USER, PASSWORD, 'PasswordText');
      const raw = await call(c, 'TrustFeb2005IssueAsyncAsync', {
        RequestType: TRUST2005.requestTypeIssue,
        TokenType: TOKEN_TYPE.saml20,
        KeyType: TRUST2005.keyTypeBearer,
        AppliesTo: { EndpointReference: { Address: RP_BARE.appliesTo } },
      });
      const reply = parseIssueResponse(raw, '2005');
      const result = verifyWithXmlsec1(cutAssertion(raw), sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
      assert.ok(result.ok, result.output);
      assert.equal(
        text(path(reply.assertion, [[NS.saml2, 'Conditions'], [NS.saml2, 'AudienceRestriction'], [NS.saml2, 'Audience']])),
        RP_BARE.appliesTo,
      );
    });

    it('a PasswordDigest user through WSSecurity passwordType PasswordDigest gets a token', async () => {
      const c = await client(DIGEST_USER, DIGEST_PASSWORD, 'PasswordDigest');
      const raw = await call(c, 'Trust13IssueAsyncAsync', {
        RequestType: TRUST13.requestTypeIssue,
        TokenType: TOKEN_TYPE.saml20,
        KeyType: TRUST13.keyTypeBearer,
        AppliesTo: { EndpointReference: { Address: RP_WITH_ENDPOINT.appliesTo } },
      });
      const reply = parseIssueResponse(raw, '1.3');
      assert.equal(text(path(reply.assertion, [[NS.saml2, 'Subject'], [NS.saml2, 'NameID']])), DIGEST_USER);
      assert.ok(verifyWithXmlsec1(cutAssertion(raw), sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok);
    });

    it('a wrong password through the soap client is a SOAP fault the client surfaces', async () => {
      const c = await client(USER, 'not-the-password', 'PasswordText');
      await assert.rejects(
        c.Trust13IssueAsyncAsync(
          {
            RequestType: TRUST13.requestTypeIssue,
            KeyType: TRUST13.keyTypeBearer,
            AppliesTo: { EndpointReference: { Address: RP_WITH_ENDPOINT.appliesTo } },
          },
          { httpsAgent: agent },
        ),
        (err: unknown) => {
          const body = (err as { body?: unknown }).body;
          if (typeof body === 'string') recordResponse(body);
          assert.match(String(body ?? err), /FailedAuthentication/);
          return true;
        },
      );
    });
  });
});
