import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkcs11 from 'pkcs11js';
import type { SigningKeyCustodyConfig } from '../../src/config/config';
import type { SigningKeyCustody } from '../../src/keys/key-custody';
import { parseTokenKeyReference } from '../../src/keys/pkcs11/pkcs11-uri';
import { tokenCustody } from '../../src/keys/pkcs11/token-custody';
import type { SigningKey } from '../../src/keys/signing-key';
import { Pkcs11Token, type Pkcs11SessionEvent, type Pkcs11TokenOptions } from '../../src/keys/pkcs11/pkcs11-token';

// SoftHSM2 (Debian's softhsm2) as the PKCS#11 token of the tests: one private token directory per
// test process, named by SOFTHSM2_CONF before any PKCS#11 module is initialised in it (SoftHSM reads
// it at C_Initialize), and inherited by the sts processes the tests spawn.

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface TestToken {
  readonly label: string;
  /** The user PIN; also in process.env[pinEnv], which child processes inherit. */
  readonly pin: string;
  readonly pinEnv: string;
  /** signingKeyCustody for an instance whose keys live in this token. */
  readonly custody: Extract<SigningKeyCustodyConfig, { kind: 'pkcs11' }>;
}

let directory: string | undefined;
let tokens = 0;

function tokenDirectory(): string {
  if (directory) return directory;
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}): run scripts/ensure-system-tools.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'trustbridge-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  directory = dir;
  return dir;
}

/** Initialises a fresh SoftHSM2 token with a random user PIN, exported in its own environment variable. */
export function newTestToken(): TestToken {
  tokenDirectory();
  const n = ++tokens;
  const label = `trustbridge-test-${process.pid}-${n}`;
  // Distinctive enough that the leak scan cannot meet it by chance.
  const pin = `pin-${randomBytes(9).toString('base64url')}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${randomBytes(9).toString('base64url')}`], {
    env: process.env,
    stdio: 'pipe',
  });
  const pinEnv = `TRUSTBRIDGE_TEST_PIN_${n}`;
  process.env[pinEnv] = pin;
  return { label, pin, pinEnv, custody: { kind: 'pkcs11', module: SOFTHSM_MODULE, tokenLabel: label, pinEnv } };
}

/**
 * Acts on a token as something outside Trustbridge's code would: through a second pkcs11js handle on
 * the module. SoftHSM2 is a library inside this process, so the handle reaches the same SoftHSM2
 * instance (dlopen gives back the library already loaded; its C_Initialize answers
 * CKR_CRYPTOKI_ALREADY_INITIALIZED) and sees the sessions Trustbridge opened in this process.
 */
function onTokenFromOutside<T>(label: string, act: (library: pkcs11.PKCS11, slot: pkcs11.Handle) => T): T {
  const library = new pkcs11.PKCS11();
  library.load(SOFTHSM_MODULE);
  let initialisedHere = true;
  try {
    try {
      library.C_Initialize();
    } catch (err) {
      if (!(err instanceof pkcs11.Pkcs11Error && err.code === pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw err;
      initialisedHere = false;
    }
    const slot = library.C_GetSlotList(true).find((s) => library.C_GetTokenInfo(s).label.trimEnd() === label);
    if (slot === undefined) throw new Error(`no SoftHSM2 token labelled ${label}`);
    return act(library, slot);
  } finally {
    if (initialisedHere) library.C_Finalize();
    library.close();
  }
}

/**
 * Closes every session this process has on the token (C_CloseAllSessions), as a network HSM that
 * restarts or a token pulled out and put back would; PKCS#11 then logs the user out of the token.
 */
export function closeAllSessions(label: string): void {
  onTokenFromOutside(label, (library, slot) => library.C_CloseAllSessions(slot));
}

/**
 * Logs this process out of the token (C_Logout) from a session of its own, closed afterwards: the
 * sessions Trustbridge opened stay open, without the login, as with a token that drops its logins.
 */
export function logOutFromOutside(label: string): void {
  onTokenFromOutside(label, (library, slot) => {
    const session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
    try {
      library.C_Logout(session);
    } finally {
      library.C_CloseSession(session);
    }
  });
}

/** Whether a session this process opened on the token is still open (C_GetSessionInfo answers for it). */
export function sessionIsOpen(label: string, session: pkcs11.Handle): boolean {
  let open = true;
  onTokenFromOutside(label, (library) => {
    try {
      library.C_GetSessionInfo(session);
    } catch (err) {
      if (!(err instanceof pkcs11.Pkcs11Error && err.code === pkcs11.CKR_SESSION_HANDLE_INVALID)) throw err;
      open = false;
    }
  });
  return open;
}

/** Changes the token's user PIN (C_SetPIN) in a session of its own, closed afterwards. */
export function changeUserPin(label: string, oldPin: string, newPin: string): void {
  onTokenFromOutside(label, (library, slot) => {
    const session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
    try {
      library.C_Login(session, pkcs11.CKU_USER, oldPin);
      library.C_SetPIN(session, oldPin, newPin);
    } finally {
      library.C_CloseSession(session);
    }
  });
}

/** The private key with this CKA_ID, found in a session of the test's own. */
function privateKeyHandle(library: pkcs11.PKCS11, session: pkcs11.Handle, label: string, id: Buffer): pkcs11.Handle {
  library.C_FindObjectsInit(session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
    { type: pkcs11.CKA_ID, value: id },
  ]);
  const [key] = library.C_FindObjects(session, 1);
  library.C_FindObjectsFinal(session);
  if (key === undefined) throw new Error(`the token ${label} holds no private key ${id.toString('hex')}`);
  return key;
}

/** Deletes the private key with this CKA_ID from the token, from a session of its own (logged in as this process is). */
export function destroyPrivateKey(label: string, id: Buffer): void {
  onTokenFromOutside(label, (library, slot) => {
    const session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
    try {
      library.C_DestroyObject(session, privateKeyHandle(library, session, label, id));
    } finally {
      library.C_CloseSession(session);
    }
  });
}

/**
 * What `read` finds in a read-only session of its own, logged in with `pin` (or already, when a
 * session of this process's own, openTestToken, logged the user in), closed afterwards.
 */
function readLoggedIn<T>(label: string, pin: string, read: (library: pkcs11.PKCS11, session: pkcs11.Handle) => T): T {
  return onTokenFromOutside(label, (library, slot) => {
    const session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
    try {
      try {
        library.C_Login(session, pkcs11.CKU_USER, pin);
      } catch (err) {
        if (!(err instanceof pkcs11.Pkcs11Error && err.code === pkcs11.CKR_USER_ALREADY_LOGGED_IN)) throw err;
      }
      return read(library, session);
    } finally {
      library.C_CloseSession(session);
    }
  });
}

/**
 * The attributes of the private key with this CKA_ID, read from a session of its own (logged in with
 * `pin`); each one the token refuses (sensitive, or not an attribute of the object) comes back as
 * the CKR_ name of the refusal instead of a value.
 */
export function privateKeyAttributes(label: string, pin: string, id: Buffer, types: readonly number[]): Array<Buffer | string> {
  return readLoggedIn(label, pin, (library, session) => {
    const key = privateKeyHandle(library, session, label, id);
    return types.map((type) => {
      try {
        return (library.C_GetAttributeValue(session, key, [{ type }])[0] as { value: Buffer }).value;
      } catch (err) {
        if (!(err instanceof pkcs11.Pkcs11Error)) throw err;
        return err.message;
      }
    });
  });
}

/** The CKA_IDs (hex) of the private keys the token holds, read from a session of its own (logged in with `pin`). */
export function privateKeyIds(label: string, pin: string): string[] {
  return readLoggedIn(label, pin, (library, session) => {
    library.C_FindObjectsInit(session, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY }]);
    const keys = library.C_FindObjects(session, 100);
    library.C_FindObjectsFinal(session);
    return keys.map((key) => (library.C_GetAttributeValue(session, key, [{ type: pkcs11.CKA_ID }])[0]?.value as Buffer).toString('hex')).sort();
  });
}

