import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { appliesTo } from '../../support/trust-messages';
import { CLIENT_CN, RP, startAttackSts, tokenText, type AttackSts } from '../../support/attacks/attack-sts';
import { expectSoapFault } from '../../support/attacks/expected-rejections';
import { replaceOnce } from '../../support/attacks/token-text';
import { assertStoreChange, assertStoreUnchanged, takeStoreSnapshot } from '../../support/store-snapshot';
import { postToSts, type PostResult } from '../../support/sts-post';
import { buildRst, isoSeconds, type BuiltRequest, type UsernameTokenSpec } from '../../support/wstrust-request';
import { nameIdOf } from '../../support/attacks/token-text';
import { recordPassword } from '../../support/observed-traffic';

// Replay and freshness: UsernameToken nonces replayed, Created too old or in the future, message
// Timestamps expired or from the future (usernamemixed), and on certificatemixed a signed message
// replayed as captured, or with a Timestamp that never expires. A signature proves who made a message,
// not who sends it: before this suite, certificatemixed accepted the same signed Issue any number of
// times (for ever when its Timestamp had no Expires), each time handing a fresh bearer token to whoever
// replayed it. Now a signed message is accepted once, and only while its Timestamp is fresh.

const DIGEST_USER = 'digest-user@corp.example';
const DIGEST_PASSWORD = 'Digest-Attack-Suite-Secret-4';
const MIN = 60_000;
const SKEW_AND_MAX_AGE_MS = 300_000 + 300_000;

const REPLAYED_NONCE = 'The UsernameToken nonce has been used before: the message is a replay.';
const REPLAYED_MESSAGE = 'The signed message has been received before: it is a replay.';
const TOO_OLD_TIMESTAMP = 'The wsu:Timestamp Created is too old: a signed message must arrive within 300 seconds.';

