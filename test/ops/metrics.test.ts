import { strict as assert } from 'node:assert';
import { AWS_SAML } from '../../src/core/aws-saml';
import { awsError, exchange, mintAssertion, ROLE_ARN, SELF_PROVIDER_ARN, startAwsTestSts, USER, type AwsTestSts } from '../support/aws-sts';
import { nonZeroSamples, parseExposition, sampleValue, type Exposition } from '../support/exposition';
import { httpsRequest } from '../support/https-client';
import { postToSts } from '../support/sts-post';
import { appliesTo, trustRequest } from '../support/trust-messages';

// /metrics of one process after a known mix of requests: the exact counts, and an exposition a
// Prometheus server reads (parsed strictly). Label values never carry what a caller sent.

const BOGUS_ACTION = 'NoSuchAction41';
const WRONG_PASSWORD = 'not-the-password-9';

describe('ops: /metrics of a single process', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  let text: string;
  let metrics: Exposition;

  const scrape = async (): Promise<{ text: string; metrics: Exposition }> => {
    const res = await httpsRequest(`${sts.baseUrl}/metrics`, { ca: sts.tlsCertificatePem });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    return { text: res.body, metrics: parseExposition(res.body) };
  };

  before(async () => {
    // Two Issue or AssumeRoleWithSAML requests per principal pass; the next one raises request-burst.
    sts = await startAwsTestSts({ config: { burstDetector: { windowSeconds: 3600, maxPerPrincipal: 2, maxPerAddress: 0 } } });
    for (let i = 0; i < 3; i++) await sts.issueAwsToken();

    const wrong = trustRequest({ version: '1.3', username: USER, password: WRONG_PASSWORD, requestType: 'Issue', rstBody: appliesTo(AWS_SAML.appliesTo) });
    const refused = await postToSts(`${sts.baseUrl}/adfs/services/trust/13/usernamemixed`, { ca: sts.tlsCertificatePem, ...wrong });
    assert.equal(refused.status, 400);
    assert.match(refused.body, /FailedAuthentication/);

    // Golden SAML: an assertion signed with our key that we never issued; refused with a forged-token alert.
    const forged = mintAssertion({ key: sts.instance.signingKey, issuer: sts.instance.config.issuer, nameId: USER, roleSessionName: USER, roles: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`] });
    const golden = await exchange(sts, forged.xml, { principalArn: SELF_PROVIDER_ARN });
    assert.equal(awsError(golden.body).code, 'InvalidIdentityToken');
    assert.equal(awsError((await sts.query({ Action: BOGUS_ACTION })).body).code, 'InvalidAction');
    assert.equal(awsError((await sts.query({ Action: 'GetCallerIdentity' })).body).code, 'MissingAuthenticationToken');
    assert.equal((await httpsRequest(`${sts.baseUrl}/no/such/${BOGUS_ACTION}`, { ca: sts.tlsCertificatePem })).status, 404);

    await scrape();
    ({ text, metrics } = await scrape());
  });
  after(async () => {
    await sts?.stop();
  });

  it('counts requests by api, operation and outcome, exactly', () => {
    assert.deepEqual(nonZeroSamples(metrics, 'trustbridge_requests_total'), {
      'api=wstrust,operation=Issue,outcome=success': 3,
      'api=wstrust,operation=Issue,outcome=fault': 1,
      'api=aws,operation=AssumeRoleWithSAML,outcome=fault': 1,
      'api=aws,operation=unknown,outcome=fault': 1,
      'api=aws,operation=GetCallerIdentity,outcome=fault': 1,
    });
    // Every known operation has its series from the start, so a rate() over them never starts from nothing.
    assert.equal(sampleValue(metrics, 'trustbridge_requests_total', { api: 'wstrust', operation: 'Cancel', outcome: 'success' }), 0);
  });

  it('counts faults by their SOAP fault code or AWS error code', () => {
    assert.deepEqual(nonZeroSamples(metrics, 'trustbridge_faults_total'), {
      'api=wstrust,code=wsse:FailedAuthentication,operation=Issue': 1,
      'api=aws,code=InvalidIdentityToken,operation=AssumeRoleWithSAML': 1,
      'api=aws,code=InvalidAction,operation=unknown': 1,
      'api=aws,code=MissingAuthenticationToken,operation=GetCallerIdentity': 1,
    });
  });

  it('counts tokens issued, and every alert once: raised by a request (forged-token) or recorded by a detector (request-burst)', () => {
    assert.deepEqual(nonZeroSamples(metrics, 'trustbridge_tokens_issued_total'), { 'operation=Issue': 3 });
    assert.deepEqual(nonZeroSamples(metrics, 'trustbridge_alerts_total'), {
      'alert=forged-token,severity=critical': 1,
      'alert=request-burst,severity=high': 1,
    });
    assert.equal(sampleValue(metrics, 'trustbridge_alerts_total', { alert: 'token-from-revoked-key', severity: 'critical' }), 0);
  });

  it('records each request in the latency histogram, with buckets from 1 ms to 2.5 s', () => {
    const issue = { api: 'wstrust', operation: 'Issue' };
    assert.equal(sampleValue(metrics, 'trustbridge_request_duration_seconds_count', issue), 4);
    const sum = sampleValue(metrics, 'trustbridge_request_duration_seconds_sum', issue) ?? 0;
    assert.ok(sum > 0 && sum < 60, `sum ${sum}`);
    const bounds = (metrics.get('trustbridge_request_duration_seconds')?.samples ?? [])
      .filter((s) => s.name.endsWith('_bucket') && s.labels['operation'] === 'Issue' && s.labels['api'] === 'wstrust')
      .map((s) => s.labels['le']);
    assert.deepEqual(bounds, ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf']);
    assert.equal(sampleValue(metrics, 'trustbridge_request_duration_seconds_count', { api: 'aws', operation: 'unknown' }), 1);
  });

  it('counts the other routes by route and status, unknown paths as "unmatched"', () => {
    assert.deepEqual(nonZeroSamples(metrics, 'trustbridge_http_requests_total'), {
      'route=/metrics,status=200': 1,
      'route=unmatched,status=404': 1,
    });
    assert.equal(sampleValue(metrics, 'trustbridge_http_requests_in_flight'), 1);
    assert.equal(sampleValue(metrics, 'trustbridge_http_requests_queued'), 0, 'the queue gauge is exposed, at 0 (nothing waits here)');
    assert.equal(sampleValue(metrics, 'trustbridge_password_checks_queued'), 0, 'so is the password checks\' queue');
  });

  it('never puts what a caller sent into a label', () => {
    assert.doesNotMatch(text, new RegExp(BOGUS_ACTION));
    assert.doesNotMatch(text, new RegExp(WRONG_PASSWORD));
    assert.doesNotMatch(text, /alice|no\/such/);
  });

  it('reports the signing key\'s age and remaining validity, and the process', () => {
    const key = sts.instance.signingKey;
    const labels = { thumbprint: key.thumbprintSha256, state: 'active' };
    const expiresIn = sampleValue(metrics, 'trustbridge_signing_key_expires_in_seconds', labels);
    assert.ok(expiresIn !== undefined && Math.abs(expiresIn - (key.notAfter.getTime() - Date.now()) / 1000) < 60, `expires in ${expiresIn}`);
    const age = sampleValue(metrics, 'trustbridge_signing_key_age_seconds', labels);
    assert.ok(age !== undefined && age >= 0 && age < 600, `age ${age}`);
    assert.deepEqual(metrics.get('trustbridge_signing_key_age_seconds')?.samples.length, 1, 'only the keys in use (pending, active, retiring)');

    assert.ok((sampleValue(metrics, 'process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024);
    assert.ok((sampleValue(metrics, 'process_cpu_seconds_total') ?? 0) > 0);
    const lag = sampleValue(metrics, 'nodejs_eventloop_lag_seconds');
    assert.ok(lag !== undefined && lag >= 0 && lag < 5, `lag ${lag}`);
    const build = metrics.get('trustbridge_build_info')?.samples ?? [];
    assert.equal(build.length, 1);
    assert.deepEqual(build[0]?.labels, { version: '0.1.0', nodejs_version: process.version });
    assert.equal(build[0]?.value, 1);
  });

  it('gives every family HELP and TYPE, counters named _total', () => {
    for (const f of metrics.values()) {
      assert.ok(f.help.length > 10, `${f.name} has help`);
      if (f.type === 'counter') assert.match(f.name, /_total$/);
    }
    assert.deepEqual(
      [...metrics.keys()].filter((n) => n.startsWith('trustbridge_')).sort(),
      [
        'trustbridge_alerts_total',
        'trustbridge_build_info',
        'trustbridge_faults_total',
        'trustbridge_http_requests_in_flight',
        'trustbridge_http_requests_queued',
        'trustbridge_http_requests_total',
        'trustbridge_password_checks_queued',
        'trustbridge_request_duration_seconds',
        'trustbridge_requests_total',
        'trustbridge_signing_key_age_seconds',
        'trustbridge_signing_key_expires_in_seconds',
        'trustbridge_tokens_issued_total',
      ],
    );
  });

  it('adds durationMs and httpStatus to the request log lines', () => {
    const lines = sts.logs.filter((l) => l.msg === 'request served' || l.msg === 'request failed');
    assert.equal(lines.length, 7);
    for (const l of lines) {
      assert.equal(typeof l.fields['durationMs'], 'number', JSON.stringify(l));
      assert.ok((l.fields['durationMs'] as number) > 0);
    }
    assert.deepEqual(lines.map((l) => l.fields['httpStatus']), [200, 200, 200, 400, 400, 400, 403]);
  });
});
