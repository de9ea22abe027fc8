import { strict as assert } from 'node:assert';
import { randomBytes, verify } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { acquireModule, releaseModule } from '../../../src/keys/pkcs11/pkcs11-module';
import { RECONNECT_INTERVAL_MS } from '../../../src/keys/pkcs11/pkcs11-token';
import {
  closeAllSessions,
  cryptokiError,
  currentSession,
  logOutFromOutside,
  newTestToken,
  newTokenKey,
  rsaModulus,
  SOFTHSM_MODULE,
  sessionIsOpen,
  type TestToken,
  watchedTokenCustody,
  type WatchedTokenCustody,
} from '../../support/softhsm';
import { errorThrownBy } from '../../support/unit-soap';

// The answers around a lost session that SoftHSM2 never gives, as a hardware token gives them: the
// operation's failure reported as something else than the session going, C_GetSessionInfo failing, and
// C_CloseSession failing on a session left without its login. As in pkcs11-login.test.ts, the module
// answers the call as such a token does; here it is SoftHSM2 for every other call, so the sessions,
// logins and keys are real: the module's library, the one object every opener in this process
// shares (pkcs11-module.ts), answers the calls a test names as the stand-in says, then SoftHSM2 again.

const DATA = Buffer.from('<ds:SignedInfo>…</ds:SignedInfo>');

type Cryptoki = Record<string, (...args: unknown[]) => unknown>;

