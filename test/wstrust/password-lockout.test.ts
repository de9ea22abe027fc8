import { strict as assert } from 'node:assert';
import type { LogRecord } from '../support/test-sts';
import { STRONG_SCRYPT, verifyPassword } from '../../src/identity/password-hash';
import { addUser } from '../../src/identity/user-admin';
import type { UserRecord } from '../../src/store/store';
import { NS } from '../../src/xml/namespaces';
import { expectFault, rstrOf, sendTrust, type Combo, type Sent } from '../support/ext-trust';
import { expectNotRecorded, storedAlerts } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { parseFault } from '../support/soap-reply';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, trustNs } from '../support/trust-messages';

// Wrong-password floods over the real usernamemixed endpoint: AD FS's extranet soft lockout (the
// right password refused, unchecked, while locked out; one alert; open again after the window) and
// the per-process cap on scrypt checks (a busy Receiver fault when the queue is full). The server's
// scrypt checks are counted (its verifyPassword), so what a refusal cost is asserted, not timed. The
// user has a real (STRONG_SCRYPT) hash: a check takes tens of milliseconds, long enough for checks
// sent at once to find the one slot taken.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const RP = 'https://rp.lockout.example/';
const USER = 'lockout-user@example.com';
const PASSWORD = 'Lockout-Suite-Right-Staple-4%';
const WRONG = 'Lockout-Suite-Wrong-Battery-8&';
const THRESHOLD = 3;
const WINDOW_SECONDS = 60;

