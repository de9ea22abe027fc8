import { strict as assert } from 'node:assert';
import { rstrOf, sendTrust, STACK_TRACE, type Combo, type Sent } from '../support/ext-trust';
import { sampleValue } from '../support/exposition';
import { awsError, b64, EXTERNAL_PROVIDER_ARN, mintAssertion, ROLE_ARN, startAwsTestSts, type AwsTestSts } from '../support/aws-sts';
import { storedEvents } from '../support/golden-saml';
import { httpsRequest, type HttpResponse } from '../support/https-client';
import { HeldRequest, leavingRequest, scrape, waitForInFlight } from '../support/ops-client';
import { parseFault } from '../support/soap-reply';
import { assertStoreChange, takeStoreSnapshot } from '../support/store-snapshot';
import { appliesTo, pathOf, trustNs, trustRequest } from '../support/trust-messages';
import { until } from '../support/until';
import { HeldPasswordChecks } from '../support/held-password-checks';

// limits.maxConcurrentRequests over the real listener: with a limit of 1, the requests after the first
// (WS-Trust and AWS) wait for its turn (counted in trustbridge_http_requests_queued), while what needs
// no turn still answers at once: /metrics and /healthz, a body refused as too large, and a body still
// being sent. The server's
// password checks are held open (its verifyPassword) to keep the one turn taken for as long as the
// test needs. A request whose client leaves while it waits is dropped when its turn comes.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const RP = 'https://rp.admission.example/';
const FIRST = { user: 'first@admission.example', password: 'Admission-First-Lantern-5!' };
const SECOND = { user: 'second@admission.example', password: 'Admission-Second-Harbour-7?' };
// Users of their own for the test of a client leaving, whose passwords are not yet in the verified-password cache.
const HOLDER = { user: 'holder@admission.example', password: 'Admission-Holder-Beacon-3%' };
const LEAVER = { user: 'leaver@admission.example', password: 'Admission-Leaver-Quarry-9&' };