describe('keys/pkcs11: a lost session, as a hardware token answers around it (SoftHSM2 with stand-in answers)', function () {
  this.timeout(60_000);
  let library: Cryptoki;
  /** SoftHSM2's calls that a stand-in answers for now, put back after each test. */
  const replaced = new Map<string, (...args: unknown[]) => unknown>();

  /**
   * The next `calls` calls of `name` (all of them in the test, with Infinity) are answered by `answer`,
   * which may ask SoftHSM2 through `real`; then SoftHSM2 answers again.
   */
  function standIn(name: string, answer: (real: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown, calls = 1): void {
    const real = library[name] as (...args: unknown[]) => unknown;
    replaced.set(name, real);
    let left = calls;
    library[name] = (...args: unknown[]): unknown => {
      if (--left === 0) putBack(name);
      return answer((...a: unknown[]) => real.apply(library, a), ...args);
    };
  }
  function putBack(name: string): void {
    const real = replaced.get(name);
    if (real === undefined) return;
    library[name] = real;
    replaced.delete(name);
  }

  /** A token for each test: SoftHSM2 reads its slots at C_Initialize, so they are all made before the module is loaded. */
  const tokens: TestToken[] = [];
  before(() => {
    for (let i = 0; i < 4; i++) tokens.push(newTestToken());
    library = acquireModule(SOFTHSM_MODULE) as unknown as Cryptoki;
  });
  after(() => releaseModule(SOFTHSM_MODULE));
  /** The test's custody, closed after it (before SoftHSM2's calls are put back, as the test left them). */
  let opened: WatchedTokenCustody | undefined;
  afterEach(() => {
    try {
      opened?.custody.close();
    } finally {
      opened = undefined;
      for (const name of [...replaced.keys()]) putBack(name);
    }
  });

  /** A token of the test's own and a watched custody on it (its events, its clock), closed after the test. */
  function openToken(): WatchedTokenCustody & { token: TestToken } {
    const token = tokens.shift();
    assert.ok(token, 'a token was made for the test');
    const watched = watchedTokenCustody(token, randomBytes(32));
    opened = watched;
    return { token, ...watched };
  }

  describe('C_GetSessionInfo, asked after an operation failed for another reason than a lost session', () => {
    it('answering CKR_SESSION_HANDLE_INVALID: the session is lost, so a new one is opened and the signature succeeds in it', () => {
      const { token, session, custody, events } = openToken();
      const { key, certified } = newTokenKey(custody);
      const before = currentSession(session);
      // The session goes during C_SignInit, which the token reports as a failure of its own: only the session's state tells.
      standIn('C_SignInit', () => {
        closeAllSessions(token.label);
        throw cryptokiError('CKR_FUNCTION_FAILED', 'C_SignInit');
      });
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.deepEqual(events, [
        { kind: 'session-lost', tokenLabel: token.label, reason: 'CKR_SESSION_HANDLE_INVALID' },
        { kind: 'session-restored', tokenLabel: token.label },
      ]);
      assert.notEqual(currentSession(session), before);
      assert.ok(sessionIsOpen(token.label, currentSession(session) as pkcs11.Handle));
    });

    it('answering CKR_DEVICE_REMOVED after a search found nothing: the key is found in a new session, not reported missing', () => {
      const { token, session, custody, events } = openToken();
      const { id, certified } = newTokenKey(custody);
      // The token shows no private key (as in a session without its login) and answers for the session that it was removed.
      standIn('C_FindObjects', () => []);
      standIn('C_GetSessionInfo', () => {
        closeAllSessions(token.label);
        throw cryptokiError('CKR_DEVICE_REMOVED', 'C_GetSessionInfo');
      });
      assert.deepEqual(session.findPrivateKey(id)?.publicNumbers.modulus, rsaModulus(certified));
      assert.deepEqual(events, [
        { kind: 'session-lost', tokenLabel: token.label, reason: 'CKR_DEVICE_REMOVED' },
        { kind: 'session-restored', tokenLabel: token.label },
      ]);
    });

    it("answering CKR_DEVICE_ERROR (the token cannot say): the operation's own failure is reported, the session kept, and the next signature runs in it", () => {
      const { token, session, custody, events } = openToken();
      const { key, certified } = newTokenKey(custody);
      const before = currentSession(session);
      standIn('C_SignInit', () => {
        throw cryptokiError('CKR_FUNCTION_FAILED', 'C_SignInit');
      });
      standIn('C_GetSessionInfo', () => {
        throw cryptokiError('CKR_DEVICE_ERROR', 'C_GetSessionInfo');
      });
      const err = errorThrownBy(() => key.sign('sha256', DATA));
      assert.ok(err instanceof pkcs11.Pkcs11Error);
      assert.equal(err.message, 'CKR_FUNCTION_FAILED');
      assert.deepEqual([...replaced.keys()], [], 'both stand-in answers were given');
      assert.deepEqual(events, []);

      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.equal(currentSession(session), before);
      assert.deepEqual(events, [], 'no reconnect');
      assert.ok(sessionIsOpen(token.label, before as pkcs11.Handle));
    });
  });

  describe('C_CloseSession failing on the session left without its login (lose)', () => {
    it('the caller sees the error that lost the session, not the closing\'s; the handle is given up; the next signature, after the interval, reconnects', () => {
      const { token, session, custody, events, clock } = openToken();
      const { key, certified } = newTokenKey(custody);
      const before = currentSession(session) as pkcs11.Handle;
      // The token fails to close the session (which stays open in it), and closes any other.
      const closing: pkcs11.Handle[] = [];
      standIn(
        'C_CloseSession',
        (real, handle) => {
          closing.push(handle as pkcs11.Handle);
          if (handle === before) throw cryptokiError('CKR_GENERAL_ERROR', 'C_CloseSession');
          return real(handle);
        },
        Infinity,
      );
      // The reconnect that follows fails too (the token is busy), so the caller gets an error to look at.
      standIn('C_OpenSession', () => {
        throw cryptokiError('CKR_DEVICE_ERROR', 'C_OpenSession');
      });
      logOutFromOutside(token.label);

      const err = errorThrownBy(() => key.sign('sha256', DATA));
      assert.ok(err instanceof pkcs11.Pkcs11Error);
      assert.equal(err.message, 'CKR_USER_NOT_LOGGED_IN');
      assert.deepEqual(events, [
        { kind: 'session-lost', tokenLabel: token.label, reason: 'CKR_USER_NOT_LOGGED_IN' },
        {
          kind: 'reconnect-failed',
          tokenLabel: token.label,
          reason: `the PKCS#11 token "${token.label}" could not be opened: CKR_DEVICE_ERROR`,
          retryAfterMs: RECONNECT_INTERVAL_MS,
        },
      ]);
      assert.deepEqual(closing, [before], 'closed once, its failure swallowed');
      assert.equal(currentSession(session), undefined, 'the handle whose closing failed is not kept');

      clock.now += RECONNECT_INTERVAL_MS;
      assert.ok(verify('sha256', DATA, certified, key.sign('sha256', DATA)));
      assert.equal(events.length, 3);
      assert.deepEqual(events[2], { kind: 'session-restored', tokenLabel: token.label });
      const after = currentSession(session) as pkcs11.Handle;
      assert.notEqual(after, before);
      assert.deepEqual(closing, [before], 'the abandoned handle is never closed again (it may name another opener\'s session by now)');
      custody.close();
      assert.deepEqual(closing, [before, after], 'closing the token closes its new session only');
    });
  });
});
