import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../../src/keys/signing-key';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import { MalformedTokenError } from '../../../src/saml/token-view';
import { verifySaml2ResponseOrAssertion } from '../../../src/saml/verify-response';
import { NS } from '../../../src/xml/namespaces';
import { parseXmlSafely } from '../../../src/xml/safe-parse';
import { SignatureRejectedError, type TrustedKey } from '../../../src/xml/verify-signature';
import { canonicalAssertion, inResponse, mintAssertion, mintEditedAssertion, signedResponse } from '../../support/aws-sts';

const LIMITS = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
const root = (xml: string): Element => parseXmlSafely(xml, LIMITS).documentElement as Element;
const unsigned = (c: { beforeSignature: string; afterSignature: string }) => c.beforeSignature + c.afterSignature;
const malformed = (message: string) => (err: unknown) => {
  assert.ok(err instanceof MalformedTokenError, String(err));
  assert.equal(err.message, message);
  return true;
};
const rejected = (rejection: string, message?: string) => (err: unknown) => {
  assert.ok(err instanceof SignatureRejectedError, String(err));
  assert.equal(err.rejection, rejection);
  if (message !== undefined) assert.equal(err.message, message);
  return true;
};
const response = (inner: string, status = 'urn:oasis:names:tc:SAML:2.0:status:Success') =>
  `<samlp:Response xmlns:samlp="${NS.samlp2}" ID="_r${randomUUID()}" Version="2.0" IssueInstant="2030-01-01T00:00:00Z">` +
  `<samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status>${inner}</samlp:Response>`;

