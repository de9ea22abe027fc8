import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { AwsError } from '../../../src/aws/aws-error';
import { readFederatedAssertion } from '../../../src/aws/federated-assertion';
import type { SamlProvider } from '../../../src/aws/saml-provider-directory';
import { AWS_SAML } from '../../../src/core/aws-saml';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../../src/keys/signing-key';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import { verifySaml2ResponseOrAssertion } from '../../../src/saml/verify-response';
import { parseXmlSafely } from '../../../src/xml/safe-parse';
import {
  ACCOUNT,
  EXTERNAL_ISSUER,
  EXTERNAL_PROVIDER,
  EXTERNAL_PROVIDER_ARN,
  mintAssertion,
  mintEditedAssertion,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  type MintOptions,
} from '../../support/aws-sts';

// readFederatedAssertion on assertions that really verified: what it takes from them, and the exact
// edges of its time rules.

const LIMITS = { maxBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
const T0 = new Date('2030-06-01T12:00:00.000Z');
const SKEW = 300_000;
const MIN = 60_000;

describe('aws/federated-assertion readFederatedAssertion', function () {
  this.timeout(30_000);
  let key: SigningKey;
  let provider: SamlProvider;

  before(() => {
    const generated = generateSelfSignedCertificate({ commonName: 'unit-idp', validDays: 2 });
    key = loadSigningKey(generated.privateKeyPem, generated.certificatePem);
    provider = {
      name: EXTERNAL_PROVIDER,
      arn: EXTERNAL_PROVIDER_ARN,
      entityId: EXTERNAL_ISSUER,
      trustedKeys: [trustedKeyFromCertificate(generated.certificatePem)],
      replay: 'once-per-role',
      isSelf: false,
      withheldKeys: [],
    };
  });

  const verified = (xml: string) => verifySaml2ResponseOrAssertion(parseXmlSafely(xml, LIMITS).documentElement as Element, provider.trustedKeys);
  const mint = (o: Omit<MintOptions, 'key'> = {}) => mintAssertion({ key, issueInstant: T0, notOnOrAfter: new Date(T0.getTime() + 60 * MIN), ...o });
  const read = (xml: string, now = T0) => readFederatedAssertion(verified(xml), provider, ACCOUNT, now, SKEW);
  const refused = (code: string, message: string) => (err: unknown) => {
    assert.ok(err instanceof AwsError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  };

  it('reads who, for which roles, the recipient, the attributes and how long the assertion may be presented', () => {
    const g = mint({ nameId: 'alice@partner', extraAttributes: [{ name: AWS_SAML.sessionDuration, values: ['1800'] }] });
    const a = read(g.xml);
    assert.equal(a.assertionId, g.id);
    assert.equal(a.issuer, EXTERNAL_ISSUER);
    assert.equal(a.subject, 'alice@partner');
    assert.equal(a.recipient, AWS_SAML.signinUrl);
    assert.equal(a.roleSessionName, 'alice');
    assert.equal(a.sessionDurationSeconds, 1800);
    assert.equal(a.sessionNotOnOrAfter, undefined);
    assert.deepEqual(a.tags, []);
    assert.deepEqual(a.transitiveTagKeys, []);
    assert.equal(a.sourceIdentity, undefined);
    assert.deepEqual(
      a.attributes.map((x) => x.name),
      [AWS_SAML.role, AWS_SAML.roleSessionName, AWS_SAML.sessionDuration],
    );
    // The bearer confirmation and Conditions both end at T0 + 60 min; the replay memory adds the skew.
    assert.equal(a.usableUntil.getTime(), T0.getTime() + 60 * MIN + SKEW);
  });

  it('NameQualifier is base64(SHA-1(issuer + account + "/" + provider name))', () => {
    const expected = createHash('sha1').update(`${EXTERNAL_ISSUER}${ACCOUNT}/${EXTERNAL_PROVIDER}`).digest('base64');
    assert.equal(read(mint().xml).nameQualifier, expected);
    assert.match(expected, /^[A-Za-z0-9+/]{27}=$/);
  });

  it('role pairs are read in either order, with spaces around the comma', () => {
    const a = read(mint({ roles: [`${ROLE_ARN},${EXTERNAL_PROVIDER_ARN}`, `${EXTERNAL_PROVIDER_ARN},${OTHER_ROLE_ARN}`, ` ${OTHER_ROLE_ARN} , ${EXTERNAL_PROVIDER_ARN} `] }).xml);
    assert.deepEqual(a.roles, [
      { roleArn: ROLE_ARN, providerArn: EXTERNAL_PROVIDER_ARN },
      { roleArn: OTHER_ROLE_ARN, providerArn: EXTERNAL_PROVIDER_ARN },
      { roleArn: OTHER_ROLE_ARN, providerArn: EXTERNAL_PROVIDER_ARN },
    ]);
  });

  it('malformed pairs are ignored, valid ones beside them kept', () => {
    const a = read(
      mint({
        roles: [
          ROLE_ARN,
          `${ROLE_ARN},${EXTERNAL_PROVIDER_ARN},${OTHER_ROLE_ARN}`,
          `${ROLE_ARN},${OTHER_ROLE_ARN}`,
          `${EXTERNAL_PROVIDER_ARN},${EXTERNAL_PROVIDER_ARN}`,
          `arn:aws:iam::${ACCOUNT}:user/alice,${EXTERNAL_PROVIDER_ARN}`,
          `${ROLE_ARN};${EXTERNAL_PROVIDER_ARN}`,
          ',',
          `${OTHER_ROLE_ARN},${EXTERNAL_PROVIDER_ARN}`,
        ],
      }).xml,
    );
    assert.deepEqual(a.roles, [{ roleArn: OTHER_ROLE_ARN, providerArn: EXTERNAL_PROVIDER_ARN }]);
  });

  for (const [format, subjectType] of [
    ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', 'persistent'],
    ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient', 'transient'],
    ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
    ['urn:example:custom-format', 'urn:example:custom-format'],
  ] as const) {
    it(`SubjectType of NameID Format ${format} is ${subjectType}`, () => {
      assert.equal(read(mint({ nameIdFormat: format }).xml).subjectType, subjectType);
    });
  }

  it('a NameID without Format has SubjectType urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', () => {
    const g = mintEditedAssertion({ key, issueInstant: T0, notOnOrAfter: new Date(T0.getTime() + 60 * MIN) }, (c) => ({
      ...c,
      afterSignature: c.afterSignature.replace(/<NameID Format="[^"]+">/, '<NameID>'),
    }));
    assert.equal(read(g.xml).subjectType, 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified');
  });

  it('tags, transitive tag keys and SourceIdentity are read', () => {
    const a = read(
      mint({
        extraAttributes: [
          { name: `${AWS_SAML.principalTagPrefix}Dept`, values: ['eng'] },
          { name: `${AWS_SAML.principalTagPrefix}Cost:Center`, values: [''] },
          { name: AWS_SAML.transitiveTagKeys, values: ['Dept', 'cost:center'] },
          { name: AWS_SAML.sourceIdentity, values: ['alice@partner.example'] },
        ],
      }).xml,
    );
    assert.deepEqual(a.tags, [
      { key: 'Dept', value: 'eng' },
      { key: 'Cost:Center', value: '' },
    ]);
    assert.deepEqual(a.transitiveTagKeys, ['Dept', 'cost:center']);
    assert.equal(a.sourceIdentity, 'alice@partner.example');
  });

  it('50 tags are accepted', () => {
    const tags = Array.from({ length: 50 }, (_, i) => ({ name: `${AWS_SAML.principalTagPrefix}k${i}`, values: ['v'] }));
    assert.equal(read(mint({ extraAttributes: tags }).xml).tags.length, 50);
  });

  describe('time edges (clock skew 300 s)', () => {
    const expiredIssue = refused('ExpiredTokenException', 'Token must be redeemed within 5 minutes of issuance');

    it('IssueInstant exactly 5 minutes old is accepted, 1 ms more is ExpiredTokenException (no skew on the old side, as AWS)', () => {
      const xml = mint().xml;
      assert.equal(read(xml, new Date(T0.getTime() + 5 * MIN)).subject, 'alice');
      assert.throws(() => read(xml, new Date(T0.getTime() + 5 * MIN + 1)), expiredIssue);
    });

    it('IssueInstant exactly skew ahead is accepted, 1 ms more is InvalidIdentityToken', () => {
      const xml = mint().xml;
      assert.equal(read(xml, new Date(T0.getTime() - SKEW)).subject, 'alice');
      assert.throws(
        () => read(xml, new Date(T0.getTime() - SKEW - 1)),
        refused('InvalidIdentityToken', 'The SAML response was issued in the future (IssueInstant).'),
      );
    });

    it('Conditions NotOnOrAfter: accepted until skew after it, then ExpiredTokenException', () => {
      // NotOnOrAfter at IssueInstant keeps the whole skew inside AWS's five minutes.
      const end = T0;
      const xml = mint({ notOnOrAfter: end }).xml;
      assert.equal(read(xml, new Date(end.getTime() + SKEW - 1)).subject, 'alice');
      assert.throws(() => read(xml, new Date(end.getTime() + SKEW)), refused('ExpiredTokenException', 'The SAML assertion has expired (Conditions NotOnOrAfter).'));
    });

    it('the replay memory lasts until the earlier of the two NotOnOrAfters, plus the skew', () => {
      const conditionsEnd = new Date(T0.getTime() + 3 * MIN);
      const g = mintEditedAssertion({ key, issueInstant: T0, notOnOrAfter: new Date(T0.getTime() + 10 * MIN) }, (c) => ({
        ...c,
        afterSignature: c.afterSignature.replace(/(<Conditions NotBefore="[^"]+") NotOnOrAfter="[^"]+"/, `$1 NotOnOrAfter="${conditionsEnd.toISOString()}"`),
      }));
      assert.equal(read(g.xml).usableUntil.getTime(), conditionsEnd.getTime() + SKEW);
    });
  });

  it('an Issuer other than the provider\'s entityID is InvalidIdentityToken', () => {
    assert.throws(
      () => read(mint({ issuer: `${EXTERNAL_ISSUER}/other` }).xml),
      refused('InvalidIdentityToken', 'The Issuer of the SAML assertion does not match the SAML provider named by PrincipalArn.'),
    );
  });
});
