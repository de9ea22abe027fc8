import { strict as assert } from 'node:assert';
import { randomBytes, verify, X509Certificate } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import type { SigningKeyCustody } from '../../../src/keys/key-custody';
import { Pkcs11TokenError, RECONNECT_INTERVAL_MS, type Pkcs11SessionEvent } from '../../../src/keys/pkcs11/pkcs11-token';
import { parseTokenKeyReference } from '../../../src/keys/pkcs11/pkcs11-uri';
import { openSigningKeyCustody } from '../../../src/instance/signing-key-custody';
import {
  changeUserPin,
  closeAllSessions,
  currentSession,
  deleteToken,
  destroyPrivateKey,
  logOutFromOutside,
  newTestToken,
  newTokenKey,
  openTestToken,
  rsaModulus,
  sessionIsOpen,
  type TestToken,
  watchedTokenCustody,
  type WatchedTokenCustody,
} from '../../support/softhsm';
import { errorThrownBy } from '../../support/unit-soap';

// A token's session lost under a running custody (SoftHSM2): what a network HSM that restarts, a
// token pulled out and put back, or a C_CloseAllSessions does. SoftHSM2 runs inside this process, so
// the tests lose the session with C_CloseAllSessions from a second pkcs11js handle on the module
// (test/support/softhsm.ts): that closes the custody's session and logs the user out, and the object
// handles found in it become invalid (SoftHSM2 answers CKR_OBJECT_HANDLE_INVALID for them afterwards),
// so a reconnect that did not find its keys again would fail too.

const REQUEST = { commonName: 'Trustbridge Token Signing', validDays: 30 };
const DATA = Buffer.from('<ds:SignedInfo>…</ds:SignedInfo>');

const lost = (token: TestToken): Pkcs11SessionEvent => ({ kind: 'session-lost', tokenLabel: token.label, reason: 'CKR_SESSION_HANDLE_INVALID' });
const restored = (token: TestToken): Pkcs11SessionEvent => ({ kind: 'session-restored', tokenLabel: token.label });

interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/**
 * For the describe block that calls this: a watched token custody on the token (its events, its
 * clock: test/support/softhsm.ts), opened before the block's tests and closed after them.
 */
function watchedCustody(token: () => TestToken, masterKey: Buffer, onEvent?: (event: Pkcs11SessionEvent) => void): () => WatchedTokenCustody {
  let opened: WatchedTokenCustody | undefined;
  before(() => {
    opened = watchedTokenCustody(token(), masterKey, onEvent);
  });
  after(() => opened?.custody.close());
  return () => {
    assert.ok(opened, 'the custody is opened before the tests');
    return opened;
  };
}

/**
 * A custody on the token opened as the instance opens it (its own logger), for the describe block
 * that calls this: the lines an operator reads are collected in `lines`.
 */
function instanceCustody(token: () => TestToken, masterKey: Buffer): { readonly lines: LogLine[]; custody(): SigningKeyCustody } {
  const lines: LogLine[] = [];
  let opened: SigningKeyCustody | undefined;
  before(() => {
    opened = openSigningKeyCustody('/nonexistent', token().custody, masterKey, { log: (level, msg, fields) => lines.push({ level, msg, fields: fields ?? {} }) });
  });
  after(() => opened?.close());
  return {
    lines,
    custody: () => {
      assert.ok(opened, 'the custody is opened before the tests');
      return opened;
    },
  };
}