describe('saml/verify-response verifySaml2ResponseOrAssertion', function () {
  this.timeout(30_000);
  let key: SigningKey;
  let other: SigningKey;
  let trusted: TrustedKey[];

  before(() => {
    const a = generateSelfSignedCertificate({ commonName: 'unit-idp', validDays: 2 });
    const b = generateSelfSignedCertificate({ commonName: 'unit-other', validDays: 2 });
    key = loadSigningKey(a.privateKeyPem, a.certificatePem);
    other = loadSigningKey(b.privateKeyPem, b.certificatePem);
    trusted = [trustedKeyFromCertificate(a.certificatePem)];
  });

  it('a bare signed assertion: its content, its bearer details, the key and the assertion digest', () => {
    const issued = new Date('2030-01-01T00:00:00.000Z');
    const g = mintAssertion({ key, issueInstant: issued, nameId: 'alice' });
    const v = verifySaml2ResponseOrAssertion(root(g.xml), trusted);
    assert.equal(v.token.id, g.id);
    assert.equal(v.token.nameId, 'alice');
    assert.equal(v.token.issueInstant.getTime(), issued.getTime());
    assert.equal(v.responseIssueInstant, undefined);
    assert.equal(v.keyThumbprint, key.thumbprintSha256);
    assert.equal(v.assertionDigest, g.digest);
    assert.equal(v.bearer.subjectConfirmations.length, 1);
    assert.deepEqual(v.bearer.subjectConfirmations[0], {
      method: 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
      recipient: 'https://signin.aws.amazon.com/saml',
      notBefore: undefined,
      notOnOrAfter: new Date(issued.getTime() + 5 * 60_000),
    });
    assert.equal(v.bearer.sessionNotOnOrAfter, undefined);
  });

  it('a signed assertion in an unsigned Response: the unsigned Response IssueInstant is not reported, the assertion digest kept', () => {
    const g = mintAssertion({ key });
    const at = new Date('2030-02-02T02:02:02.000Z');
    const v = verifySaml2ResponseOrAssertion(root(inResponse(g.xml, at)), trusted);
    assert.equal(v.token.id, g.id);
    assert.equal(v.responseIssueInstant, undefined);
    assert.equal(v.assertionDigest, g.digest);
  });

  it('an unsigned assertion in a signed Response verifies by the Response signature, with no assertion digest', () => {
    const c = canonicalAssertion({});
    const v = verifySaml2ResponseOrAssertion(root(signedResponse(unsigned(c), key)), trusted);
    assert.equal(v.token.id, c.id);
    assert.equal(v.keyThumbprint, key.thumbprintSha256);
    assert.equal(v.assertionDigest, undefined);
  });

  it('neither signed is SignatureRejectedError "missing"', () => {
    assert.throws(() => verifySaml2ResponseOrAssertion(root(unsigned(canonicalAssertion({}))), trusted), rejected('missing', 'neither the Response nor the Assertion is signed'));
    assert.throws(() => verifySaml2ResponseOrAssertion(root(response(unsigned(canonicalAssertion({})))), trusted), rejected('missing'));
  });

  it('a signed Response whose assertion carries an invalid signature is refused: every signature must verify', () => {
    const g = mintAssertion({ key: other });
    assert.throws(() => verifySaml2ResponseOrAssertion(root(signedResponse(g.xml, key)), trusted), rejected('untrusted-key'));
  });

  it('a signature by an untrusted key is "untrusted-key"; an altered assertion is "digest"', () => {
    assert.throws(() => verifySaml2ResponseOrAssertion(root(mintAssertion({ key: other }).xml), trusted), rejected('untrusted-key'));
    const g = mintAssertion({ key });
    assert.throws(() => verifySaml2ResponseOrAssertion(root(g.xml.replace('>alice</NameID>', '>bob</NameID>')), trusted), rejected('digest'));
  });

  it('a Response that is not Success, has no or two assertions, or an EncryptedAssertion is MalformedTokenError', () => {
    const g = mintAssertion({ key });
    assert.throws(
      () => verifySaml2ResponseOrAssertion(root(response(g.xml, 'urn:oasis:names:tc:SAML:2.0:status:Requester')), trusted),
      malformed("the Response's status is not Success (urn:oasis:names:tc:SAML:2.0:status:Requester)"),
    );
    assert.throws(() => verifySaml2ResponseOrAssertion(root(response('')), trusted), malformed('the Response must carry exactly one Assertion'));
    assert.throws(() => verifySaml2ResponseOrAssertion(root(response(g.xml + mintAssertion({ key }).xml)), trusted), malformed('the Response must carry exactly one Assertion'));
    assert.throws(
      () => verifySaml2ResponseOrAssertion(root(response(`<EncryptedAssertion xmlns="${NS.saml2}"/>${g.xml}`)), trusted),
      malformed('encrypted assertions are not accepted here: send the signed assertion in clear'),
    );
  });

  it('a Response with two Status elements is MalformedTokenError', () => {
    const g = mintAssertion({ key });
    const twice = response(g.xml).replace('</samlp:Status>', '</samlp:Status><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>');
    assert.throws(() => verifySaml2ResponseOrAssertion(root(twice), trusted), malformed('the SAML document repeats Status'));
  });

  it('a signed assertion that repeats a singleton (two Subjects) is MalformedTokenError', () => {
    const g = mintEditedAssertion({ key }, (c) => {
      const subject = /<Subject>[\s\S]*?<\/Subject>/.exec(c.afterSignature)?.[0] as string;
      return { ...c, afterSignature: c.afterSignature.replace(subject, subject + subject) };
    });
    assert.throws(() => verifySaml2ResponseOrAssertion(root(g.xml), trusted), malformed('the assertion repeats Subject'));
  });

  it('a root that is neither a SAML 2.0 Response nor Assertion is MalformedTokenError', () => {
    for (const xml of ['<Response xmlns="urn:example"/>', `<saml:Assertion xmlns:saml="${NS.saml1}"/>`, `<samlp:AuthnRequest xmlns:samlp="${NS.samlp2}"/>`]) {
      assert.throws(() => verifySaml2ResponseOrAssertion(root(xml), trusted), malformed('the SAML document is neither a SAML 2.0 Response nor a SAML 2.0 Assertion'));
    }
  });
});
