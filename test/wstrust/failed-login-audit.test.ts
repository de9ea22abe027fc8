import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/store/store';
import { NS } from '../../src/xml/namespaces';
import { checkXmlSafely } from '../../src/xml/safe-parse';
import { expectFault, rstrOf, sendTrust, type Combo, type Sent } from '../support/ext-trust';
import { expectNotRecorded, onBehalfOf, storedEvents, stsCli } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { parseFault } from '../support/soap-reply';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, trustRequest } from '../support/trust-messages';

// A refused login records the user name it claimed (additionalEventData.claimedUserName), beside a
// null principal, so a defender reading `sts audit tail` sees which account a password spray or a
// lockout targeted (as AD FS's event 411 and CloudTrail's failed ConsoleLogin do). The name is the
// attacker's text: capped and escaped before it is kept; the password never is.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const RP = 'https://rp.failed-logins.example/';
const USER = 'sprayed-user@example.com';
const PASSWORD = 'Failed-Logins-Right-Horse-3#';
const WRONG = 'Failed-Logins-Wrong-Staple-6!';
const UNKNOWN = 'nobody-here@example.com';
const DOM_USER = 'dom-path-user@example.com';
const THRESHOLD = 2;
/** A name that would forge a line and reverse what a terminal shows, if kept as sent (XML allows each of these characters). */
const HOSTILE = 'mallory\r\n{"level":"info","msg":"request served"}\t\u200B\u202Egpj.exe';
const HOSTILE_STORED = 'mallory\\u000d\\u000a{"level":"info","msg":"request served"}\\u0009\\u200b\\u202egpj.exe';
/** An RST the lean fast path cannot read (it stops at a token holder): the request is read from xmldom's DOM. Authentication fails before the token is looked at. */
const DOM_PATH_RST = appliesTo(RP) + onBehalfOf(`<saml:Assertion xmlns:saml="${NS.saml2}" ID="_never-read"/>`);