/** Deletes the token (its files), as pulling a token out for good would; sessions on it fail from then on. */
export function deleteToken(label: string): void {
  execFileSync('softhsm2-util', ['--delete-token', '--token', label], { stdio: 'pipe' });
}

/** Opens a session on the test token as a custody does, its PIN's source named as the token's environment variable. */
export const openTestToken = (token: TestToken, options: Pkcs11TokenOptions = {}, pin = token.pin): Pkcs11Token =>
  Pkcs11Token.open({ module: SOFTHSM_MODULE, tokenLabel: token.label, pin, pinSource: `the environment variable ${token.pinEnv}` }, options);

/**
 * A token custody on the test token as the tests watch it: its session's events in `events` (each
 * also handed to `onEvent` as it happens), its reconnects spaced by `clock.now`, which only the test moves.
 */
export interface WatchedTokenCustody {
  readonly session: Pkcs11Token;
  readonly custody: SigningKeyCustody;
  readonly events: Pkcs11SessionEvent[];
  readonly clock: { now: number };
}

export function watchedTokenCustody(token: TestToken, masterKey: Buffer, onEvent?: (event: Pkcs11SessionEvent) => void): WatchedTokenCustody {
  const events: Pkcs11SessionEvent[] = [];
  const clock = { now: 0 };
  const session = openTestToken(token, {
    onEvent: (e) => {
      events.push(e);
      onEvent?.(e);
    },
    now: () => clock.now,
  });
  return { session, custody: tokenCustody(session, masterKey), events, clock };
}

/** The modulus of an RSA public key as big-endian bytes: what a token's CKA_MODULUS holds for its private key. */
export const rsaModulus = (publicKey: KeyObject): Buffer => Buffer.from(publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');

/** A key generated in a token custody's token and opened, with its CKA_ID and its certificate's public key to verify against. */
export function newTokenKey(custody: SigningKeyCustody): { key: SigningKey; id: Buffer; certified: KeyObject } {
  const generated = custody.generate({ commonName: 'Trustbridge Token Signing', validDays: 30 });
  const key = custody.open({ thumbprint: 'ab', certificatePem: generated.certificatePem, sealedPrivateKey: generated.privateKeyAtRest });
  return { key, id: parseTokenKeyReference(generated.privateKeyAtRest).id, certified: new X509Certificate(generated.certificatePem).publicKey };
}

/** A Cryptoki error as pkcs11js raises it (its message is the CKR_ name): what a stand-in for a token's answer throws. */
export function cryptokiError(result: string, method: string): pkcs11.Pkcs11Error {
  const code = (pkcs11 as unknown as Record<string, unknown>)[result];
  if (typeof code !== 'number') throw new Error(`pkcs11js names no ${result}`);
  return new pkcs11.Pkcs11Error(`${result}:${code}`, code, method);
}

/** The session a Pkcs11Token holds now, read as the tests from outside see it. */
export const currentSession = (token: Pkcs11Token): pkcs11.Handle | undefined => (token as unknown as { session: pkcs11.Handle | undefined }).session;
