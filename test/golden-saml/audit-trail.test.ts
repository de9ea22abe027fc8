import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { auditEventJson } from '../../src/audit/audit-event';
import { AWS_SAML } from '../../src/core/aws-saml';
import type { AuditEvent } from '../../src/store/store';
import {
  b64,
  expectCredentials,
  mintAssertion,
  OTHER_ROLE_ARN,
  PASSWORD,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  USER,
  type AwsTestSts,
  type IssuedCredentials,
} from '../support/aws-sts';
import { expectFault, type Combo } from '../support/ext-trust';
import { alertLogLines, idOf, signatureValueOf, statusOf, stsCli, target, trustCall, USER_AGENT } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText } from '../support/trust-messages';

// The audit trail: every WS-Trust and AWS request is one event (who, from where, with what client,
// what was asked and answered, without secrets, the error on a failure, the request id the client
// saw), in the store and in audit.jsonl alike; `sts audit tail` reads and filters them; the burst
// detector raises one alert when one principal issues more than its limit in a window.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const WRONG_PASSWORD = 'Not-The-Password-9';
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

interface Expected {
  readonly requestId: string;
  readonly eventName: string;
  readonly eventSource: 'wstrust' | 'aws';
  readonly principal: string | null;
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly errorCode: string | null;
  /** Only a refused login has any: the user name it claimed. */
  readonly additionalEventData?: Record<string, unknown>;
}

