import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { deriveSessionTokenKey, SessionTokenSealer } from '../../src/aws/credentials/session-token';
import { newTemporaryCredentials } from '../../src/aws/credentials/temporary-credentials';
import { STACK_TRACE } from '../support/ext-trust';
import { httpsRequest } from '../support/https-client';
import { recordLogs } from '../support/observed-traffic';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import {
  ACCOUNT,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_PROVIDER_ARN,
  mintAssertion,
  ROLE,
  ROLE_ARN,
  startAwsTestSts,
  type AwsTestSts,
  type IssuedCredentials,
} from '../support/aws-sts';

// GetCallerIdentity signed with SigV4 by @smithy/signature-v4 (what every AWS SDK uses) over HTTPS:
// each way a signature, its time or its credentials can be wrong, and the presigned URL form.

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = { status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
const MIN = 60_000;

interface Creds {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

const creds = (c: IssuedCredentials): Creds => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken });
const signer = (credentials: Creds, service = 'sts') =>
  new SignatureV4({ credentials, region: 'us-east-1', service, sha256: Hash.bind(null, 'sha256') });

describe('aws: GetCallerIdentity refuses requests whose SigV4 signature or credentials do not hold', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  let first: IssuedCredentials;
  let second: IssuedCredentials;
  let host: string;

  const assume = async (): Promise<IssuedCredentials> => expectCredentials(await exchange(sts, mintAssertion({ key: sts.externalKey }).xml));

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    host = `localhost:${sts.port}`;
    first = await assume();
    second = await assume();
  });
  after(async () => {
    await sts?.stop();
  });

  const httpRequest = (o: { method?: string; headers?: Record<string, string>; body?: string; query?: Record<string, string> } = {}) =>
    new HttpRequest({
      method: o.method ?? 'POST',
      protocol: 'https:',
      hostname: 'localhost',
      port: sts.port,
      path: '/',
      headers: { host, ...(o.method === 'GET' ? {} : { 'content-type': FORM }), ...o.headers },
      ...(o.body === undefined && o.method === 'GET' ? {} : { body: o.body ?? BODY }),
      ...(o.query ? { query: o.query } : {}),
    });
  const sign = async (credentials: Creds, o: { signingDate?: Date; service?: string; headers?: Record<string, string> } = {}) => {
    const signed = await signer(credentials, o.service).sign(httpRequest({ headers: o.headers ?? {} }), {
      ...(o.signingDate ? { signingDate: o.signingDate } : {}),
    });
    return signed.headers as Record<string, string>;
  };
  const post = (headers: Record<string, string>, body = BODY, target = sts) =>
    postToSts(`${target.baseUrl}/`, { ca: sts.tlsCertificatePem, headers, body });
  const callerOf = (res: PostResult) => {
    assert.equal(res.status, 200, res.body.slice(0, 600));
    assert.doesNotMatch(res.body, STACK_TRACE);
    const field = (n: string) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(res.body)?.[1];
    assert.ok(res.body.startsWith('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'));
    assert.equal(res.headers['x-amzn-requestid'], field('RequestId'));
    return { arn: field('Arn'), userId: field('UserId'), account: field('Account') };
  };

  it('positive control: a request signed with the issued credentials names the assumed role', async () => {
    const who = callerOf(await post(await sign(creds(first))));
    assert.deepEqual(who, { arn: first.assumedRoleArn, userId: first.assumedRoleId, account: ACCOUNT });
    assert.equal(who.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/alice`);
  });

  it('no Authorization (nor presigned query) is MissingAuthenticationToken', async () => {
    const res = await sts.query({ Action: 'GetCallerIdentity' });
    expectAwsRefusal(sts, res, { status: 403, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' });
  });

  it('a wrong secret is SignatureDoesNotMatch', async () => {
    const wrong = { ...creds(first), secretAccessKey: randomBytes(30).toString('base64') };
    expectAwsRefusal(sts, await post(await sign(wrong)), { status: 403, code: 'SignatureDoesNotMatch', message: MISMATCH });
  });

  it('a body altered after signing is SignatureDoesNotMatch', async () => {
    const headers = await sign(creds(first));
    expectAwsRefusal(sts, await post(headers, `${BODY}&Extra=1`), { status: 403, code: 'SignatureDoesNotMatch', message: MISMATCH });
  });

  it('a body altered after signing is SignatureDoesNotMatch even when x-amz-content-sha256 is dropped', async () => {
    const headers = await sign(creds(first));
    assert.ok(headers['x-amz-content-sha256'], 'the signer sent the payload hash');
    const { ['x-amz-content-sha256']: _dropped, ...rest } = headers;
    void _dropped;
    expectAwsRefusal(sts, await post(rest, `${BODY}&Extra=1`), { status: 403, code: 'SignatureDoesNotMatch', message: MISMATCH });
  });

  it('a signed header changed after signing (Content-Type) is SignatureDoesNotMatch', async () => {
    const headers = await sign(creds(first));
    expectAwsRefusal(sts, await post({ ...headers, 'content-type': 'application/x-www-form-urlencoded' }), {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: MISMATCH,
    });
  });

  it('a signed custom header changed after signing is SignatureDoesNotMatch', async () => {
    const headers = await sign(creds(first), { headers: { 'x-amz-meta-purpose': 'audit' } });
    assert.match(headers['authorization'] ?? '', /x-amz-meta-purpose/);
    expectAwsRefusal(sts, await post({ ...headers, 'x-amz-meta-purpose': 'admin' }), { status: 403, code: 'SignatureDoesNotMatch', message: MISMATCH });
  });

  it('X-Amz-Date 16 minutes old is SignatureDoesNotMatch "Signature expired"', async () => {
    const headers = await sign(creds(first), { signingDate: new Date(Date.now() - 16 * MIN) });
    expectAwsRefusal(sts, await post(headers), {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    });
  });

  it('X-Amz-Date 16 minutes ahead is SignatureDoesNotMatch "Signature not yet current"', async () => {
    const headers = await sign(creds(first), { signingDate: new Date(Date.now() + 16 * MIN) });
    expectAwsRefusal(sts, await post(headers), {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$/,
    });
  });

  it('a credential scoped to another service is SignatureDoesNotMatch naming the service', async () => {
    const headers = await sign(creds(first), { service: 's3' });
    expectAwsRefusal(sts, await post(headers), { status: 403, code: 'SignatureDoesNotMatch', message: "Credential should be scoped to correct service: 'sts'." });
  });

  it('a temporary access key without its session token is InvalidClientTokenId', async () => {
    const { sessionToken: _token, ...withoutToken } = creds(first);
    void _token;
    const headers = await sign(withoutToken);
    assert.equal(headers['x-amz-security-token'], undefined);
    expectAwsRefusal(sts, await post(headers), INVALID_TOKEN);
  });

  it('the session token of another session (tokens swapped) is InvalidClientTokenId', async () => {
    const swapped = { ...creds(first), sessionToken: second.sessionToken };
    expectAwsRefusal(sts, await post(await sign(swapped)), INVALID_TOKEN);
  });

  it('a tampered session token is InvalidClientTokenId', async () => {
    const t = first.sessionToken;
    const i = Math.floor(t.length / 2);
    const tampered = { ...creds(first), sessionToken: t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1) };
    expectAwsRefusal(sts, await post(await sign(tampered)), INVALID_TOKEN);
  });

  it('a long-term (AKIA) access key id is InvalidClientTokenId', async () => {
    const akia = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    expectAwsRefusal(sts, await post(await sign(akia)), INVALID_TOKEN);
  });

  const sealed = async (masterKey: Buffer, expiration: Date) => {
    const role = await sts.instance.store.awsRoles.get(ROLE);
    assert.ok(role);
    const sealer = new SessionTokenSealer({ currentKeyId: '1', keys: new Map([['1', deriveSessionTokenKey(masterKey, '1')]]) });
    const { claims, sessionToken } = newTemporaryCredentials(sealer, {
      accountId: ACCOUNT,
      roleArn: ROLE_ARN,
      roleId: role.roleId,
      roleSessionName: 'alice',
      providerArn: EXTERNAL_PROVIDER_ARN,
      issuedAt: new Date(expiration.getTime() - 3600_000),
      expiration,
      sourceIdentity: null,
      tags: [],
      transitiveTagKeys: [],
      sessionPolicy: null,
      policyArns: [],
    });
    return { accessKeyId: claims.accessKeyId, secretAccessKey: claims.secretAccessKey, sessionToken };
  };

  it('credentials sealed with an expiration in the past are ExpiredToken', async () => {
    const expired = await sealed(sts.instance.masterKey, new Date(Date.now() - 1000));
    expectAwsRefusal(sts, await post(await sign(expired)), { status: 403, code: 'ExpiredToken', message: 'The security token included in the request is expired' });
  });

  it('positive control: credentials sealed the same way but still valid are accepted', async () => {
    const valid = await sealed(sts.instance.masterKey, new Date(Date.now() + 600_000));
    assert.equal(callerOf(await post(await sign(valid))).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/alice`);
  });

  it('credentials sealed under another master key are InvalidClientTokenId', async () => {
    const foreign = await sealed(randomBytes(32), new Date(Date.now() + 600_000));
    expectAwsRefusal(sts, await post(await sign(foreign)), INVALID_TOKEN);
  });

  it('credentials issued by one STS verify on another serving the same instance (shared master key), and not on a third', async () => {
    let twin: TestSts | undefined;
    let stranger: TestSts | undefined;
    try {
      twin = await startTestSts({ home: sts.home });
      recordLogs(twin.logs);
      assert.notEqual(twin.port, sts.port);
      const signedForTwin = await signer(creds(first)).sign(
        new HttpRequest({ method: 'POST', protocol: 'https:', hostname: 'localhost', port: twin.port, path: '/', headers: { host: `localhost:${twin.port}`, 'content-type': FORM }, body: BODY }),
      );
      const who = callerOf(await post(signedForTwin.headers as Record<string, string>, BODY, { ...sts, baseUrl: twin.baseUrl }));
      assert.equal(who.arn, first.assumedRoleArn);

      stranger = await startTestSts();
      recordLogs(stranger.logs);
      const signedForStranger = await signer(creds(first)).sign(
        new HttpRequest({ method: 'POST', protocol: 'https:', hostname: 'localhost', port: stranger.port, path: '/', headers: { host: `localhost:${stranger.port}`, 'content-type': FORM }, body: BODY }),
      );
      const res = await postToSts(`${stranger.baseUrl}/`, { ca: stranger.tlsCertificatePem, headers: signedForStranger.headers as Record<string, string>, body: BODY });
      expectAwsRefusal(stranger, res, INVALID_TOKEN);
    } finally {
      await twin?.stop();
      await stranger?.stop();
    }
  });

  describe('presigned URLs', () => {
    const presign = async (credentials: Creds, o: { expiresIn?: number; signingDate?: Date } = {}) => {
      const presigned = await signer(credentials).presign(
        httpRequest({ method: 'GET', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } }),
        { expiresIn: o.expiresIn ?? 300, ...(o.signingDate ? { signingDate: o.signingDate } : {}) },
      );
      const query = Object.entries(presigned.query ?? {})
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&');
      return `${sts.baseUrl}/?${query}`;
    };

    it('a presigned GET /?Action=GetCallerIdentity&…&X-Amz-Signature=… answers with the identity', async () => {
      const url = await presign(creds(first));
      assert.match(url, /X-Amz-Algorithm=AWS4-HMAC-SHA256/);
      assert.match(url, /X-Amz-Security-Token=/);
      const who = callerOf(await httpsRequest(url, { ca: sts.tlsCertificatePem, headers: { host } }));
      assert.deepEqual(who, { arn: first.assumedRoleArn, userId: first.assumedRoleId, account: ACCOUNT });
    });

    it('a presigned URL past X-Amz-Expires is AccessDenied "Request has expired"', async () => {
      const url = await presign(creds(first), { expiresIn: 60, signingDate: new Date(Date.now() - 5 * MIN) });
      expectAwsRefusal(sts, await httpsRequest(url, { ca: sts.tlsCertificatePem, headers: { host } }), { status: 403, code: 'AccessDenied', message: 'Request has expired' });
    });

    it('a presigned URL with a parameter changed is SignatureDoesNotMatch', async () => {
      const url = await presign(creds(first));
      expectAwsRefusal(sts, await httpsRequest(`${url}&Extra=1`, { ca: sts.tlsCertificatePem, headers: { host } }), { status: 403, code: 'SignatureDoesNotMatch', message: MISMATCH });
    });

    it('a presigned URL that also carries an Authorization header is IncompleteSignature', async () => {
      const url = await presign(creds(first));
      const res = await httpsRequest(url, { ca: sts.tlsCertificatePem, headers: { host, authorization: 'AWS4-HMAC-SHA256 Credential=x' } });
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'IncompleteSignature',
        message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
      });
    });
  });
});
