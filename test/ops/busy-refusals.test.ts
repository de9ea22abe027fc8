import { strict as assert } from 'node:assert';
import { Agent } from 'node:https';
import { AssumeRoleWithSAMLCommand, STSClient } from '@aws-sdk/client-sts';
import { NS } from '../../src/xml/namespaces';
import { rstrOf, sendTrust, STACK_TRACE, type Combo, type Sent } from '../support/ext-trust';
import { sampleValue } from '../support/exposition';
import { awsError, b64, EXTERNAL_PROVIDER_ARN, mintAssertion, ROLE_ARN, startAwsTestSts, type AwsTestSts } from '../support/aws-sts';
import { storedEvents } from '../support/golden-saml';
import { httpsRequest } from '../support/https-client';
import { leavingRequest, scrape, waitForInFlight } from '../support/ops-client';
import { parseFault } from '../support/soap-reply';
import { assertStoreChange, takeStoreSnapshot } from '../support/store-snapshot';
import { appliesTo, pathOf, trustNs, trustRequest } from '../support/trust-messages';
import { until } from '../support/until';
import { HeldPasswordChecks } from '../support/held-password-checks';

// What a process does when it has more work than it takes on, over the real listener:
// - limits.maxQueuedRequests: with every turn taken and the queue full, a request is refused at once,
//   before any work, as busy: WS-Trust RequestFailed (a Receiver fault), AWS Throttling, which the AWS
//   SDK retries by itself (the refused attempt consumed nothing, so its retry with the same assertion
//   succeeds);
// - a password check waiting behind scrypt whose client has left is not run when its turn comes.
// The server's password checks are held open (its verifyPassword) to keep a turn taken.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const RP = 'https://rp.busy.example/';
const FIRST = { user: 'first@busy.example', password: 'Busy-First-Lantern-5!' };
const SECOND = { user: 'second@busy.example', password: 'Busy-Second-Harbour-7?' };
const THIRD = { user: 'third@busy.example', password: 'Busy-Third-Orchard-2#' };
// The second test's own pair: a password checked once is remembered, and would not hold the turn again.
const FOURTH = { user: 'fourth@busy.example', password: 'Busy-Fourth-Meadow-4*' };
const FIFTH = { user: 'fifth@busy.example', password: 'Busy-Fifth-Granary-8+' };
const REFUSED_DETAIL = 'request refused: 1 running and 1 waiting, the most this process queues';

async function gauge(sts: AwsTestSts, name: string): Promise<number | undefined> {
  return sampleValue(await scrape(sts.baseUrl, sts.tlsCertificatePem), name);
}