describe('keys/pkcs11: a lost token session is re-established (SoftHSM2)', function () {
  this.timeout(60_000);
  let token: TestToken;
  let changing: TestToken;
  let flapping: TestToken;
  let vanishing: TestToken;
  let loggedOut: TestToken;
  let refusing: TestToken;
  let removed: TestToken;
  let loggedOutRefusing: TestToken;
  const masterKey = randomBytes(32);

  // SoftHSM2 reads its slots at C_Initialize: the tokens exist before the first session opens.
  before(() => {
    token = newTestToken();
    changing = newTestToken();
    flapping = newTestToken();
    vanishing = newTestToken();
    loggedOut = newTestToken();
    refusing = newTestToken();
    removed = newTestToken();
    loggedOutRefusing = newTestToken();
  });

  describe('closed from outside (C_CloseAllSessions)', () => {
    const watched = watchedCustody(() => token, masterKey);
    beforeEach(() => watched().events.splice(0));

    it('the next signature opens a new session, logs in, finds its key again and succeeds; the loss and the reconnect are reported once', () => {
      const { custody, events } = watched();
      const { key, certified } = newTokenKey(custody);
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.deepEqual(events, []);

      closeAllSessions(token.label);
      const signature = key.sign('sha256', DATA);
      assert.ok(verify('sha256', DATA, certified, signature), "the signature verifies with the certificate's public key");
      assert.deepEqual(events, [lost(token), restored(token)]);

      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.deepEqual(events, [lost(token), restored(token)], 'the new session is kept');
    });

    it('finding a key and generating one each survive a lost session', () => {
      const { session, custody, events } = watched();
      const { id, certified } = newTokenKey(custody);
      assert.ok(session.findPrivateKey(id));

      closeAllSessions(token.label);
      assert.deepEqual(session.findPrivateKey(id)?.publicNumbers.modulus, rsaModulus(certified));
      closeAllSessions(token.label);
      const generated = custody.generate(REQUEST);
      const certificate = new X509Certificate(generated.certificatePem);
      assert.ok(certificate.verify(certificate.publicKey), 'the new key signed its certificate in the new session');
      assert.ok(session.findPrivateKey(parseTokenKeyReference(generated.privateKeyAtRest).id), 'the token holds the new key');

      assert.deepEqual(events, [lost(token), restored(token), lost(token), restored(token)]);
    });

    it("keeps the process's login in step: two openers that lose their sessions together both reconnect, and one closing leaves the other signing", () => {
      const { custody, events } = watched();
      const { key, id, certified } = newTokenKey(custody);
      const secondEvents: Pkcs11SessionEvent[] = [];
      const second = openTestToken(token, { onEvent: (e) => secondEvents.push(e) });
      try {
        closeAllSessions(token.label);
        // The first to notice logs in again although this process still counts the other's session.
        assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
        assert.ok(second.findPrivateKey(id));
        assert.deepEqual(events, [lost(token), restored(token)]);
        assert.deepEqual(secondEvents, [lost(token), restored(token)]);
        assert.match(errorThrownBy(() => openTestToken(token, {}, `${token.pin}x`)).message, /refused the PIN from the environment variable .* \(CKR_PIN_INCORRECT\)/);
      } finally {
        second.close();
      }
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)), 'the login outlives the other session');
      assert.equal(events.length, 2);
    });

    it('a key deleted from the token is reported as before, without a reconnect; after a reconnect, as a key the token no longer holds', () => {
      const { custody, events } = watched();
      const { key, id } = newTokenKey(custody);
      destroyPrivateKey(token.label, id);
      // SoftHSM2's answer for a handle whose object is gone (other modules say CKR_KEY_HANDLE_INVALID): neither means the session went.
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_OBJECT_HANDLE_INVALID');
      assert.deepEqual(events, []);

      closeAllSessions(token.label);
      const err = errorThrownBy(() => key.sign('sha256', DATA));
      assert.ok(err instanceof Pkcs11TokenError);
      assert.equal(err.message, `the PKCS#11 token "${token.label}" no longer holds the key ${id.toString('hex')}: was the token re-initialised or the key deleted?`);
      assert.deepEqual(events, [lost(token), restored(token)]);
    });
  });

  describe('logged out from outside (C_Logout), its session kept', () => {
    const watched = watchedCustody(() => loggedOut, masterKey);
    const notLoggedIn = (): Pkcs11SessionEvent => ({ kind: 'session-lost', tokenLabel: loggedOut.label, reason: 'CKR_USER_NOT_LOGGED_IN' });
    beforeEach(() => watched().events.splice(0));

    it('a signature, which SoftHSM2 refuses as CKR_OBJECT_HANDLE_INVALID there, closes that session, logs in on a new one and succeeds', () => {
      const { session, custody, events } = watched();
      const { key, certified } = newTokenKey(custody);
      const before = currentSession(session) as pkcs11.Handle;
      logOutFromOutside(loggedOut.label);
      assert.ok(sessionIsOpen(loggedOut.label, before), 'the session outlived the login');

      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.deepEqual(events, [notLoggedIn(), restored(loggedOut)]);
      // SoftHSM2 numbers sessions upwards and never hands a closed one's number out again.
      assert.ok(!sessionIsOpen(loggedOut.label, before), 'the session left without its login is closed, not leaked');
      assert.ok(sessionIsOpen(loggedOut.label, currentSession(session) as pkcs11.Handle));
    });

    it('finding a key there (the token shows no private key) logs in again and finds it, rather than reporting it missing', () => {
      const { session, custody, events } = watched();
      const { id, certified } = newTokenKey(custody);
      logOutFromOutside(loggedOut.label);
      assert.deepEqual(session.findPrivateKey(id)?.publicNumbers.modulus, rsaModulus(certified));
      assert.deepEqual(events, [notLoggedIn(), restored(loggedOut)]);
    });

    it('generating a key there (CKR_USER_NOT_LOGGED_IN) logs in again and generates it', () => {
      const { custody, events } = watched();
      logOutFromOutside(loggedOut.label);
      const generated = custody.generate(REQUEST);
      const certificate = new X509Certificate(generated.certificatePem);
      assert.ok(certificate.verify(certificate.publicKey));
      assert.deepEqual(events, [notLoggedIn(), restored(loggedOut)]);
    });

    it('a key the token does not hold, in a session still logged in, is reported without a reconnect', () => {
      const { session, custody, events } = watched();
      assert.equal(session.findPrivateKey(randomBytes(16)), undefined);
      const { key, id } = newTokenKey(custody);
      destroyPrivateKey(loggedOut.label, id);
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_OBJECT_HANDLE_INVALID');
      assert.deepEqual(events, []);
    });
  });

  describe('logged out from outside, and the PIN changed meanwhile', () => {
    const watched = watchedCustody(() => loggedOutRefusing, masterKey);

    it('a search fails saying the session is not logged in, not that the key is missing, and the reconnect is not tried again', () => {
      const { session, custody, events } = watched();
      const { id } = newTokenKey(custody);
      // The login is the process's, not a session's: changing the PIN needs it gone, and logs the process
      // (this session too) in again, so it is logged out once more afterwards.
      logOutFromOutside(loggedOutRefusing.label);
      changeUserPin(loggedOutRefusing.label, loggedOutRefusing.pin, `${loggedOutRefusing.pin}-changed`);
      logOutFromOutside(loggedOutRefusing.label);

      const err = errorThrownBy(() => session.findPrivateKey(id));
      assert.ok(err instanceof Pkcs11TokenError);
      assert.equal(err.message, `the PKCS#11 token "${loggedOutRefusing.label}" could not be searched: CKR_USER_NOT_LOGGED_IN`);
      assert.deepEqual(
        events.map((e) => (e.kind === 'reconnect-failed' ? [e.kind, e.retryAfterMs] : [e.kind, e.kind === 'session-lost' ? e.reason : ''])),
        [
          ['session-lost', 'CKR_USER_NOT_LOGGED_IN'],
          ['reconnect-failed', null],
        ],
      );
    });
  });

  describe('the PIN changed meanwhile, so the reconnect fails', () => {
    const { lines, custody } = instanceCustody(() => changing, masterKey);

    it('signatures fail with the error that lost the session, and no reconnect is tried again, however long: the log says to restart', () => {
      const { key, certified } = newTokenKey(custody());
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      const newPin = `${changing.pin}-changed`;
      closeAllSessions(changing.label);
      changeUserPin(changing.label, changing.pin, newPin);

      // Synchronous all the way: the failure comes back at once, there is no waiting in it.
      const err = errorThrownBy(() => key.sign('sha256', DATA));
      assert.ok(err instanceof pkcs11.Pkcs11Error);
      assert.equal(err.message, 'CKR_SESSION_HANDLE_INVALID');
      const said = [
        { level: 'warn', msg: 'the PKCS#11 token session was lost; reconnecting', fields: { tokenLabel: changing.label, reason: 'CKR_SESSION_HANDLE_INVALID' } },
        {
          level: 'error',
          msg: 'reconnecting to the PKCS#11 token failed, and will not be tried again: token signatures fail until a restart with the PIN it takes',
          fields: {
            tokenLabel: changing.label,
            errorMessage: `the PKCS#11 token "${changing.label}" refused the PIN from the environment variable ${changing.pinEnv} (CKR_PIN_INCORRECT): put the token's user PIN there`,
            retryAfterMs: null,
          },
        },
      ];
      assert.deepEqual(lines, said);

      // With the PIN back, any attempt would succeed: the failures show there is none, past the interval too.
      changeUserPin(changing.label, newPin, changing.pin);
      const before = Date.now();
      while (Date.now() - before <= RECONNECT_INTERVAL_MS) assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.equal(errorThrownBy(() => custody().generate(REQUEST)).message, `the PKCS#11 token "${changing.label}" could not generate a key: CKR_SESSION_HANDLE_INVALID`);
      assert.deepEqual(lines, said, 'no attempt after the token refused the PIN');
      assert.ok(!(JSON.stringify(lines) + err.message + (err.stack ?? '')).includes(newPin), 'no PIN in the log or the error');
      assert.ok(!JSON.stringify(lines).includes(changing.pin));
    });
  });

  describe('the PIN refused at a reconnect, on a clock the test moves', () => {
    const watched = watchedCustody(() => refusing, masterKey);

    it('no reconnect is tried again a day later, when the token would take the PIN again', () => {
      const { custody, events, clock } = watched();
      const { key } = newTokenKey(custody);
      closeAllSessions(refusing.label);
      changeUserPin(refusing.label, refusing.pin, `${refusing.pin}-changed`);
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.deepEqual(events.map((e) => (e.kind === 'reconnect-failed' ? e.retryAfterMs : e.kind)), ['session-lost', null]);

      changeUserPin(refusing.label, `${refusing.pin}-changed`, refusing.pin);
      clock.now += 24 * 60 * 60 * 1000;
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.equal(events.length, 2, 'no attempt: the PIN the process read once was refused');
    });
  });

  describe('the token gone (deleted), so the reconnect fails otherwise', () => {
    // The clock that spaces reconnect attempts is moved by the test: no test depends on how fast the machine is.
    const watched = watchedCustody(() => vanishing, masterKey);

    it(`signatures fail with the error that lost the session; the next attempt waits ${RECONNECT_INTERVAL_MS} ms, with none in between`, () => {
      const { custody, events, clock } = watched();
      const { key } = newTokenKey(custody);
      closeAllSessions(vanishing.label);
      deleteToken(vanishing.label);

      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      const failed: Pkcs11SessionEvent = {
        kind: 'reconnect-failed',
        tokenLabel: vanishing.label,
        reason: `the PKCS#11 token "${vanishing.label}" could not be opened: CKR_GENERAL_ERROR`,
        retryAfterMs: RECONNECT_INTERVAL_MS,
      };
      assert.deepEqual(events, [lost(vanishing), failed]);

      clock.now += RECONNECT_INTERVAL_MS - 1;
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.equal(errorThrownBy(() => custody.generate(REQUEST)).message, `the PKCS#11 token "${vanishing.label}" could not generate a key: CKR_SESSION_HANDLE_INVALID`);
      assert.deepEqual(events, [lost(vanishing), failed], 'no attempt within the interval');

      clock.now += 1;
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.deepEqual(events, [lost(vanishing), failed, failed], 'one more attempt once the interval is over');
    });
  });

  describe('the token gone, through the instance\'s custody and logger', () => {
    const { lines, custody } = instanceCustody(() => removed, masterKey);

    it('the log says the reconnect failed, that signatures fail until one succeeds, and when the next is tried', () => {
      const { key } = newTokenKey(custody());
      closeAllSessions(removed.label);
      deleteToken(removed.label);
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.deepEqual(lines, [
        { level: 'warn', msg: 'the PKCS#11 token session was lost; reconnecting', fields: { tokenLabel: removed.label, reason: 'CKR_SESSION_HANDLE_INVALID' } },
        {
          level: 'error',
          msg: 'reconnecting to the PKCS#11 token failed; token signatures fail until it succeeds',
          fields: {
            tokenLabel: removed.label,
            errorMessage: `the PKCS#11 token "${removed.label}" could not be opened: CKR_GENERAL_ERROR`,
            retryAfterMs: RECONNECT_INTERVAL_MS,
          },
        },
      ]);
      assert.ok(!JSON.stringify(lines).includes(removed.pin), 'no PIN in the log');
    });
  });

  describe('gone again as soon as it is re-established', () => {
    let flap = true;
    // A token that comes and goes: the new session is closed before the operation runs again in it.
    const watched = watchedCustody(() => flapping, masterKey, (e) => {
      if (e.kind === 'session-restored' && flap) closeAllSessions(flapping.label);
    });

    it('counts as a failed reconnect: the operation fails, and the next attempt waits the interval', () => {
      const { custody, events, clock } = watched();
      const { key, certified } = newTokenKey(custody);
      closeAllSessions(flapping.label);
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.deepEqual(events, [lost(flapping), restored(flapping), lost(flapping)]);

      // The token stays now, so an attempt would succeed: the failure within the interval shows there is none.
      flap = false;
      clock.now += RECONNECT_INTERVAL_MS - 1;
      assert.equal(errorThrownBy(() => key.sign('sha256', DATA)).message, 'CKR_SESSION_HANDLE_INVALID');
      assert.equal(events.length, 3);

      clock.now += 1;
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.deepEqual(events, [lost(flapping), restored(flapping), lost(flapping), restored(flapping)]);
    });
  });
});
