import { strict as assert } from 'node:assert';
import { AWS_SAML } from '../../src/core/aws-saml';
import type { CanonicalElement } from '../../src/xml/enveloped-signature';
import { recordLogs } from '../support/observed-traffic';
import {
  exchange,
  expectAwsRefusal,
  expectCredentials,
  inResponse,
  mintAssertion,
  mintEditedAssertion,
  OTHER_ROLE_ARN,
  startAwsTestSts,
  type AwsTestSts,
  type MintOptions,
} from '../support/aws-sts';

// AWS's rules for the assertion itself, once its signature verified: audience, bearer confirmation,
// the time window, the issuer, and the attributes AWS reads (RoleSessionName, SessionDuration,
// PrincipalTag, TransitiveTagKeys, SourceIdentity). Default config: clock skew 300 s.

const MIN = 60_000;
const invalid = (message: string | RegExp) => ({ status: 400, code: 'InvalidIdentityToken', message });
const expired = (message: string | RegExp) => ({ status: 400, code: 'ExpiredTokenException', message });
const ago = (ms: number) => new Date(Date.now() - ms);
const later = (ms: number) => new Date(Date.now() + ms);
const regexEdit =
  (pattern: RegExp, to: string) =>
  (c: CanonicalElement): CanonicalElement => {
    assert.match(c.afterSignature, pattern);
    return { ...c, afterSignature: c.afterSignature.replace(pattern, to) };
  };
const tag = (key: string, ...values: string[]) => ({ name: `${AWS_SAML.principalTagPrefix}${key}`, values });