describe('ops: limits.maxQueuedRequests (a full queue refuses at once, as busy)', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  const held = new HeldPasswordChecks();
  const issue = (who: { user: string; password: string }): Promise<Sent> => sendTrust(sts, COMBO, { ...who, op: 'Issue', rstBody: appliesTo(RP) });
  const queued = (): Promise<number | undefined> => gauge(sts, 'trustbridge_http_requests_queued');
  const assumeRoleForm = (): string =>
    new URLSearchParams({
      Version: '2011-06-15',
      Action: 'AssumeRoleWithSAML',
      RoleArn: ROLE_ARN,
      PrincipalArn: EXTERNAL_PROVIDER_ARN,
      SAMLAssertion: b64(mintAssertion({ key: sts.externalKey }).xml),
    }).toString();

  before(async () => {
    sts = await startAwsTestSts({ config: { limits: { maxConcurrentRequests: 1, maxQueuedRequests: 1 } }, verifyPassword: held.verifyPassword });
    for (const who of [FIRST, SECOND, THIRD, FOURTH, FIFTH]) await sts.addUser({ name: who.user, password: who.password, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    held.release();
    await sts?.stop();
  });

  /** Holds the one turn with an Issue at its password check, and fills the one place in the queue with another. */
  async function fillTurnAndQueue(holder: typeof FIRST, waiter: typeof FIRST): Promise<Promise<Sent>[]> {
    const checksBefore = held.checks;
    held.hold();
    const first = issue(holder);
    await until(() => held.checks === checksBefore + 1, 'the first request to reach its password check');
    const second = issue(waiter);
    await until(async () => (await queued()) === 1, 'the second request to queue');
    return [first, second];
  }

  it('WS-Trust gets wst:RequestFailed (Receiver) and AWS gets Throttling, at once and unprocessed; the queued requests are then served', async () => {
    const ca = sts.tlsCertificatePem;
    const waiting = await fillTurnAndQueue(FIRST, SECOND);
    const storeBefore = takeStoreSnapshot(sts);
    let soap: Sent;
    let aws: Awaited<ReturnType<typeof httpsRequest>>;
    let awsGet: Awaited<ReturnType<typeof httpsRequest>>;
    try {
      soap = await issue(THIRD);
      aws = await httpsRequest(`${sts.baseUrl}/`, { ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: assumeRoleForm() });
      // A presigned-style GET takes its turn without a body, and is refused the same way.
      awsGet = await httpsRequest(`${sts.baseUrl}/?Action=GetCallerIdentity&Version=2011-06-15`, { ca });
      assert.equal(await queued(), 1, 'the refused requests took no place in the queue');
      assertStoreChange(storeBefore, takeStoreSnapshot(sts), {});
    } finally {
      held.release();
    }

    assert.equal(soap.res.status, 500, soap.res.body);
    const fault = parseFault(soap.res.body);
    assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Receiver' }, 'busy is the STS\'s side, not the caller\'s');
    assert.deepEqual(fault.subcode, { ns: trustNs('1.3'), local: 'RequestFailed' });
    assert.equal(fault.reason, 'The STS is busy; try again later.');
    assert.equal(fault.requestId, soap.res.requestId);
    for (const refused of [aws, awsGet]) {
      assert.equal(refused.status, 400, refused.body);
      assert.deepEqual(awsError(refused.body), { code: 'Throttling', message: 'Rate exceeded', type: 'Sender', requestId: refused.headers['x-amzn-requestid'] });
    }

    for (const served of await Promise.all(waiting)) rstrOf(served, COMBO);
    assert.equal(await queued(), 0);

    const soapLine = sts.logs.find((r) => r.fields['requestId'] === soap.res.requestId);
    assert.deepEqual(
      [soapLine?.level, soapLine?.msg, soapLine?.fields['fault'], soapLine?.fields['detail'], soapLine?.fields['httpStatus']],
      ['warn', 'request failed', 'wst:RequestFailed', REFUSED_DETAIL, 500],
    );
    const awsLine = sts.logs.find((r) => r.fields['requestId'] === aws.headers['x-amzn-requestid']);
    assert.deepEqual([awsLine?.level, awsLine?.msg, awsLine?.fields['error'], awsLine?.fields['detail'], awsLine?.fields['httpStatus']], ['warn', 'request failed', 'Throttling', REFUSED_DETAIL, 400]);
    for (const line of [soapLine, awsLine]) assert.doesNotMatch(JSON.stringify(line), STACK_TRACE);
    // Refused requests are answered, so they are in the audit trail and the metrics like any other failure.
    assert.equal((await storedEvents(sts.instance, soap.res.requestId)).length, 1);
    // Refused unread, so their operation is not known.
    const faults = (await scrape(sts.baseUrl, ca)).get('trustbridge_faults_total')?.samples ?? [];
    assert.deepEqual(
      faults.map((f) => [f.labels, f.value]),
      [
        [{ api: 'wstrust', operation: 'unknown', code: 'wst:RequestFailed' }, 1],
        [{ api: 'aws', operation: 'unknown', code: 'Throttling' }, 2],
      ],
    );
  });

  it('the AWS SDK retries Throttling by itself, and the retry with the same assertion succeeds (the refusal consumed nothing)', async () => {
    const agent = new Agent({ ca: sts.tlsCertificatePem, keepAlive: true });
    const client = new STSClient({ endpoint: sts.baseUrl, region: 'us-east-1', requestHandler: { httpsAgent: agent }, maxAttempts: 5 });
    const waiting = await fillTurnAndQueue(FOURTH, FIFTH);
    const linesBefore = sts.logs.length;
    const throttled = (): boolean => sts.logs.slice(linesBefore).some((r) => r.fields['error'] === 'Throttling');
    let exchange: Promise<unknown> | undefined;
    try {
      exchange = client.send(
        new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: EXTERNAL_PROVIDER_ARN, SAMLAssertion: b64(mintAssertion({ key: sts.externalKey }).xml) }),
      );
      // Only the first attempt can be throttled for sure; the turn frees right after it.
      await until(throttled, 'the SDK\'s first attempt to be throttled');
    } finally {
      held.release();
    }
    try {
      const answer = (await exchange) as { Credentials?: { AccessKeyId?: string }; AssumedRoleUser?: { Arn?: string } };
      assert.match(answer.Credentials?.AccessKeyId ?? '', /^ASIA/);
      for (const served of await Promise.all(waiting)) rstrOf(served, COMBO);
      // A refused attempt was not read, so its line names no action.
      const attempts = sts.logs.slice(linesBefore).filter((r) => r.fields['api'] === 'aws');
      assert.equal(attempts.at(-1)?.fields['action'], 'AssumeRoleWithSAML');
      assert.ok(attempts.length >= 2, `a refusal and a retry (${attempts.length} attempts)`);
      assert.deepEqual(
        attempts.map((r) => r.fields['error'] ?? 'served'),
        [...attempts.slice(0, -1).map(() => 'Throttling'), 'served'],
        'throttled until a turn was free, then served',
      );
    } finally {
      client.destroy();
      agent.destroy();
    }
  });
});