describe('attacks: replayed and stale messages (UsernameToken, wsu:Timestamp, signed certificatemixed messages)', function () {
  this.timeout(60_000);
  let sts: AttackSts;

  before(async () => {
    sts = await startAttackSts();
    await sts.addUser({ name: DIGEST_USER, password: DIGEST_PASSWORD, claims: [], allowPasswordDigest: true });
    recordPassword(DIGEST_PASSWORD);
  });
  after(async () => {
    await sts?.stop();
  });

  const post = (req: BuiltRequest): Promise<PostResult> => postToSts(`${sts.baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  const issueWith = (usernameToken: UsernameTokenSpec, o: { timestamp?: { created: string; expires?: string } } = {}): BuiltRequest =>
    buildRst({ usernameToken, appliesTo: RP, ...(o.timestamp ? { timestamp: o.timestamp } : {}) });
  const wsse = (code: string, reason: string | RegExp) => ({ soap: '1.2' as const, trust: '1.3' as const, family: 'wsse' as const, code, reason });

  it('the store snapshot sees a single new ledger row (the check every attack relies on can fail)', async () => {
    const before = takeStoreSnapshot(sts);
    assert.equal((await sts.sendSigned(sts.signedMessage())).status, 200);
    const after = takeStoreSnapshot(sts);
    assert.throws(() => assertStoreUnchanged(before, after), /issuance_ledger/);
    assertStoreChange(before, after, { issuance_ledger: 1, replay_cache: 1 });
  });

  describe('UsernameToken (usernamemixed 1.3, SOAP 1.2)', () => {
    it('UsernameToken nonce replay (PasswordText with Nonce and Created, sent twice) → wsse:InvalidSecurity', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, nonce: randomBytes(16), created: isoSeconds() });
      assert.equal((await post(req)).status, 200);
      expectSoapFault(await sts.attack(() => post(req)), wsse('InvalidSecurity', REPLAYED_NONCE));
    });

    it('UsernameToken nonce replay (PasswordDigest, the captured message sent again) → wsse:InvalidSecurity', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest' });
      assert.equal((await post(req)).status, 200);
      expectSoapFault(await sts.attack(() => post(req)), wsse('InvalidSecurity', REPLAYED_NONCE));
    });

    it('UsernameToken nonce replay in a new envelope (new MessageID and Timestamp, same Nonce) → wsse:InvalidSecurity', async () => {
      const nonce = randomBytes(16);
      const created = isoSeconds();
      assert.equal((await post(issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest', nonce, created }))).status, 200);
      const again = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest', nonce, created });
      expectSoapFault(await sts.attack(() => post(again)), wsse('InvalidSecurity', REPLAYED_NONCE));
    });

    it('a UsernameToken nonce used on the 1.3 endpoint, replayed on the February 2005 endpoint → wsse:InvalidSecurity', async () => {
      const nonce = randomBytes(16);
      const created = isoSeconds();
      assert.equal((await post(issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest', nonce, created }))).status, 200);
      const on2005 = buildRst({ trust: '2005', usernameToken: { username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest', nonce, created }, appliesTo: RP });
      expectSoapFault(await sts.attack(() => post(on2005)), { ...wsse('InvalidSecurity', REPLAYED_NONCE), trust: '2005' });
    });

    it('a captured PasswordDigest with a fresh Nonce (the digest no longer matches) → wsse:FailedAuthentication; only the new nonce is remembered', async () => {
      const captured = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest' });
      assert.equal((await post(captured)).status, 200);
      const oldNonce = /<wsse:Nonce [^>]*>([^<]+)</.exec(captured.body)?.[1] as string;
      const forged = { ...captured, body: replaceOnce(captured.body, `>${oldNonce}<`, `>${randomBytes(16).toString('base64')}<`) };
      // Nonces are remembered before the password is checked (so a replay costs no password check):
      // the refused attempt leaves its own nonce behind, and nothing else.
      const res = await sts.attack(() => post(forged), { store: { rowsAdded: { replay_cache: 1 } } });
      expectSoapFault(res, wsse('FailedAuthentication', 'The security token could not be authenticated or authorized.'));
    });

    it('UsernameToken Created too old (maxAge + skew + 1 min) → wsse:MessageExpired', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, nonce: randomBytes(16), created: isoSeconds(-SKEW_AND_MAX_AGE_MS - MIN) });
      expectSoapFault(await sts.attack(() => post(req)), wsse('MessageExpired', 'The UsernameToken Created is too old.'));
    });

    it('UsernameToken Created in the future (beyond the clock skew) → wsse:MessageExpired', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, passwordType: 'digest', created: isoSeconds(10 * MIN) });
      expectSoapFault(await sts.attack(() => post(req)), wsse('MessageExpired', 'The UsernameToken Created is in the future beyond the allowed clock skew.'));
    });

    it('UsernameToken Created that is not a UTC dateTime (no time zone) → wsse:InvalidSecurity', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, created: '2030-01-01T00:00:00' });
      expectSoapFault(await sts.attack(() => post(req)), wsse('InvalidSecurity', 'The wsse:UsernameToken Created is not a UTC xsd:dateTime.'));
    });

    it('a UsernameToken Nonce that is not base64 → wsse:InvalidSecurity', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD, nonce: randomBytes(16) });
      const body = req.body.replace(/(<wsse:Nonce [^>]*>)[^<]+</, '$1!!not-base64!!<');
      expectSoapFault(await sts.attack(() => post({ ...req, body })), wsse('InvalidSecurity', 'The wsse:Nonce must be non-empty Base64Binary.'));
    });

    it('two UsernameTokens in one Security header (the second another user\'s) → wsse:InvalidSecurity', async () => {
      const req = issueWith({ username: DIGEST_USER, password: DIGEST_PASSWORD });
      const ut = /<wsse:UsernameToken>[\s\S]*?<\/wsse:UsernameToken>/.exec(req.body)?.[0] as string;
      const body = replaceOnce(req.body, ut, ut + ut.replace(DIGEST_USER, 'admin@corp.example'));
      expectSoapFault(await sts.attack(() => post({ ...req, body })), wsse('InvalidSecurity', 'The wsse:Security header holds more than one UsernameToken.'));
    });
  });

  describe('wsu:Timestamp (usernamemixed 1.3, SOAP 1.2)', () => {
    const user = { username: DIGEST_USER, password: DIGEST_PASSWORD };

    it('an expired wsu:Timestamp (Expires 10 min ago, beyond the skew) → wsse:MessageExpired', async () => {
      const req = issueWith(user, { timestamp: { created: isoSeconds(-20 * MIN), expires: isoSeconds(-10 * MIN) } });
      expectSoapFault(await sts.attack(() => post(req)), wsse('MessageExpired', 'The message has expired: its wsu:Timestamp Expires has passed.'));
    });

    it('a wsu:Timestamp from the future (Created in 10 min) → wsse:MessageExpired', async () => {
      const req = issueWith(user, { timestamp: { created: isoSeconds(10 * MIN), expires: isoSeconds(15 * MIN) } });
      expectSoapFault(await sts.attack(() => post(req)), wsse('MessageExpired', 'The wsu:Timestamp Created is in the future beyond the allowed clock skew.'));
    });

    it('a wsu:Timestamp that expires before it was created → wsse:InvalidSecurity', async () => {
      const req = issueWith(user, { timestamp: { created: isoSeconds(), expires: isoSeconds(-MIN) } });
      expectSoapFault(await sts.attack(() => post(req)), wsse('InvalidSecurity', 'The wsu:Timestamp expires before it was created.'));
    });

    it('two wsu:Timestamps (a fresh one beside an expired one) → wsse:InvalidSecurity', async () => {
      const req = issueWith(user);
      const ts = /<wsu:Timestamp [\s\S]*?<\/wsu:Timestamp>/.exec(req.body)?.[0] as string;
      const body = replaceOnce(req.body, ts, ts + `<wsu:Timestamp><wsu:Created>${isoSeconds(-20 * MIN)}</wsu:Created><wsu:Expires>${isoSeconds(-10 * MIN)}</wsu:Expires></wsu:Timestamp>`);
      expectSoapFault(await sts.attack(() => post({ ...req, body })), wsse('InvalidSecurity', 'The wsse:Security header holds more than one Timestamp.'));
    });
  });

  describe('signed messages (certificatemixed 1.3, SOAP 1.2)', () => {
    it('positive control: a freshly signed message is served, for the pinned client certificate\'s CN', async () => {
      const res = await sts.sendSigned(sts.signedMessage());
      assert.equal(res.status, 200, res.body.slice(0, 600));
      assert.equal(nameIdOf(tokenText(res.body)), CLIENT_CN);
    });

    it('replayed signed message (the captured bytes sent again) → wsse:InvalidSecurity, no second token', async () => {
      const message = sts.signedMessage();
      assert.equal((await sts.sendSigned(message)).status, 200);
      const res = await sts.attackCertificateMixed(() => sts.sendSigned(message));
      expectSoapFault(res, wsse('InvalidSecurity', REPLAYED_MESSAGE));
    });

    it('replayed signed message with a new wsa:MessageID (an unsigned header changed) → wsse:InvalidSecurity', async () => {
      const message = sts.signedMessage();
      assert.equal((await sts.sendSigned(message)).status, 200);
      const replayed = { xml: replaceOnce(message.xml, message.messageId, 'urn:uuid:00000000-0000-4000-8000-000000000001') };
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(replayed)), wsse('InvalidSecurity', REPLAYED_MESSAGE));
    });

    it('replayed signed message with its SignatureValue re-encoded (line breaks in the base64) → wsse:InvalidSecurity', async () => {
      const message = sts.signedMessage();
      assert.equal((await sts.sendSigned(message)).status, 200);
      const value = /<ds:SignatureValue>([^<]+)</.exec(message.xml)?.[1] as string;
      const replayed = { xml: replaceOnce(message.xml, value, value.replace(/(.{64})/g, '$1\n')) };
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(replayed)), wsse('InvalidSecurity', REPLAYED_MESSAGE));
    });

    it('a signed Timestamp without Expires, Created 30 days ago (never expiring) → wsse:MessageExpired', async () => {
      const message = sts.signedMessage({ created: new Date(Date.now() - 30 * 24 * 60 * MIN), expires: null });
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(message)), wsse('MessageExpired', TOO_OLD_TIMESTAMP));
    });

    it('a signed Timestamp Created 15 min ago that Expires in a year → wsse:MessageExpired', async () => {
      const message = sts.signedMessage({ created: new Date(Date.now() - 15 * MIN), expires: new Date(Date.now() + 365 * 24 * 60 * MIN) });
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(message)), wsse('MessageExpired', TOO_OLD_TIMESTAMP));
    });

    it('an expired signed Timestamp → wsse:MessageExpired', async () => {
      const message = sts.signedMessage({ created: new Date(Date.now() - 20 * MIN), expires: new Date(Date.now() - 10 * MIN) });
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(message)), wsse('MessageExpired', 'The message has expired: its wsu:Timestamp Expires has passed.'));
    });

    it('a signed Timestamp from the future (Created in 10 min) → wsse:MessageExpired', async () => {
      const message = sts.signedMessage({ created: new Date(Date.now() + 10 * MIN) });
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(message)), wsse('MessageExpired', 'The wsu:Timestamp Created is in the future beyond the allowed clock skew.'));
    });

    it('a stale signed message with its Timestamp swapped for a fresh unsigned one (same wsu:Id) → wsse:InvalidSecurity (digest)', async () => {
      const message = sts.signedMessage({ created: new Date(Date.now() - 20 * MIN), expires: new Date(Date.now() - 10 * MIN) });
      const fresh = `<u:Timestamp u:Id="_ts"><u:Created>${new Date().toISOString()}</u:Created><u:Expires>${new Date(Date.now() + 5 * MIN).toISOString()}</u:Expires></u:Timestamp>`;
      const swapped = { xml: message.xml.replace(/<u:Timestamp u:Id="_ts">[\s\S]*?<\/u:Timestamp>/, fresh) };
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(swapped)), wsse('InvalidSecurity', 'The signed Timestamp was altered (digest mismatch).'));
    });

    it('a replayed signed message under a second, fresh wsu:Timestamp → wsse:InvalidSecurity', async () => {
      const message = sts.signedMessage();
      assert.equal((await sts.sendSigned(message)).status, 200);
      const second = `<u:Timestamp u:Id="_ts2"><u:Created>${new Date().toISOString()}</u:Created></u:Timestamp>`;
      const replayed = { xml: message.xml.replace('<u:Timestamp u:Id="_ts">', `${second}<u:Timestamp u:Id="_ts">`) };
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(replayed)), wsse('InvalidSecurity', 'The wsse:Security header holds more than one Timestamp.'));
    });

    it('a signed message for another relying party replayed with its AppliesTo edited → wsse:InvalidSecurity (digest)', async () => {
      const message = sts.signedMessage();
      const edited = { xml: replaceOnce(message.xml, appliesTo(RP), appliesTo('https://evil.attack.example/')) };
      expectSoapFault(await sts.attackCertificateMixed(() => sts.sendSigned(edited)), wsse('InvalidSecurity', 'The signed Body was altered (digest mismatch).'));
    });
  });
});