describe('wstrust: wrong-password floods (extranet lockout, the cap on scrypt checks)', function () {
  this.timeout(120_000);
  let sts: TestSts;
  /** How far the server's clock runs ahead of the real one. */
  let clockAheadMs = 0;
  /** The scrypt checks the server has run. */
  let scryptChecks = 0;
  const issue = (password: string, user = USER): Promise<Sent> =>
    sendTrust(sts, COMBO, { user, password, op: 'Issue', rstBody: appliesTo(RP) });
  const userRow = async (): Promise<UserRecord> => {
    const u = await sts.instance.store.users.get(USER);
    assert.ok(u);
    return u;
  };
  const failureLine = (sent: Sent): LogRecord => {
    const lines = sts.logs.filter((r) => r.msg === 'request failed' && r.fields['requestId'] === sent.res.requestId);
    assert.equal(lines.length, 1, `one log line for request ${sent.res.requestId}`);
    return lines[0] as LogRecord;
  };
  const alertLines = (): LogRecord[] => sts.logs.filter((r) => r.msg === 'alert' && r.fields['alert'] === 'password-lockout');

  before(async () => {
    sts = await startTestSts({
      config: {
        passwordLockout: { threshold: THRESHOLD, observationWindowSeconds: WINDOW_SECONDS },
        // One check at a time and none waiting, so two checks at once make the second busy.
        passwordChecks: { maxConcurrent: 1, maxQueued: 0 },
      },
      now: () => new Date(Date.now() + clockAheadMs),
      verifyPassword: async (password, stored) => {
        scryptChecks++;
        return verifyPassword(password, stored);
      },
    });
    recordLogs(sts.logs);
    recordPassword(PASSWORD, WRONG);
    await addUser(sts.instance.store, sts.instance.masterKey, { name: USER, password: PASSWORD, claims: [], allowPasswordDigest: false, scrypt: STRONG_SCRYPT });
    await sts.addRelyingParty({ appliesTo: RP });
  });
  after(async () => {
    await sts?.stop();
  });

  let wrongReason: string;
  let lockedOut: UserRecord;

  it(`${THRESHOLD} wrong passwords: each wsse:FailedAuthentication after a full scrypt; the last raises password-lockout once (log and audit trail)`, async () => {
    const sent: Sent[] = [];
    for (let i = 1; i <= THRESHOLD; i++) {
      const checksBefore = scryptChecks;
      const s = await issue(WRONG);
      wrongReason = expectFault(s, COMBO, 'wsse', 'FailedAuthentication');
      assert.equal(failureLine(s).fields['detail'], `wrong password for user "${USER}"`);
      assert.equal((await userRow()).failedLogins, i);
      assert.equal(scryptChecks - checksBefore, 1, 'the wrong password was checked with scrypt');
      sent.push(s);
    }
    const last = sent[THRESHOLD - 1] as Sent;
    lockedOut = await userRow();

    const lines = alertLines();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.fields['requestId'], last.res.requestId, 'raised by the request that reached the threshold');
    assert.equal(lines[0]?.fields['user'], USER);
    assert.equal(lines[0]?.fields['failures'], THRESHOLD);
    assert.equal(failureLine(last).fields['alert'], 'password-lockout', 'the request\'s own line names its alert');

    const stored = await storedAlerts(sts.instance, last.res.requestId);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.eventSource, 'detector');
    assert.equal(stored[0]?.eventName, 'password-lockout');
    assert.equal(stored[0]?.severity, 'high');
    assert.deepEqual(stored[0]?.additionalEventData, {
      operation: 'Issue',
      user: USER,
      failures: THRESHOLD,
      lockedOutUntil: new Date((lockedOut.lastFailedAt as Date).getTime() + WINDOW_SECONDS * 1000).toISOString(),
    });
    for (const earlier of sent.slice(0, -1)) assert.deepEqual(await storedAlerts(sts.instance, earlier.res.requestId), []);
  });

  it('then the RIGHT password is refused exactly as a wrong one, without any scrypt; only the log says "locked out"', async () => {
    const checksBefore = scryptChecks;
    for (const password of [PASSWORD, PASSWORD, WRONG, PASSWORD, WRONG]) {
      const s = await issue(password);
      const reason = expectFault(s, COMBO, 'wsse', 'FailedAuthentication');
      assert.equal(reason, wrongReason, 'the same answer as a wrong password: no oracle');
      assert.doesNotMatch(s.res.body, /lock/i);
      assert.match(String(failureLine(s).fields['detail']), new RegExp(`^user "${USER}" is locked out: ${THRESHOLD} wrong passwords, the last at `));
    }
    assert.equal(scryptChecks, checksBefore, 'no refusal while locked out ran a scrypt check');
    assert.deepEqual(await userRow(), lockedOut, 'refusals while locked out are not counted');
    assert.equal(alertLines().length, 1, 'no second alert');
  });

  it('a full queue: a check arriving while another hashes is refused as busy (wst:RequestFailed, Receiver, HTTP 500), unhashed', async () => {
    // Unknown names: each pays the decoy scrypt, and none is counted against a user.
    const checksBefore = scryptChecks;
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => issue(WRONG, `nobody-${i}@example.com`)));
    const busy = all.filter((s) => s.res.status === 500);
    const refused = all.filter((s) => s.res.status === 400);
    assert.equal(busy.length + refused.length, all.length, all.map((s) => s.res.status).join(','));
    assert.ok(busy.length >= 1, 'some arrived while a check ran');
    assert.ok(refused.length >= 1, 'the first was checked');
    assert.equal(scryptChecks - checksBefore, refused.length, 'each refused one paid its decoy scrypt; the busy ones none');
    for (const s of refused) expectFault(s, COMBO, 'wsse', 'FailedAuthentication');
    for (const s of busy) {
      const fault = parseFault(s.res.body);
      assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Receiver' });
      assert.deepEqual(fault.subcode, { ns: trustNs(COMBO.version), local: 'RequestFailed' });
      assert.equal(fault.reason, 'The STS is busy; try again later.');
      assert.equal(fault.relatesTo, s.messageId);
      assert.equal(fault.requestId, s.res.requestId);
      assert.match(String(failureLine(s).fields['detail']), /^password check refused: 1 running and 0 waiting/);
    }
    assert.deepEqual(await userRow(), lockedOut);
  });

  it('after the observation window the right password is checked again: a token, and the count is forgotten', async () => {
    clockAheadMs += WINDOW_SECONDS * 1000;
    const s = await issue(PASSWORD);
    rstrOf(s, COMBO);
    const after = await userRow();
    assert.deepEqual([after.failedLogins, after.lastFailedAt], [0, null]);
    expectFault(await issue(WRONG), COMBO, 'wsse', 'FailedAuthentication');
    assert.equal((await userRow()).failedLogins, 1, 'counting starts again from nothing');
    rstrOf(await issue(PASSWORD), COMBO);
    assert.equal((await userRow()).failedLogins, 0);
  });

  it('no password reached a response, a log line or the audit trail', async () => {
    await expectNotRecorded(sts, [PASSWORD, WRONG]);
  });
});
