import { strict as assert } from 'node:assert';
import { PATHS } from '../../../src/server/endpoint-paths';
import { awsError } from '../../support/aws-sts';
import { STACK_TRACE } from '../../support/ext-trust';
import { httpsRequest } from '../../support/https-client';
import { startTestSts, type LogRecord, type TestSts } from '../../support/test-sts';

// An 'internal error' log line names what the caller was answered with, as a 'request failed' line
// does (an AWS error code, or the HTTP status of the bare error page), so a search of the logs by
// that answer finds internal errors too. The WS-Trust one (its fault) is in test/wstrust/faults.test.ts.

const BROKEN = 'the store broke in an unexpected way';

describe('server/app: internal error log lines name the answer', function () {
  this.timeout(30_000);
  let sts: TestSts;

  before(async () => {
    sts = await startTestSts();
  });
  after(async () => {
    await sts?.stop();
  });

  const linesOf = (requestId: string): LogRecord[] => sts.logs.filter((r) => r.fields['requestId'] === requestId);

  it('AWS: an action that fails unexpectedly is answered InternalFailure 500; its line carries error InternalFailure', async () => {
    const roles = sts.instance.store.awsRoles;
    const get = roles.get.bind(roles);
    roles.get = async () => {
      throw new Error(BROKEN);
    };
    const { accountId } = sts.instance.config.aws;
    let res;
    try {
      res = await httpsRequest(`${sts.baseUrl}/`, {
        ca: sts.tlsCertificatePem,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams({
          Action: 'AssumeRoleWithSAML',
          Version: '2011-06-15',
          RoleArn: `arn:aws:iam::${accountId}:role/Broken`,
          PrincipalArn: `arn:aws:iam::${accountId}:saml-provider/Broken`,
          SAMLAssertion: Buffer.from('<Response/>').toString('base64'),
        }).toString(),
      });
    } finally {
      roles.get = get;
    }
    assert.equal(res.status, 500, res.body);
    assert.equal(awsError(res.body).code, 'InternalFailure');
    assert.doesNotMatch(res.body, new RegExp(BROKEN));
    const lines = linesOf(res.requestId);
    assert.deepEqual(lines.map((r) => [r.level, r.msg]), [['error', 'internal error']]);
    const { durationMs, ...fields } = lines[0]?.fields ?? {};
    assert.equal(typeof durationMs, 'number');
    assert.deepEqual(fields, {
      requestId: res.requestId,
      path: '/',
      api: 'aws',
      action: 'AssumeRoleWithSAML',
      sourceIp: '127.0.0.1',
      roleArn: `arn:aws:iam::${accountId}:role/Broken`,
      principalArn: `arn:aws:iam::${accountId}:saml-provider/Broken`,
      httpStatus: 500,
      error: 'InternalFailure',
      errorName: 'Error',
      errorMessage: BROKEN,
    });
  });

  it('any other route that fails is answered a bare 500 page; its line carries httpStatus 500', async () => {
    const ring = sts.instance.signingKeys;
    const current = ring.current;
    ring.current = () => {
      throw new Error(BROKEN);
    };
    let res;
    try {
      res = await httpsRequest(`${sts.baseUrl}${PATHS.federationMetadata}`, { ca: sts.tlsCertificatePem });
    } finally {
      ring.current = current;
    }
    assert.equal(res.status, 500, res.body);
    assert.equal(res.body, `Internal error (request id ${res.requestId})\n`);
    assert.deepEqual(
      linesOf(res.requestId).map((r) => [r.level, r.msg, r.fields]),
      [['error', 'internal error', { requestId: res.requestId, path: PATHS.federationMetadata, httpStatus: 500, errorName: 'Error', errorMessage: BROKEN }]],
    );
    assert.doesNotMatch(JSON.stringify(sts.logs), STACK_TRACE);
  });
});