describe('wstrust: a refused login names the user it claimed in the audit trail', function () {
  this.timeout(120_000);
  let sts: TestSts;
  const issue = (user: string, password: string): Promise<Sent> => sendTrust(sts, COMBO, { user, password, op: 'Issue', rstBody: appliesTo(RP) });
  const eventOf = async (sent: Sent): Promise<AuditEvent> => {
    const found = await storedEvents(sts.instance, sent.res.requestId);
    assert.equal(found.length, 1, `one event for request ${sent.res.requestId}`);
    return found[0] as AuditEvent;
  };
  const logDetailOf = (sent: Sent): string => String(sts.logs.find((r) => r.fields['requestId'] === sent.res.requestId)?.fields['detail']);
  /** The fault as the caller sees it, without what differs per message (ids). */
  const wireFault = (sent: Sent): unknown => {
    const f = parseFault(sent.res.body);
    return { status: sent.res.status, code: f.code, subcode: f.subcode, reason: f.reason };
  };
  const refused: Record<'wrong' | 'unknown' | 'locked', Sent> = {} as Record<'wrong' | 'unknown' | 'locked', Sent>;

  before(async () => {
    sts = await startTestSts({ config: { passwordLockout: { threshold: THRESHOLD, observationWindowSeconds: 600 } } });
    recordLogs(sts.logs);
    recordPassword(PASSWORD, WRONG);
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addUser({ name: DOM_USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    await sts?.stop();
  });

  it('a wrong password: wsse:FailedAuthentication, principal null, the claimed name recorded', async () => {
    refused.wrong = await issue(USER, WRONG);
    expectFault(refused.wrong, COMBO, 'wsse', 'FailedAuthentication');
    const e = await eventOf(refused.wrong);
    assert.deepEqual(
      [e.eventName, e.principal, e.errorCode, e.additionalEventData],
      ['Issue', null, 'wsse:FailedAuthentication', { claimedUserName: USER }],
    );
  });

  it('an unknown user: the same', async () => {
    refused.unknown = await issue(UNKNOWN, WRONG);
    expectFault(refused.unknown, COMBO, 'wsse', 'FailedAuthentication');
    assert.match(logDetailOf(refused.unknown), /^unknown user/);
    const e = await eventOf(refused.unknown);
    assert.deepEqual([e.principal, e.errorCode, e.additionalEventData], [null, 'wsse:FailedAuthentication', { claimedUserName: UNKNOWN }]);
  });

  it('a locked-out user, even with the right password: the same', async () => {
    for (let i = 1; i < THRESHOLD; i++) expectFault(await issue(USER, WRONG), COMBO, 'wsse', 'FailedAuthentication');
    refused.locked = await issue(USER, PASSWORD);
    expectFault(refused.locked, COMBO, 'wsse', 'FailedAuthentication');
    assert.match(logDetailOf(refused.locked), /is locked out/);
    const e = await eventOf(refused.locked);
    assert.deepEqual([e.principal, e.errorCode, e.additionalEventData], [null, 'wsse:FailedAuthentication', { claimedUserName: USER }]);
  });

  it('the three answer identically on the wire: the name is recorded, never echoed', () => {
    const [wrong, ...others] = [refused.wrong, refused.unknown, refused.locked].map(wireFault);
    assert.deepEqual(wrong, {
      status: 400,
      code: { ns: NS.soap12, local: 'Sender' },
      subcode: { ns: NS.wsse, local: 'FailedAuthentication' },
      reason: 'The security token could not be authenticated or authorized.',
    });
    for (const other of others) assert.deepEqual(other, wrong);
    for (const sent of Object.values(refused)) {
      assert.ok(!sent.res.body.includes(USER) && !sent.res.body.includes(UNKNOWN), 'the fault names the user');
    }
  });

  it('a login that succeeds records the principal and no claimed name', async () => {
    const other = 'second-user@example.com';
    await sts.addUser({ name: other, password: PASSWORD, claims: [] });
    const ok = await issue(other, PASSWORD);
    rstrOf(ok, COMBO);
    const e = await eventOf(ok);
    assert.deepEqual([e.principal, e.errorCode, e.additionalEventData], [other, null, null]);
  });

  it('a 10,000-character name is cut to 256 characters, with its length', async () => {
    const long = `${'x'.repeat(9_990)}@evil.test`;
    const sent = await issue(long, WRONG);
    expectFault(sent, COMBO, 'wsse', 'FailedAuthentication');
    const e = await eventOf(sent);
    assert.deepEqual(e.additionalEventData, { claimedUserName: 'x'.repeat(256), claimedUserNameLength: 10_000 });
    assert.deepEqual(wireFault(sent), wireFault(refused.wrong));
    // The log's detail quotes the same capped name: the whole 10,000 characters go nowhere.
    assert.equal(logDetailOf(sent), `unknown user "${'x'.repeat(256)}" (cut from 10000 characters)`);
  });

  it('a name with line breaks, a tab, a zero-width space and a bidi override is stored escaped: no forged line in audit.jsonl or sts audit tail', async () => {
    const sent = await issue(HOSTILE, WRONG);
    expectFault(sent, COMBO, 'wsse', 'FailedAuthentication');
    const e = await eventOf(sent);
    assert.deepEqual(e.additionalEventData, { claimedUserName: HOSTILE_STORED });
    assert.deepEqual(wireFault(sent), wireFault(refused.wrong));

    const file = readFileSync(join(sts.home, 'audit.jsonl'), 'utf8');
    const lines = file.split('\n').filter((l) => l.includes(sent.res.requestId));
    assert.equal(lines.length, 1);
    assert.deepEqual((JSON.parse(lines[0] as string) as { additionalEventData: unknown }).additionalEventData, { claimedUserName: HOSTILE_STORED });
    assert.doesNotMatch(file, /[\u200B\u202E]/, 'a raw zero-width space or override reached audit.jsonl');

    const text = await stsCli(['audit', 'tail', '--claimed-user', HOSTILE_STORED, '--home', sts.home]);
    assert.equal(text.status, 0, text.stderr);
    const printed = text.stdout.split('\n').filter((l) => l !== '');
    assert.equal(printed.length, 3, `one head line and its two details, none broken:\n${text.stdout}`);
    assert.match(printed[0] as string, new RegExp(`  Issue  - 127\\.0\\.0\\.1  wsse:FailedAuthentication  request ${sent.res.requestId}$`));
    assert.deepEqual(printed.slice(1), [`    appliesTo: ${RP}`, `    claimedUserName: ${HOSTILE_STORED}`]);
    assert.doesNotMatch(text.stdout, /[\r\t\u200B\u202E]/);
  });

  it('sts audit tail --claimed-user finds every refused login that named the user, and only those', async () => {
    const r = await stsCli(['audit', 'tail', '--claimed-user', USER, '--json', '--home', sts.home]);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { requestId: string; principal: string | null; additionalEventData: unknown });
    // The wrong password, the one that locked the user out, and the right password refused while locked out.
    assert.equal(events.length, THRESHOLD + 1);
    assert.equal(events[0]?.requestId, refused.wrong.res.requestId);
    assert.equal(events.at(-1)?.requestId, refused.locked.res.requestId);
    for (const e of events) assert.deepEqual([e.principal, e.additionalEventData], [null, { claimedUserName: USER }]);

    const none = await stsCli(['audit', 'tail', '--claimed-user', 'second-user@example.com', '--json', '--home', sts.home]);
    assert.equal(none.status, 0, none.stderr);
    assert.equal(none.stdout, '', 'a successful login is found by --principal, not --claimed-user');
  });

  it('sts audit tail --claimed-user takes the name as it was sent: one with controls, or over 256 characters, finds its refusal', async () => {
    for (const name of [HOSTILE, 'z'.repeat(300)]) {
      const sent = await issue(name, WRONG);
      await eventOf(sent);
      const r = await stsCli(['audit', 'tail', '--claimed-user', name, '--json', '--home', sts.home]);
      assert.equal(r.status, 0, r.stderr);
      const found = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
      assert.ok(found.includes(sent.res.requestId), `${JSON.stringify(name.slice(0, 20))}: ${found.length} found`);
    }
  });

  // The same refusals read from xmldom's DOM instead of the lean tree (DOM_PATH_RST): the trail must not depend on the path.
  const issueFromDom = (user: string, password: string): Promise<Sent> => sendTrust(sts, COMBO, { user, password, op: 'Issue', rstBody: DOM_PATH_RST });
  /** Whether the server reads this request from the lean tree (its RST then holds no token) rather than from xmldom's DOM. */
  const readLean = (user: string, rstBody: string): boolean => {
    const { body } = trustRequest({ version: COMBO.version, soap: COMBO.soap, username: user, password: WRONG, requestType: 'Issue', rstBody });
    const { maxBodyBytes, maxDepth, maxElements, maxAttributesPerElement } = sts.instance.config.limits;
    return checkXmlSafely(body, { maxBytes: maxBodyBytes, maxDepth, maxElements, maxAttributesPerElement }, true).lean !== undefined;
  };
  /** The request's log line, less what differs per request. */
  const logLineOf = (sent: Sent): Record<string, unknown> => {
    const lines = sts.logs.filter((r) => r.fields['requestId'] === sent.res.requestId);
    assert.equal(lines.length, 1, `one log line for request ${sent.res.requestId}`);
    const { level, msg, fields } = lines[0] as (typeof lines)[number];
    const { requestId: _id, durationMs: _ms, ...rest } = fields;
    return { level, msg, ...rest };
  };
  /** Each name is sent once down each path; both must leave this trail. */
  const bothPaths: ReadonlyArray<{ what: string; sent: string; stored: { claimedUserName: string; claimedUserNameLength?: number }; detail: string }> = [
    { what: 'a known user with a wrong password', sent: DOM_USER, stored: { claimedUserName: DOM_USER }, detail: `wrong password for user "${DOM_USER}"` },
    { what: 'line breaks, a tab, a zero-width space and a bidi override', sent: HOSTILE, stored: { claimedUserName: HOSTILE_STORED }, detail: `unknown user "${HOSTILE_STORED}"` },
    {
      what: 'a 10,000-character name',
      sent: 'q'.repeat(10_000),
      stored: { claimedUserName: 'q'.repeat(256), claimedUserNameLength: 10_000 },
      detail: `unknown user "${'q'.repeat(256)}" (cut from 10000 characters)`,
    },
    {
      // 251 characters and a 6-character escape do not fit in 256: the escape is left out whole, never cut in two.
      what: 'a long name whose cut falls on an escaped bidi override',
      sent: `${'w'.repeat(251)}\u202e${'v'.repeat(600)}`,
      stored: { claimedUserName: 'w'.repeat(251), claimedUserNameLength: 852 },
      detail: `unknown user "${'w'.repeat(251)}" (cut from 852 characters)`,
    },
  ];
  for (const c of bothPaths) {
    it(`read from the DOM (an OnBehalfOf token in the RST), ${c.what}: the same event and log line as the fast path`, async () => {
      assert.ok(readLean(c.sent, appliesTo(RP)), 'the fast-path request is read from the lean tree');
      assert.ok(!readLean(c.sent, DOM_PATH_RST), 'the DOM-path request is not read from the lean tree');
      const fast = await issue(c.sent, WRONG);
      // Forgotten, so the second wrong password counts as the first did (it would reach the threshold and raise an alert).
      await sts.instance.store.users.clearFailedLogins(c.sent);
      const dom = await issueFromDom(c.sent, WRONG);
      for (const sent of [fast, dom]) {
        expectFault(sent, COMBO, 'wsse', 'FailedAuthentication');
        assert.deepEqual(wireFault(sent), wireFault(refused.wrong));
        const e = await eventOf(sent);
        assert.deepEqual([e.eventName, e.principal, e.errorCode, e.additionalEventData], ['Issue', null, 'wsse:FailedAuthentication', c.stored]);
        assert.equal(logDetailOf(sent), c.detail);
      }
      const { claimedUserName: name, claimedUserNameLength: truncatedFrom } = c.stored;
      assert.deepEqual(logLineOf(fast)['claimedUserName'], truncatedFrom === undefined ? { name } : { name, truncatedFrom });
      assert.deepEqual(logLineOf(dom), logLineOf(fast));
    });
  }

  it('no password reached the store, audit.jsonl or the log', async () => {
    await expectNotRecorded(sts, [PASSWORD, WRONG]);
    const file = readFileSync(join(sts.home, 'audit.jsonl'), 'utf8');
    for (const secret of [PASSWORD, WRONG]) assert.ok(!file.includes(secret), 'audit.jsonl holds a password');
  });
});