describe('ops: limits.maxConcurrentRequests (requests take turns once their body is read)', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  const held = new HeldPasswordChecks();

  const issue = (who: { user: string; password: string }): Promise<Sent> => sendTrust(sts, COMBO, { ...who, op: 'Issue', rstBody: appliesTo(RP) });
  const queued = async (): Promise<number | undefined> => sampleValue(await scrape(sts.baseUrl, sts.tlsCertificatePem), 'trustbridge_http_requests_queued');

  before(async () => {
    sts = await startAwsTestSts({
      config: { limits: { maxConcurrentRequests: 1 } },
      verifyPassword: held.verifyPassword,
    });
    for (const who of [FIRST, SECOND, HOLDER, LEAVER]) await sts.addUser({ name: who.user, password: who.password, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    await sts?.stop();
  });

  it('requests wait for the first turn (WS-Trust, AWS POST and GET); metrics, health and an oversized body answer meanwhile', async () => {
    held.hold();
    const first = issue(FIRST);
    let second: Promise<Sent> | undefined;
    let aws: Promise<HttpResponse[]> | undefined;
    try {
      await until(() => held.checks === 1, 'the first request to reach its password check');
      second = issue(SECOND);
      await until(async () => (await queued()) === 1, 'the second request to queue');
      assert.equal(held.checks, 1, 'the second request has not started while the first holds the only turn');

      const health = await httpsRequest(`${sts.baseUrl}/healthz`, { ca: sts.tlsCertificatePem });
      assert.equal(health.status, 200);
      // Refused before it is parsed, so the fault relates to no MessageID.
      const oversized = await sendTrust(sts, COMBO, { ...SECOND, op: 'Issue', rstBody: `<!--${'x'.repeat(sts.instance.config.limits.maxBodyBytes)}-->` });
      assert.equal(oversized.res.status, 400);
      const fault = parseFault(oversized.res.body);
      assert.deepEqual(fault.subcode, { ns: trustNs('1.3'), local: 'InvalidRequest' });
      assert.equal(fault.reason, 'The request was refused: the request body is larger than 262144 bytes.');
      assert.equal(held.checks, 1);
      assert.equal(await queued(), 1, 'still one waiting: a body refused before it is read takes no turn');

      // The AWS API takes turns too: a form POST and a presigned-style GET (both unsigned, so refused in their turn).
      const ca = sts.tlsCertificatePem;
      aws = Promise.all([
        httpsRequest(`${sts.baseUrl}/`, { ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'Action=GetCallerIdentity&Version=2011-06-15' }),
        httpsRequest(`${sts.baseUrl}/?Action=GetCallerIdentity&Version=2011-06-15`, { ca }),
      ]);
      await until(async () => (await queued()) === 3, 'the AWS requests to queue');
    } finally {
      held.release();
    }
    rstrOf(await first, COMBO);
    assert.ok(second);
    rstrOf(await second, COMBO);
    assert.equal(held.checks, 2);
    assert.ok(aws);
    for (const res of await aws) {
      assert.equal(res.status, 403, res.body);
      assert.equal(awsError(res.body).code, 'MissingAuthenticationToken');
    }
    assert.equal(await queued(), 0);
  });

  it('a request whose client left while it waited is not processed: no password check, token, ledger row or audit event; logged as 499', async () => {
    const ca = sts.tlsCertificatePem;
    const auditEvents = async (): Promise<number> => {
      await sts.instance.audit.flush();
      return (await sts.instance.store.audit.query({ limit: 100_000 })).length;
    };
    const tokensIssued = async (): Promise<{ issue: number; assumeRole: number }> => {
      const metrics = await scrape(sts.baseUrl, ca);
      const count = (operation: string): number => sampleValue(metrics, 'trustbridge_tokens_issued_total', { operation }) ?? 0;
      return { issue: count('Issue'), assumeRole: count('AssumeRoleWithSAML') };
    };
    const tokensBefore = await tokensIssued();
    const storeBefore = takeStoreSnapshot(sts);
    const eventsBefore = await auditEvents();
    const checksBefore = held.checks;
    held.hold();
    const first = issue(HOLDER);
    try {
      await until(() => held.checks === checksBefore + 1, 'the first request to reach its password check');
      // Both would be served in their turn: an Issue for a known user, and credentials for a role through a trusted provider.
      const gone = [
        leavingRequest(`${sts.baseUrl}${pathOf('1.3')}`, ca, trustRequest({ version: '1.3', username: LEAVER.user, password: LEAVER.password, requestType: 'Issue', rstBody: appliesTo(RP) })),
      ];
      await until(async () => (await queued()) === 1, 'the Issue to queue');
      const saml = mintAssertion({ key: sts.externalKey }).xml;
      const form = new URLSearchParams({ Version: '2011-06-15', Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: EXTERNAL_PROVIDER_ARN, SAMLAssertion: b64(saml) });
      gone.push(leavingRequest(`${sts.baseUrl}/`, ca, { body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }));
      await until(async () => (await queued()) === 2, 'AssumeRoleWithSAML to queue');
      for (const req of gone) req.destroy();
      // The server has seen both connections close: only the first request and this scrape are in flight.
      await waitForInFlight(sts.baseUrl, ca, 2);
      assert.equal(await queued(), 2, 'the gone requests still wait: their turn comes when the first frees it');
    } finally {
      held.release();
    }
    const served = await first;
    rstrOf(served, COMBO);
    await until(async () => (await queued()) === 0, 'the queue to empty');

    const lines = sts.logs.filter((r) => r.msg === 'client closed request');
    assert.deepEqual(lines.map((r) => [r.level, r.fields['path'], r.fields['httpStatus']]), [
      ['warn', pathOf('1.3'), 499],
      ['warn', '/', 499],
    ]);
    for (const line of lines) {
      const requestId = line.fields['requestId'];
      assert.equal(typeof requestId, 'string');
      assert.equal(typeof line.fields['durationMs'], 'number');
      assert.doesNotMatch(JSON.stringify(line.fields), STACK_TRACE);
      assert.deepEqual(sts.logs.filter((r) => r.fields['requestId'] === requestId), [line], 'the one log line of the request');
      assert.deepEqual(await storedEvents(sts.instance, requestId as string), [], 'no audit event for a request nobody was answered');
    }
    assert.equal(held.checks, checksBefore + 1, 'the gone Issue was never authenticated');
    // The first Issue's ledger row, nothing of the gone requests (a token's row, an assertion's replay entry).
    assertStoreChange(storeBefore, takeStoreSnapshot(sts), { issuance_ledger: 1 });
    assert.equal(await auditEvents(), eventsBefore + 1);
    assert.deepEqual(await tokensIssued(), { issue: tokensBefore.issue + 1, assumeRole: tokensBefore.assumeRole }, "one token issued: the first request's");
    assert.equal((await storedEvents(sts.instance, served.res.requestId)).length, 1);
    const metrics = await scrape(sts.baseUrl, ca);
    for (const route of [pathOf('1.3'), '/']) assert.equal(sampleValue(metrics, 'trustbridge_http_requests_total', { route, status: '499' }), 1, route);

    rstrOf(await issue(LEAVER), COMBO);
    assert.equal(held.checks, checksBefore + 2);
  });

  it('a request whose body is still arriving holds no turn', async () => {
    const slow = new HeldRequest(`${sts.baseUrl}${pathOf('1.3')}`, sts.tlsCertificatePem, trustRequest({ version: '1.3', username: FIRST.user, password: FIRST.password, requestType: 'Issue', rstBody: appliesTo(RP) }));
    // The held request is in flight (with this scrape) before the full one is sent.
    await waitForInFlight(sts.baseUrl, sts.tlsCertificatePem, 2);
    rstrOf(await issue(SECOND), COMBO);
    const reply = await slow.finish();
    assert.equal(reply.status, 200, reply.body.slice(0, 600));
    assert.match(reply.body, /RequestSecurityTokenResponse/);
  });
});