describe('aws: AssumeRoleWithSAML applies AWS\'s rules to a verified assertion', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
  });
  after(async () => {
    await sts?.stop();
  });

  const mint = (o: Omit<MintOptions, 'key'> = {}) => mintAssertion({ key: sts.externalKey, ...o });
  const mintEdited = (edit: (c: CanonicalElement) => CanonicalElement, o: Omit<MintOptions, 'key'> = {}) =>
    mintEditedAssertion({ key: sts.externalKey, ...o }, edit);

  describe('audience and bearer confirmation', () => {
    it('a wrong Audience is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ audience: 'https://app.example/' }).xml);
      expectAwsRefusal(sts, res, invalid("The SAML assertion's Audience must be https://signin.aws.amazon.com/saml or urn:amazon:webservices."));
    });

    it('a second AudienceRestriction naming only another service provider is InvalidIdentityToken', async () => {
      const g = mintEdited((c) => ({
        ...c,
        afterSignature: c.afterSignature.replace(
          '</AudienceRestriction>',
          '</AudienceRestriction><AudienceRestriction><Audience>https://other-sp.example/</Audience></AudienceRestriction>',
        ),
      }));
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, invalid("The SAML assertion's Audience must be https://signin.aws.amazon.com/saml or urn:amazon:webservices."));
    });

    it('positive control: one AudienceRestriction listing another audience beside AWS\'s is accepted (audiences in one restriction are OR-ed)', async () => {
      const g = mintEdited((c) => ({
        ...c,
        afterSignature: c.afterSignature.replace('</Audience></AudienceRestriction>', '</Audience><Audience>https://other-sp.example/</Audience></AudienceRestriction>'),
      }));
      expectCredentials(await exchange(sts, g.xml));
    });

    it('positive control: Audience urn:amazon:webservices and a regional sign-in Recipient are accepted', async () => {
      // OTHER_ROLE: ROLE's trust policy requires SAML:aud (the Recipient) to be the global sign-in URL.
      const xml = mint({ audience: AWS_SAML.appliesTo, recipient: 'https://us-east-1.signin.aws.amazon.com/saml' }).xml;
      const c = expectCredentials(await exchange(sts, xml, { roleArn: OTHER_ROLE_ARN }));
      assert.equal(c.fields['Audience'], 'https://us-east-1.signin.aws.amazon.com/saml', 'Audience in the result is the Recipient');
    });

    it('a wrong Recipient is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ recipient: 'https://evil.example/saml' }).xml);
      expectAwsRefusal(sts, res, invalid("The bearer SubjectConfirmationData's Recipient must be https://signin.aws.amazon.com/saml."));
    });

    it('a Recipient that only looks regional (another domain) is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ recipient: 'https://us-east-1.signin.aws.amazon.com.evil.example/saml' }).xml);
      expectAwsRefusal(sts, res, invalid(/Recipient must be/));
    });

    it('no bearer SubjectConfirmation (sender-vouches only) is InvalidIdentityToken', async () => {
      const g = mintEdited(regexEdit(/urn:oasis:names:tc:SAML:2\.0:cm:bearer/, 'urn:oasis:names:tc:SAML:2.0:cm:sender-vouches'));
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, invalid('The SAML assertion must have exactly one bearer SubjectConfirmation.'));
    });

    it('two bearer SubjectConfirmations are InvalidIdentityToken', async () => {
      const g = mintEdited((c) => {
        const confirmation = /<SubjectConfirmation [\s\S]*?<\/SubjectConfirmation>/.exec(c.afterSignature)?.[0] as string;
        return { ...c, afterSignature: c.afterSignature.replace(confirmation, confirmation + confirmation) };
      });
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, invalid('The SAML assertion must have exactly one bearer SubjectConfirmation.'));
    });

    it('a bearer SubjectConfirmationData without NotOnOrAfter is InvalidIdentityToken', async () => {
      const g = mintEdited(regexEdit(/<SubjectConfirmationData NotOnOrAfter="[^"]+"/, '<SubjectConfirmationData'));
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, invalid('The bearer SubjectConfirmationData must have NotOnOrAfter.'));
    });
  });

  describe('time', () => {
    it('Conditions NotOnOrAfter past (beyond the clock skew) is ExpiredTokenException', async () => {
      const res = await exchange(sts, mint({ issueInstant: ago(8 * MIN), notOnOrAfter: ago(6 * MIN) }).xml);
      expectAwsRefusal(sts, res, expired('The SAML assertion has expired (Conditions NotOnOrAfter).'));
    });

    it('SubjectConfirmationData NotOnOrAfter past (Conditions still valid) is ExpiredTokenException', async () => {
      const g = mintEdited(regexEdit(/<SubjectConfirmationData NotOnOrAfter="[^"]+"/, `<SubjectConfirmationData NotOnOrAfter="${ago(6 * MIN).toISOString()}"`));
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, expired('The SAML assertion has expired (SubjectConfirmationData NotOnOrAfter).'));
    });

    it('IssueInstant 6 minutes old (NotOnOrAfter ahead) is ExpiredTokenException "Token must be redeemed within 5 minutes of issuance"', async () => {
      const res = await exchange(sts, mint({ issueInstant: ago(6 * MIN), notOnOrAfter: later(30 * MIN) }).xml);
      expectAwsRefusal(sts, res, expired('Token must be redeemed within 5 minutes of issuance'));
    });

    it('an old signed assertion wrapped in a fresh UNSIGNED Response is still ExpiredTokenException', async () => {
      const g = mint({ issueInstant: ago(11 * MIN), notOnOrAfter: later(30 * MIN) });
      const res = await exchange(sts, inResponse(g.xml, new Date()));
      expectAwsRefusal(sts, res, expired('Token must be redeemed within 5 minutes of issuance'));
    });

    it('IssueInstant in the future beyond the clock skew is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ issueInstant: later(6 * MIN), notOnOrAfter: later(20 * MIN) }).xml);
      expectAwsRefusal(sts, res, invalid('The SAML response was issued in the future (IssueInstant).'));
    });

    it('Conditions NotBefore in the future beyond the clock skew is InvalidIdentityToken', async () => {
      const g = mintEdited(regexEdit(/<Conditions NotBefore="[^"]+"/, `<Conditions NotBefore="${later(6 * MIN).toISOString()}"`), {
        notOnOrAfter: later(20 * MIN),
      });
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, invalid('The SAML assertion is not yet valid (Conditions NotBefore).'));
    });

    it('AuthnStatement SessionNotOnOrAfter past is ExpiredTokenException', async () => {
      const g = mintEdited(regexEdit(/(<AuthnStatement AuthnInstant="[^"]+" SessionIndex="[^"]+")/, `$1 SessionNotOnOrAfter="${ago(1000).toISOString()}"`));
      const res = await exchange(sts, g.xml);
      expectAwsRefusal(sts, res, expired("The SAML assertion's session has ended (SessionNotOnOrAfter)."));
    });
  });

  describe('issuer', () => {
    it('an Issuer that is not the provider\'s entityID (signed with the provider\'s key) is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ issuer: 'https://other-idp.example/saml' }).xml);
      const { log } = expectAwsRefusal(sts, res, invalid('The Issuer of the SAML assertion does not match the SAML provider named by PrincipalArn.'));
      assert.equal(typeof log['assertionId'], 'string', 'the verified assertion id is logged');
    });
  });

  describe('attributes', () => {
    it('no RoleSessionName attribute is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ roleSessionName: null }).xml);
      expectAwsRefusal(sts, res, invalid(`RoleSessionName is required in the SAML assertion (attribute ${AWS_SAML.roleSessionName}).`));
    });

    for (const [label, name] of [
      ['with a space', 'al ice'],
      ['of 1 character', 'a'],
      ['of 65 characters', 'a'.repeat(65)],
      ['with a slash', 'alice/admin'],
    ] as const) {
      it(`a RoleSessionName ${label} is InvalidIdentityToken`, async () => {
        const res = await exchange(sts, mint({ roleSessionName: name }).xml);
        expectAwsRefusal(sts, res, invalid('The RoleSessionName attribute must be 2 to 64 characters of letters, digits and +=,.@_-.'));
      });
    }

    it('positive control: RoleSessionNames of 2 and of 64 characters are accepted and name the session', async () => {
      for (const name of ['ab', `${'x'.repeat(60)}@a.b`]) {
        const c = expectCredentials(await exchange(sts, mint({ roleSessionName: name }).xml));
        assert.ok(c.assumedRoleArn.endsWith(`/${name}`), c.assumedRoleArn);
      }
    });

    it('a RoleSessionName with two values is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ roleSessionName: null, extraAttributes: [{ name: AWS_SAML.roleSessionName, values: ['alice', 'bob'] }] }).xml);
      expectAwsRefusal(sts, res, invalid(`The attribute ${AWS_SAML.roleSessionName} must have one value.`));
    });

    for (const value of ['899', '43201', '3600s', '-900']) {
      it(`a SessionDuration attribute of "${value}" is InvalidIdentityToken`, async () => {
        const res = await exchange(sts, mint({ extraAttributes: [{ name: AWS_SAML.sessionDuration, values: [value] }] }).xml);
        expectAwsRefusal(sts, res, invalid('The SessionDuration attribute must be whole seconds from 900 to 43200.'));
      });
    }

    it('51 PrincipalTag attributes are InvalidIdentityToken (at most 50)', async () => {
      const tags = Array.from({ length: 51 }, (_, i) => tag(`k${i}`, 'v'));
      const res = await exchange(sts, mint({ extraAttributes: tags }).xml);
      expectAwsRefusal(sts, res, invalid('A session may carry at most 50 tags.'));
    });

    it('a PrincipalTag key IAM does not allow is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ extraAttributes: [tag('bad!key', 'v')] }).xml);
      expectAwsRefusal(sts, res, invalid('A PrincipalTag attribute has a key or value that IAM does not allow.'));
    });

    it('a PrincipalTag value over 256 characters is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ extraAttributes: [tag('Dept', 'x'.repeat(257))] }).xml);
      expectAwsRefusal(sts, res, invalid('A PrincipalTag attribute has a key or value that IAM does not allow.'));
    });

    it('a PrincipalTag with two values is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ extraAttributes: [tag('Dept', 'a', 'b')] }).xml);
      expectAwsRefusal(sts, res, invalid('The session tag Dept must have one value.'));
    });

    it('one tag key in two spellings (Dept, dept) is InvalidIdentityToken', async () => {
      const res = await exchange(sts, mint({ extraAttributes: [tag('Dept', 'a'), tag('dept', 'b')] }).xml);
      expectAwsRefusal(sts, res, invalid('The session tag dept appears more than once.'));
    });

    it('TransitiveTagKeys naming a key that is not a PrincipalTag is InvalidIdentityToken', async () => {
      const res = await exchange(
        sts,
        mint({ extraAttributes: [tag('Dept', 'eng'), { name: AWS_SAML.transitiveTagKeys, values: ['Dept', 'CostCenter'] }] }).xml,
      );
      expectAwsRefusal(sts, res, invalid('Every TransitiveTagKeys value must name a PrincipalTag of the assertion.'));
    });

    for (const value of ['aws:alice', 'AWS:alice', 'a', 'has space']) {
      it(`a SourceIdentity of "${value}" is InvalidIdentityToken`, async () => {
        const res = await exchange(sts, mint({ extraAttributes: [{ name: AWS_SAML.sourceIdentity, values: [value] }] }).xml);
        expectAwsRefusal(
          sts,
          res,
          invalid('The SourceIdentity attribute must be 2 to 64 characters of letters, digits and +=,.@_- and not begin with aws:.'),
        );
      });
    }

    it('positive control: tags, transitive keys (any case) and a SourceIdentity are accepted; PackedPolicySize reports the tags', async () => {
      const res = await exchange(
        sts,
        mint({
          extraAttributes: [
            tag('Dept', 'eng'),
            tag('Project', 'apollo'),
            { name: AWS_SAML.transitiveTagKeys, values: ['dept'] },
            { name: AWS_SAML.sourceIdentity, values: ['alice@example.com'] },
          ],
        }).xml,
      );
      const c = expectCredentials(res);
      assert.equal(c.fields['SourceIdentity'], 'alice@example.com');
      // (4 + 3 + 7 + 6) characters of 2048, rounded up.
      assert.equal(c.fields['PackedPolicySize'], '1');
    });
  });
});
