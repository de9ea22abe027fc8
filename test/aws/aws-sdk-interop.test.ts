import { strict as assert } from 'node:assert';
import { Agent } from 'node:https';
import { AssumeRoleWithSAMLCommand, GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { AWS_SAML } from '../../src/core/aws-saml';
import { verifyWithXmlsec1, SAML2_ASSERTION_ID_ATTRIBUTE } from '../support/xmlsec1';
import { ACCOUNT, b64, OTHER_ROLE_ARN, ROLE, ROLE_ARN, SELF_PROVIDER_ARN, startAwsTestSts, USER, type AwsTestSts } from '../support/aws-sts';

// Interop: the AWS SDK for JavaScript v3, pointed at Trustbridge with `endpoint`, exchanges an
// assertion Trustbridge issued over WS-Trust for credentials, then signs GetCallerIdentity with them.

describe('aws: AssumeRoleWithSAML and GetCallerIdentity through @aws-sdk/client-sts', function () {
  let sts: AwsTestSts;
  let agent: Agent;
  const client = (credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) =>
    new STSClient({
      endpoint: sts.baseUrl,
      region: 'us-east-1',
      requestHandler: { httpsAgent: agent },
      maxAttempts: 1,
      ...(credentials ? { credentials } : {}),
    });

  before(async () => {
    sts = await startAwsTestSts();
    agent = new Agent({ ca: sts.tlsCertificatePem, keepAlive: true });
  });
  after(async () => {
    agent.destroy();
    await sts.stop();
  });

  it('the WS-Trust token for urn:amazon:webservices carries what AWS requires, and xmlsec1 verifies it', async () => {
    const token = await sts.issueAwsToken();
    assert.ok(token.includes(`<Audience>${AWS_SAML.signinUrl}</Audience>`), 'audience is the AWS sign-in URL');
    assert.ok(token.includes(`Recipient="${AWS_SAML.signinUrl}"`), 'bearer recipient is the AWS sign-in URL');
    assert.ok(token.includes(`<AttributeValue>${ROLE_ARN},${SELF_PROVIDER_ARN}</AttributeValue>`), 'Role attribute pairs role and provider');
    assert.ok(token.includes(`Name="${AWS_SAML.roleSessionName}"`) && token.includes(`<AttributeValue>${USER}</AttributeValue>`));
    assert.ok(token.includes('Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"'));
    const check = verifyWithXmlsec1(token, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.equal(check.ok, true, check.output);
  });

  it('AssumeRoleWithSAML (unsigned, as the SDK sends it) returns every field, and the credentials sign GetCallerIdentity', async () => {
    const token = await sts.issueAwsToken();
    const started = Date.now();
    const out = await client().send(
      new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token), DurationSeconds: 1800 }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    const c = out.Credentials;
    assert.ok(c);
    assert.match(c.AccessKeyId ?? '', /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.SecretAccessKey?.length, 40);
    assert.ok((c.SessionToken?.length ?? 0) > 100);
    const expiresIn = (c.Expiration?.getTime() ?? 0) - started;
    assert.ok(expiresIn > 1790_000 && expiresIn <= 1802_000, `expires in ${expiresIn} ms`);
    assert.match(out.AssumedRoleUser?.AssumedRoleId ?? '', new RegExp(`^AROA[A-Z2-7]{17}:${USER.replace('.', '\\.')}$`));
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${USER}`);
    assert.equal(out.Subject, USER);
    assert.equal(out.SubjectType, 'persistent');
    assert.equal(out.Issuer, sts.instance.config.issuer);
    assert.equal(out.Audience, AWS_SAML.signinUrl);
    assert.match(out.NameQualifier ?? '', /^[A-Za-z0-9+/]{27}=$/);
    assert.equal(out.PackedPolicySize, undefined);

    const who = await client({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }).send(
      new GetCallerIdentityCommand({}),
    );
    assert.equal(who.Account, ACCOUNT);
    assert.equal(who.Arn, out.AssumedRoleUser?.Arn);
    assert.equal(who.UserId, out.AssumedRoleUser?.AssumedRoleId);
  });

  it('one token names two roles: each may be assumed once (once-per-role), a second exchange for the same role is refused', async () => {
    const token = await sts.issueAwsToken();
    const first = await client().send(new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token) }));
    assert.ok(first.Credentials?.AccessKeyId);
    const second = await client().send(new AssumeRoleWithSAMLCommand({ RoleArn: OTHER_ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token) }));
    assert.ok(second.Credentials?.AccessKeyId);
    await assert.rejects(
      client().send(new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token) })),
      (err: unknown) => {
        assert.ok(err instanceof STSServiceException, String(err));
        assert.equal(err.name, 'InvalidIdentityTokenException');
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.match(err.message, /already been exchanged/);
        return true;
      },
    );
  });

  it('the SDK parses a refusal into its modelled exception (explicit error code and status)', async () => {
    const token = await sts.issueAwsToken();
    await assert.rejects(
      client().send(new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token), DurationSeconds: 7201 })),
      (err: unknown) => {
        assert.ok(err instanceof STSServiceException);
        assert.equal(err.name, 'ValidationError');
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.message, 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
        return true;
      },
    );
  });

  it('GetCallerIdentity with a wrong secret is SignatureDoesNotMatch (403)', async () => {
    const token = await sts.issueAwsToken();
    const out = await client().send(new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token) }));
    const c = out.Credentials!;
    const wrong = `${c.SecretAccessKey!.slice(0, 39)}${c.SecretAccessKey!.endsWith('A') ? 'B' : 'A'}`;
    await assert.rejects(
      client({ accessKeyId: c.AccessKeyId!, secretAccessKey: wrong, sessionToken: c.SessionToken! }).send(new GetCallerIdentityCommand({})),
      (err: unknown) => {
        assert.ok(err instanceof STSServiceException);
        assert.equal(err.name, 'SignatureDoesNotMatch');
        assert.equal(err.$metadata.httpStatusCode, 403);
        return true;
      },
    );
  });
});