describe('golden-saml: the audit trail of requests', function () {
  this.timeout(120_000);
  let sts: AwsTestSts;
  const expected: Expected[] = [];
  /** Texts that must never reach the audit trail. */
  const secrets: string[] = [];
  let events: AuditEvent[];
  let credentials: IssuedCredentials;
  /** A moment between the WS-Trust requests and the AWS ones, for --since/--until. */
  let between: Date;
  let forgeryRequestId: string;

  const trust = (op: 'Issue' | 'Validate' | 'Renew' | 'Cancel', rstBody: string, password = PASSWORD) =>
    trustCall(sts, COMBO, { user: USER, password, op, rstBody });
  const awsQuery = (params: Record<string, string>) => sts.query(params, { 'User-Agent': USER_AGENT });
  const amznRequestId = (res: PostResult): string => {
    const id = res.headers['x-amzn-requestid'];
    assert.equal(typeof id, 'string');
    assert.equal(id, res.requestId, 'x-amzn-RequestId is X-Request-Id');
    return id as string;
  };
  const cli = async (...args: string[]) => stsCli(['audit', 'tail', ...args, '--home', sts.home]);
  const tailJson = async (...args: string[]): Promise<Array<Record<string, unknown>>> => {
    const r = await cli(...args, '--json');
    assert.equal(r.status, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const requestIdsOf = (lines: Array<Record<string, unknown>>): unknown[] => lines.map((l) => l['requestId']);

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD, WRONG_PASSWORD);
    secrets.push(PASSWORD, WRONG_PASSWORD);

    const issued = await trust('Issue', appliesTo(AWS_SAML.appliesTo));
    assert.equal(issued.res.status, 200, issued.res.body.slice(0, 500));
    const token = assertionText(issued.res.body);
    secrets.push(signatureValueOf(token), b64(token).slice(0, 60));
    expected.push({ requestId: issued.res.requestId, eventName: 'Issue', eventSource: 'wstrust', principal: USER, requestParameters: { appliesTo: AWS_SAML.appliesTo }, responseElements: { tokenId: idOf(token) }, errorCode: null });

    const validated = await trust('Validate', target('Validate', token));
    assert.equal(statusOf(validated, COMBO).valid, true);
    expected.push({ requestId: validated.res.requestId, eventName: 'Validate', eventSource: 'wstrust', principal: USER, requestParameters: { targetTokenId: idOf(token) }, responseElements: { status: 'valid' }, errorCode: null });

    const renewed = await trust('Renew', target('Renew', token));
    assert.equal(renewed.res.status, 200, renewed.res.body.slice(0, 500));
    const renewedToken = assertionText(renewed.res.body);
    secrets.push(signatureValueOf(renewedToken));
    expected.push({ requestId: renewed.res.requestId, eventName: 'Renew', eventSource: 'wstrust', principal: USER, requestParameters: { targetTokenId: idOf(token) }, responseElements: { tokenId: idOf(renewedToken) }, errorCode: null });

    const cancelled = await trust('Cancel', target('Cancel', renewedToken));
    assert.equal(cancelled.res.status, 200, cancelled.res.body.slice(0, 500));
    expected.push({ requestId: cancelled.res.requestId, eventName: 'Cancel', eventSource: 'wstrust', principal: USER, requestParameters: { targetTokenId: idOf(renewedToken) }, responseElements: null, errorCode: null });

    const refused = await trust('Issue', appliesTo(AWS_SAML.appliesTo), WRONG_PASSWORD);
    expectFault(refused, COMBO, 'wsse', 'FailedAuthentication');
    expected.push({ requestId: refused.res.requestId, eventName: 'Issue', eventSource: 'wstrust', principal: null, requestParameters: { appliesTo: AWS_SAML.appliesTo }, responseElements: null, errorCode: 'wsse:FailedAuthentication', additionalEventData: { claimedUserName: USER } });

    await new Promise((r) => setTimeout(r, 20));
    between = new Date();
    await new Promise((r) => setTimeout(r, 20));

    const assumed = await awsQuery({ Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(token) });
    credentials = expectCredentials(assumed);
    secrets.push(credentials.secretAccessKey, credentials.sessionToken.slice(0, 60));
    expected.push({
      requestId: amznRequestId(assumed),
      eventName: 'AssumeRoleWithSAML',
      eventSource: 'aws',
      principal: USER,
      requestParameters: { roleArn: ROLE_ARN, principalArn: SELF_PROVIDER_ARN, assertionId: idOf(token) },
      responseElements: { accessKeyId: credentials.accessKeyId, roleSessionName: USER, durationSeconds: 3600 },
      errorCode: null,
    });

    const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'sts', sha256: Hash.bind(null, 'sha256') });
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const signed = await signer.sign(
      new HttpRequest({ method: 'POST', protocol: 'https:', hostname: 'localhost', port: sts.port, path: '/', headers: { host: `localhost:${sts.port}`, 'content-type': FORM, 'user-agent': USER_AGENT }, body }),
    );
    const caller = await postToSts(`${sts.baseUrl}/`, { ca: sts.tlsCertificatePem, headers: signed.headers as Record<string, string>, body });
    assert.equal(caller.status, 200, caller.body.slice(0, 500));
    expected.push({
      requestId: amznRequestId(caller),
      eventName: 'GetCallerIdentity',
      eventSource: 'aws',
      principal: credentials.assumedRoleArn,
      requestParameters: null,
      responseElements: { accessKeyId: credentials.accessKeyId },
      errorCode: null,
    });

    const bad = await awsQuery({ Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64('<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">') });
    assert.equal(bad.status, 400, bad.body);
    expected.push({ requestId: amznRequestId(bad), eventName: 'AssumeRoleWithSAML', eventSource: 'aws', principal: null, requestParameters: { roleArn: ROLE_ARN, principalArn: SELF_PROVIDER_ARN }, responseElements: null, errorCode: 'InvalidIdentityToken' });

    // And one alert, for --alerts: an assertion signed with the STS's own key that it never issued.
    const forged = mintAssertion({
      key: sts.instance.signingKey,
      issuer: sts.instance.config.issuer,
      nameId: USER,
      roleSessionName: USER,
      roles: [`${OTHER_ROLE_ARN},${SELF_PROVIDER_ARN}`],
    });
    secrets.push(signatureValueOf(forged.xml));
    const forgery = await awsQuery({ Action: 'AssumeRoleWithSAML', RoleArn: OTHER_ROLE_ARN, PrincipalArn: SELF_PROVIDER_ARN, SAMLAssertion: b64(forged.xml) });
    assert.equal(forgery.status, 400, forgery.body);
    forgeryRequestId = amznRequestId(forgery);
    expected.push({ requestId: forgeryRequestId, eventName: 'AssumeRoleWithSAML', eventSource: 'aws', principal: null, requestParameters: { roleArn: OTHER_ROLE_ARN, principalArn: SELF_PROVIDER_ARN, assertionId: forged.id }, responseElements: null, errorCode: 'InvalidIdentityToken' });

    await sts.instance.audit.flush();
    events = await sts.instance.store.audit.query({ limit: 100_000 });
  });
  after(async () => {
    await sts?.stop();
  });

  it('one event per request, carrying the id the client saw (X-Request-Id / x-amzn-RequestId), in request order', () => {
    const requests = events.filter((e) => e.eventSource !== 'detector');
    assert.deepEqual(
      requests.map((e) => [e.requestId, e.eventName]),
      expected.map((x) => [x.requestId, x.eventName]),
    );
  });

  it('each event says who, from where, with which client, what was asked and answered, and the error of a failure', () => {
    for (const x of expected) {
      const e = events.find((ev) => ev.requestId === x.requestId && ev.eventSource !== 'detector');
      assert.ok(e, `an event for ${x.eventName} ${x.requestId}`);
      assert.deepEqual(
        {
          eventName: e.eventName,
          eventSource: e.eventSource,
          principal: e.principal,
          requestParameters: e.requestParameters,
          responseElements: e.responseElements,
          errorCode: e.errorCode,
        },
        {
          eventName: x.eventName,
          eventSource: x.eventSource,
          principal: x.principal,
          requestParameters: x.requestParameters,
          responseElements: x.responseElements,
          errorCode: x.errorCode,
        },
        `${x.eventName} ${x.requestId}`,
      );
      assert.equal(e.sourceAddress, '127.0.0.1');
      assert.equal(e.userAgent, USER_AGENT);
      assert.equal(e.alert, null);
      assert.equal(e.severity, 'info');
      assert.deepEqual(e.additionalEventData, x.additionalEventData ?? null);
      if (x.errorCode === null) assert.equal(e.errorMessage, null);
      else assert.ok((e.errorMessage ?? '').length > 0, 'a failure says why');
      assert.ok(Math.abs(e.eventTime.getTime() - Date.now()) < 120_000, 'the event time is now');
    }
  });

  it('the only detector event is the forgery\'s alert, tied to its request', () => {
    const detector = events.filter((e) => e.eventSource === 'detector');
    assert.deepEqual(detector.map((e) => [e.eventName, e.requestId, e.severity]), [['forged-token', forgeryRequestId, 'critical']]);
  });

  it('no secret reaches the trail: no password, token or assertion text, SecretAccessKey or SessionToken', () => {
    const all = JSON.stringify(events) + readFileSync(join(sts.home, 'audit.jsonl'), 'utf8');
    for (const s of secrets) assert.ok(!all.includes(s), `the audit trail holds "${s.slice(0, 24)}…"`);
    assert.doesNotMatch(all, /<(?:\w+:)?Assertion[\s>]|SAMLAssertion|SecretAccessKey|SessionToken|[Pp]assword"/);
  });

  it('audit.jsonl holds the same events, one JSON line each', () => {
    const lines = readFileSync(join(sts.home, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    assert.deepEqual(lines, events.map(auditEventJson));
  });

  describe('sts audit tail', () => {
    it('text: one entry per event, naming the operation, principal, address, outcome and request id', async () => {
      const r = await cli();
      assert.equal(r.status, 0, r.stderr);
      for (const x of expected) {
        const head = r.stdout.split('\n').find((l) => l.includes(`request ${x.requestId}`) && !l.includes('ALERT'));
        assert.ok(head, `a line for ${x.eventName} ${x.requestId}:\n${r.stdout}`);
        assert.match(head, new RegExp(`^\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z  ${x.eventName}  ${x.principal ?? '-'} 127\\.0\\.0\\.1  ${x.errorCode ?? 'ok'}  request `));
      }
      assert.match(r.stdout, new RegExp(`ALERT critical forged-token .* request ${forgeryRequestId}`));
    });

    it('--json: the events as stored, oldest first', async () => {
      assert.deepEqual(await tailJson(), events.map((e) => JSON.parse(auditEventJson(e)) as Record<string, unknown>));
    });

    it('--principal: only that principal\'s events', async () => {
      const lines = await tailJson('--principal', USER);
      assert.deepEqual(requestIdsOf(lines), events.filter((e) => e.principal === USER).map((e) => e.requestId));
      assert.equal(lines.length, 5, 'Issue, Validate, Renew, Cancel, AssumeRoleWithSAML');
    });

    it('--event: only events of that name', async () => {
      assert.deepEqual(requestIdsOf(await tailJson('--event', 'Renew')), [expected[2]?.requestId]);
      assert.deepEqual(requestIdsOf(await tailJson('--event', 'Issue')), [expected[0]?.requestId, expected[4]?.requestId]);
    });

    it('--since and --until split the trail at a time; a duration reaches back from now', async () => {
      const since = await tailJson('--since', between.toISOString());
      const until = await tailJson('--until', between.toISOString());
      assert.deepEqual(requestIdsOf(until), events.filter((e) => e.eventTime < between).map((e) => e.requestId));
      assert.deepEqual(requestIdsOf(since), events.filter((e) => e.eventTime >= between).map((e) => e.requestId));
      assert.deepEqual(requestIdsOf(until).slice(-1), [expected[4]?.requestId], 'up to the failed Issue');
      assert.deepEqual(requestIdsOf(since)[0], expected[5]?.requestId, 'from AssumeRoleWithSAML');
      assert.equal((await tailJson('--since', '1h')).length, events.length);
      assert.deepEqual(await tailJson('--since', '1h', '--until', '30m'), []);
    });

    it('--alerts: only the alert', async () => {
      const lines = await tailJson('--alerts');
      assert.deepEqual(lines.map((l) => [l['alert'], l['requestId']]), [['forged-token', forgeryRequestId]]);
    });

    it('--limit N: the newest N, oldest first', async () => {
      assert.deepEqual(requestIdsOf(await tailJson('--limit', '2')), events.slice(-2).map((e) => e.requestId));
      assert.deepEqual(requestIdsOf(await tailJson('--limit', '1', '--event', 'Issue')), [expected[4]?.requestId]);
    });

    it('bad flags exit 2 and say what is wrong', async () => {
      for (const [args, message] of [
        [['--limit', '0'], /--limit must be a whole number from 1 to/],
        [['--limit', 'ten'], /--limit must be a whole number from 1 to/],
        [['--since', 'yesterday'], /--since must be an ISO 8601 time or a duration/],
        [['--until', '15x'], /--until must be an ISO 8601 time or a duration/],
        [['--bogus'], /bogus/],
        [['extra'], /takes no arguments/],
      ] as const) {
        const r = await cli(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, '');
      }
    });
  });
});

describe('golden-saml: the burst detector', function () {
  this.timeout(60_000);
  const BOB = 'bob@burst.golden-saml.example';
  const CAROL = 'carol@burst.golden-saml.example';
  const PASSWORDS: Record<string, string> = { [BOB]: 'Burst-Bob-Secret-7', [CAROL]: 'Burst-Carol-Secret-8' };
  const RP = 'https://rp.burst.golden-saml.example/';
  let sts: TestSts;

  before(async () => {
    sts = await startTestSts({ config: { burstDetector: { windowSeconds: 3600, maxPerPrincipal: 3, maxPerAddress: 0 } } });
    recordLogs(sts.logs);
    recordPassword(...Object.values(PASSWORDS));
    for (const user of [BOB, CAROL]) await sts.addUser({ name: user, password: PASSWORDS[user] as string, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
  });
  after(async () => {
    await sts?.stop();
  });

  const issue = async (user: string): Promise<string> => {
    const sent = await trustCall(sts, COMBO, { user, password: PASSWORDS[user] as string, op: 'Issue', rstBody: appliesTo(RP) });
    assert.equal(sent.res.status, 200, sent.res.body.slice(0, 500));
    return sent.res.requestId;
  };
  const bursts = async (): Promise<AuditEvent[]> => {
    await sts.instance.audit.flush();
    return sts.instance.store.audit.query({ alertsOnly: true, eventName: 'request-burst', limit: 1000 });
  };

  it('maxPerPrincipal 3: the 4th Issue by one user raises exactly one request-burst alert, the 5th none; another user is not counted with them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await issue(BOB));
    assert.deepEqual(await bursts(), [], 'three are within the limit');
    ids.push(await issue(BOB));
    let found = await bursts();
    assert.equal(found.length, 1);
    const alert = found[0] as AuditEvent;
    assert.equal(alert.requestId, ids[3], 'raised by the 4th request');
    assert.equal(alert.eventSource, 'detector');
    assert.equal(alert.severity, 'high');
    assert.equal(alert.principal, BOB);
    assert.deepEqual(
      { ...alert.additionalEventData, windowStart: undefined },
      { burstOf: 'principal', principal: BOB, limit: 3, windowSeconds: 3600, windowStart: undefined },
    );
    const lines = alertLogLines(sts.logs, ids[3] as string);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.fields['alert'], 'request-burst');

    ids.push(await issue(BOB));
    for (let i = 0; i < 3; i++) await issue(CAROL);
    found = await bursts();
    assert.equal(found.length, 1, 'still one: the 5th (and carol\'s three) raise nothing');
    assert.deepEqual(alertLogLines(sts.logs, ids[4] as string), []);
  });
});