describe('identity: a password check whose client left while it waited for scrypt is not run', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  const held = new HeldPasswordChecks();
  const HOLDER = { user: 'holder@busy.example', password: 'Busy-Holder-Beacon-3%' };
  const LEAVER = { user: 'leaver@busy.example', password: 'Busy-Leaver-Quarry-9&' };
  const issue = (who: { user: string; password: string }): Promise<Sent> => sendTrust(sts, COMBO, { ...who, op: 'Issue', rstBody: appliesTo(RP) });

  before(async () => {
    // One scrypt at a time, and no limit on requests: the queue is the password checks' own.
    sts = await startAwsTestSts({ config: { passwordChecks: { maxConcurrent: 1, maxQueued: 10 } }, verifyPassword: held.verifyPassword });
    for (const who of [HOLDER, LEAVER]) await sts.addUser({ name: who.user, password: who.password, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    held.release();
    await sts?.stop();
  });

  it('no scrypt, no failed-login count, no audit event, for a known user or an unknown one (its decoy check): logged as 499; the user can log in afterwards', async () => {
    const ca = sts.tlsCertificatePem;
    held.hold();
    const storeBefore = takeStoreSnapshot(sts);
    const first = issue(HOLDER);
    try {
      await until(() => held.checks === 1, 'the first check to start');
      // A wrong password, which would count a failed login if it were checked; and a name no user has, which pays a decoy check.
      const leaving = [
        { user: LEAVER.user, password: 'Not-The-Leaver-Password-1!' },
        { user: 'nobody@busy.example', password: 'Nobody-Password-2!' },
      ].map((who) =>
        leavingRequest(`${sts.baseUrl}${pathOf('1.3')}`, ca, trustRequest({ version: '1.3', username: who.user, password: who.password, requestType: 'Issue', rstBody: appliesTo(RP) })),
      );
      await until(async () => (await gauge(sts, 'trustbridge_password_checks_queued')) === 2, 'both checks to queue');
      for (const request of leaving) request.destroy();
      // The server has seen the connections close: only the first request and this scrape are in flight.
      await waitForInFlight(sts.baseUrl, ca, 2);
    } finally {
      held.release();
    }
    rstrOf(await first, COMBO);
    await until(() => sts.logs.filter((r) => r.msg === 'client closed request').length === 2, 'the gone requests to be dropped');
    assert.equal(held.checks, 1, 'the gone requests\' passwords were never hashed');
    assert.equal(await gauge(sts, 'trustbridge_password_checks_queued'), 0);
    // The first Issue's ledger row, and nothing of the gone requests.
    assertStoreChange(storeBefore, takeStoreSnapshot(sts), { issuance_ledger: 1 });

    const lines = sts.logs.filter((r) => r.msg === 'client closed request');
    for (const line of lines) {
      assert.deepEqual([line.level, line.fields['path'], line.fields['httpStatus']], ['warn', pathOf('1.3'), 499]);
      assert.doesNotMatch(JSON.stringify(line), STACK_TRACE);
      const requestId = line.fields['requestId'] as string;
      assert.deepEqual(sts.logs.filter((r) => r.fields['requestId'] === requestId), [line], 'the one log line of the request');
      assert.deepEqual(await storedEvents(sts.instance, requestId), [], 'no audit event for a request nobody was answered');
    }
    assert.equal((await sts.instance.store.users.get(LEAVER.user))?.failedLogins, 0, 'the wrong password was never checked');
    const metrics = await scrape(sts.baseUrl, ca);
    assert.equal(sampleValue(metrics, 'trustbridge_http_requests_total', { route: pathOf('1.3'), status: '499' }), 2);

    rstrOf(await issue(LEAVER), COMBO);
    assert.equal(held.checks, 2);
  });
});
