import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_SAML } from '../../src/core/aws-saml';
import { ACCOUNT, b64, ROLE, ROLE_ARN, SELF_PROVIDER_ARN, startAwsTestSts, USER, type AwsTestSts } from '../support/aws-sts';

// Interop: the AWS CLI v2 from Debian (/usr/bin/aws, installed by the test command) against
// Trustbridge with --endpoint-url: AssumeRoleWithSAML, then GetCallerIdentity with what it returned.

const AWS_CLI = '/usr/bin/aws';

describe('aws: AssumeRoleWithSAML and GetCallerIdentity through the AWS CLI (Debian awscli v2)', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  let dir: string;
  let caBundle: string;

  // A clean environment: no profile, config or credentials of the machine's user leak in.
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    ...extra,
  });
  // Asynchronous on purpose: the server under test runs in this process, so a synchronous spawn
  // would stop it from answering.
  const aws = (args: readonly string[], extraEnv: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        AWS_CLI,
        ['--endpoint-url', sts.baseUrl, '--region', 'us-east-1', '--ca-bundle', caBundle, '--output', 'json', ...args],
        { encoding: 'utf8', env: env(extraEnv), timeout: 45_000 },
        (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: unknown }).code as number | null) ?? null : 0, stdout, stderr }),
      );
    });

  before(async () => {
    sts = await startAwsTestSts();
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-awscli-'));
    caBundle = join(dir, 'ca.pem');
    writeFileSync(caBundle, sts.tlsCertificatePem);
  });
  after(async () => {
    await sts.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('assume-role-with-saml returns credentials the CLI then uses for get-caller-identity', async () => {
    const token = await sts.issueAwsToken();
    const assumed = await aws(['sts', 'assume-role-with-saml', '--role-arn', ROLE_ARN, '--principal-arn', SELF_PROVIDER_ARN, '--saml-assertion', b64(token)], {});
    assert.equal(assumed.status, 0, assumed.stderr);
    const out = JSON.parse(assumed.stdout) as {
      Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string };
      AssumedRoleUser: { AssumedRoleId: string; Arn: string };
      Subject: string;
      SubjectType: string;
      Issuer: string;
      Audience: string;
      NameQualifier: string;
    };
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(out.Credentials.SecretAccessKey.length, 40);
    assert.ok(!Number.isNaN(Date.parse(out.Credentials.Expiration)));
    assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${USER}`);
    assert.equal(out.Subject, USER);
    assert.equal(out.SubjectType, 'persistent');
    assert.equal(out.Issuer, sts.instance.config.issuer);
    assert.equal(out.Audience, AWS_SAML.signinUrl);
    assert.ok(out.NameQualifier.length > 0);

    const who = await aws(['sts', 'get-caller-identity'], {
      AWS_ACCESS_KEY_ID: out.Credentials.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: out.Credentials.SecretAccessKey,
      AWS_SESSION_TOKEN: out.Credentials.SessionToken,
    });
    assert.equal(who.status, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout), { UserId: out.AssumedRoleUser.AssumedRoleId, Account: ACCOUNT, Arn: out.AssumedRoleUser.Arn });
  });

  it('a refusal reaches the CLI user as AWS prints it: the error code and message, exit status 254', async () => {
    const token = await sts.issueAwsToken();
    const tampered = token.replace(`<NameID`, `<NameID SPProvidedID="x"`);
    const refused = await aws(['sts', 'assume-role-with-saml', '--role-arn', ROLE_ARN, '--principal-arn', SELF_PROVIDER_ARN, '--saml-assertion', b64(tampered)]);
    assert.equal(refused.status, 254, refused.stderr);
    assert.match(refused.stderr, /An error occurred \(InvalidIdentityToken\) when calling the AssumeRoleWithSAML operation: The SAML assertion's signature is not valid/);
  });

  it('get-caller-identity with a session token whose bytes were altered is InvalidClientTokenId', async () => {
    const token = await sts.issueAwsToken();
    const assumed = await aws(['sts', 'assume-role-with-saml', '--role-arn', ROLE_ARN, '--principal-arn', SELF_PROVIDER_ARN, '--saml-assertion', b64(token)]);
    assert.equal(assumed.status, 0, assumed.stderr);
    const c = (JSON.parse(assumed.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }).Credentials;
    const middle = Math.floor(c.SessionToken.length / 2);
    const flipped = c.SessionToken.slice(0, middle) + (c.SessionToken[middle] === 'A' ? 'B' : 'A') + c.SessionToken.slice(middle + 1);
    const who = await aws(['sts', 'get-caller-identity'], {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: flipped,
    });
    assert.equal(who.status, 254);
    assert.match(who.stderr, /\(InvalidClientTokenId\).*The security token included in the request is invalid/);
  });
});
