import { strict as assert } from 'node:assert';
import { verifyPassword } from '../../src/identity/password-hash';
import { rstrOf, sendTrust, type Combo, type Sent } from '../support/ext-trust';
import { sampleValue } from '../support/exposition';
import { awsError } from '../support/aws-sts';
import { httpsRequest, type HttpResponse } from '../support/https-client';
import { HeldRequest, scrape, waitForInFlight } from '../support/ops-client';
import { parseFault } from '../support/soap-reply';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, pathOf, trustNs, trustRequest } from '../support/trust-messages';
import { until } from '../support/until';

// limits.maxConcurrentRequests over the real listener: with a limit of 1, the requests after the first
// (WS-Trust and AWS) wait for its turn (counted in trustbridge_http_requests_queued), while what needs
// no turn still answers at once: /metrics and /healthz, a body refused as too large, and a body still
// being sent. The server's
// password checks are held open (its verifyPassword) to keep the one turn taken for as long as the
// test needs.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const RP = 'https://rp.admission.example/';
const FIRST = { user: 'first@admission.example', password: 'Admission-First-Lantern-5!' };
const SECOND = { user: 'second@admission.example', password: 'Admission-Second-Harbour-7?' };

describe('ops: limits.maxConcurrentRequests (requests take turns once their body is read)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  let checks = 0;
  /** While set, each password check waits for it. */
  let held: Promise<void> | undefined;

  const issue = (who: { user: string; password: string }): Promise<Sent> => sendTrust(sts, COMBO, { ...who, op: 'Issue', rstBody: appliesTo(RP) });
  const queued = async (): Promise<number | undefined> => sampleValue(await scrape(sts.baseUrl, sts.tlsCertificatePem), 'trustbridge_http_requests_queued');

  before(async () => {
    sts = await startTestSts({
      config: { limits: { maxConcurrentRequests: 1 } },
      verifyPassword: async (password, stored) => {
        checks++;
        await held;
        return verifyPassword(password, stored);
      },
    });
    for (const who of [FIRST, SECOND]) await sts.addUser({ name: who.user, password: who.password, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    await sts?.stop();
  });

  it('requests wait for the first turn (WS-Trust, AWS POST and GET); metrics, health and an oversized body answer meanwhile', async () => {
    let releaseFirst: () => void = () => undefined;
    held = new Promise((resolve) => (releaseFirst = resolve));
    const first = issue(FIRST);
    let second: Promise<Sent> | undefined;
    let aws: Promise<HttpResponse[]> | undefined;
    try {
      await until(() => checks === 1, 'the first request to reach its password check');
      second = issue(SECOND);
      await until(async () => (await queued()) === 1, 'the second request to queue');
      assert.equal(checks, 1, 'the second request has not started while the first holds the only turn');

      const health = await httpsRequest(`${sts.baseUrl}/healthz`, { ca: sts.tlsCertificatePem });
      assert.equal(health.status, 200);
      // Refused before it is parsed, so the fault relates to no MessageID.
      const oversized = await sendTrust(sts, COMBO, { ...SECOND, op: 'Issue', rstBody: `<!--${'x'.repeat(sts.instance.config.limits.maxBodyBytes)}-->` });
      assert.equal(oversized.res.status, 400);
      const fault = parseFault(oversized.res.body);
      assert.deepEqual(fault.subcode, { ns: trustNs('1.3'), local: 'InvalidRequest' });
      assert.equal(fault.reason, 'The request was refused: the request body is larger than 262144 bytes.');
      assert.equal(checks, 1);
      assert.equal(await queued(), 1, 'still one waiting: a body refused before it is read takes no turn');

      // The AWS API takes turns too: a form POST and a presigned-style GET (both unsigned, so refused in their turn).
      const ca = sts.tlsCertificatePem;
      aws = Promise.all([
        httpsRequest(`${sts.baseUrl}/`, { ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'Action=GetCallerIdentity&Version=2011-06-15' }),
        httpsRequest(`${sts.baseUrl}/?Action=GetCallerIdentity&Version=2011-06-15`, { ca }),
      ]);
      await until(async () => (await queued()) === 3, 'the AWS requests to queue');
    } finally {
      held = undefined;
      releaseFirst();
    }
    rstrOf(await first, COMBO);
    assert.ok(second);
    rstrOf(await second, COMBO);
    assert.equal(checks, 2);
    assert.ok(aws);
    for (const res of await aws) {
      assert.equal(res.status, 403, res.body);
      assert.equal(awsError(res.body).code, 'MissingAuthenticationToken');
    }
    assert.equal(await queued(), 0);
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
