import { createHash, timingSafeEqual } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { codeOf, Pkcs11PinRefusedError, Pkcs11TokenError, reason } from './pkcs11-errors';
import type { Pkcs11TokenSettings } from './pkcs11-token';

// Cryptoki is initialised once per process and module, and the user login is per process and token:
// the second opener in a process shares both, so they are counted here. The PIN's digest is kept so
// a second opener with a different PIN is refused as the token itself would refuse it.
const modules = new Map<string, { library: pkcs11.PKCS11; users: number }>();
const logins = new Map<string, { pinDigest: Buffer; sessions: number }>();

const pinDigest = (pin: string): Buffer => createHash('sha256').update(pin).digest();
export const loginKeyOf = (settings: Pkcs11TokenSettings): string => `${settings.module}\0${settings.tokenLabel}`;

/** The module, loaded and initialised (C_Initialize) by this process's first opener and shared with the others. */
export function acquireModule(path: string): pkcs11.PKCS11 {
  const loaded = modules.get(path);
  if (loaded) {
    loaded.users++;
    return loaded.library;
  }
  const library = new pkcs11.PKCS11();
  try {
    library.load(path);
  } catch (err) {
    throw new Pkcs11TokenError(`the PKCS#11 module ${path} cannot be loaded (${reason(err)}): check signingKeyCustody.module`);
  }
  try {
    library.C_Initialize();
  } catch (err) {
    library.close();
    throw new Pkcs11TokenError(`the PKCS#11 module ${path} failed to initialise: ${reason(err)}`);
  }
  modules.set(path, { library, users: 1 });
  return library;
}

/** The last opener's release finalises the module (C_Finalize) and unloads it. */
export function releaseModule(path: string): void {
  const loaded = modules.get(path);
  if (!loaded || --loaded.users > 0) return;
  modules.delete(path);
  try {
    loaded.library.C_Finalize();
  } finally {
    loaded.library.close();
  }
}

/** Logs the user in on a new session, counted as one more session of this process's login to the token. */
export function login(library: pkcs11.PKCS11, session: pkcs11.Handle, loginKey: string, settings: Pkcs11TokenSettings): void {
  const digest = pinDigest(settings.pin);
  const existing = logins.get(loginKey);
  // A token answers CKR_USER_ALREADY_LOGGED_IN without looking at the PIN while this process is logged in.
  if (existing && !timingSafeEqual(existing.pinDigest, digest)) throw wrongPin(settings, 'CKR_PIN_INCORRECT');
  // Logged in even when this process counts other sessions: they may have gone, and the login with them,
  // without noticing yet (C_CloseAllSessions); a login that still holds answers CKR_USER_ALREADY_LOGGED_IN.
  try {
    library.C_Login(session, pkcs11.CKU_USER, settings.pin);
  } catch (err) {
    const code = codeOf(err);
    if (code !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
      if (code === pkcs11.CKR_PIN_INCORRECT || code === pkcs11.CKR_PIN_LEN_RANGE || code === pkcs11.CKR_PIN_LOCKED) throw wrongPin(settings, reason(err));
      throw new Pkcs11TokenError(`the PKCS#11 token "${settings.tokenLabel}" refused the login: ${reason(err)}`);
    }
  }
  if (existing) existing.sessions++;
  else logins.set(loginKey, { pinDigest: digest, sessions: 1 });
}

/** A session of this login is gone (closed, or lost): the token logs the user out when the last one goes. */
export function forgetSession(loginKey: string): void {
  const login = logins.get(loginKey);
  if (login && --login.sessions === 0) logins.delete(loginKey);
}

function wrongPin(settings: Pkcs11TokenSettings, code: string): Pkcs11TokenError {
  return new Pkcs11PinRefusedError(
    `the PKCS#11 token "${settings.tokenLabel}" refused the PIN from ${settings.pinSource} (${code}): ` +
      `put the token's user PIN there${code === 'CKR_PIN_LOCKED' ? ' after the security officer unlocks the PIN' : ''}`,
  );
}
