import { strict as assert } from 'node:assert';
import * as pkcs11 from 'pkcs11js';
import { Pkcs11PinRefusedError, Pkcs11TokenError } from '../../../src/keys/pkcs11/pkcs11-errors';
import { forgetSession, login } from '../../../src/keys/pkcs11/pkcs11-module';
import type { Pkcs11TokenSettings } from '../../../src/keys/pkcs11/pkcs11-token';
import { cryptokiError } from '../../support/softhsm';
import { errorThrownBy } from '../../support/unit-soap';

// The token's answers to C_Login that SoftHSM2 never gives (it has no PIN lockout and no PIN length
// range at login, answering CKR_PIN_INCORRECT for both), from a module that answers C_Login as a
// hardware token does. Which of them is a refused PIN decides whether a lost session is ever opened
// again (pkcs11-token.ts): a refused PIN never, anything else after the reconnect interval.

const SESSION = Buffer.alloc(8);
let tokens = 0;

/** Settings naming a token of their own, so each test starts without this process's login to it. */
function settings(): Pkcs11TokenSettings {
  return { module: '/hsm/vendor-pkcs11.so', tokenLabel: `hsm-${++tokens}`, pin: 'pin-never-printed', pinSource: 'the file /etc/trustbridge/pin' };
}

/** A module whose C_Login answers with the CKR_ result named (as pkcs11js raises it), counting the calls. */
function answering(result: string): { library: pkcs11.PKCS11; logins: () => number } {
  let calls = 0;
  const library = {
    C_Login: (): void => {
      calls++;
      throw cryptokiError(result, 'C_Login');
    },
  } as unknown as pkcs11.PKCS11;
  return { library, logins: () => calls };
}
const loginKey = (s: Pkcs11TokenSettings): string => `${s.module}\0${s.tokenLabel}`;

describe('keys/pkcs11: the login, as a hardware token answers it', () => {
  it('CKR_PIN_LOCKED is a refused PIN, and the message says the security officer must unlock it first', () => {
    const s = settings();
    const err = errorThrownBy(() => login(answering('CKR_PIN_LOCKED').library, SESSION, loginKey(s), s));
    assert.ok(err instanceof Pkcs11PinRefusedError);
    assert.equal(
      err.message,
      `the PKCS#11 token "${s.tokenLabel}" refused the PIN from the file /etc/trustbridge/pin (CKR_PIN_LOCKED): put the token's user PIN there after the security officer unlocks the PIN`,
    );
    assert.ok(!err.message.includes(s.pin));
  });

  it('CKR_PIN_LEN_RANGE and CKR_PIN_INCORRECT are refused PINs, without the unlock advice', () => {
    for (const result of ['CKR_PIN_LEN_RANGE', 'CKR_PIN_INCORRECT']) {
      const s = settings();
      const err = errorThrownBy(() => login(answering(result).library, SESSION, loginKey(s), s));
      assert.ok(err instanceof Pkcs11PinRefusedError, result);
      assert.equal(err.message, `the PKCS#11 token "${s.tokenLabel}" refused the PIN from the file /etc/trustbridge/pin (${result}): put the token's user PIN there`);
    }
  });

  it('any other refusal (CKR_DEVICE_ERROR) is a token error that a reconnect may cure, not a refused PIN', () => {
    const s = settings();
    const err = errorThrownBy(() => login(answering('CKR_DEVICE_ERROR').library, SESSION, loginKey(s), s));
    assert.ok(err instanceof Pkcs11TokenError);
    assert.ok(!(err instanceof Pkcs11PinRefusedError));
    assert.equal(err.message, `the PKCS#11 token "${s.tokenLabel}" refused the login: CKR_DEVICE_ERROR`);
  });

  it('CKR_USER_ALREADY_LOGGED_IN is this process logged in already: the session counts, and a second opener with another PIN is refused without asking the token', () => {
    const s = settings();
    const token = answering('CKR_USER_ALREADY_LOGGED_IN');
    login(token.library, SESSION, loginKey(s), s);
    login(token.library, SESSION, loginKey(s), s);
    assert.equal(token.logins(), 2);

    const err = errorThrownBy(() => login(token.library, SESSION, loginKey(s), { ...s, pin: 'another-pin' }));
    assert.ok(err instanceof Pkcs11PinRefusedError);
    assert.match(err.message, /\(CKR_PIN_INCORRECT\)/);
    assert.equal(token.logins(), 2, 'the token was not asked');
    forgetSession(loginKey(s));
    forgetSession(loginKey(s));
  });
});
