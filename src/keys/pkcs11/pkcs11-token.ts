import { createHash, timingSafeEqual } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import type { RsaPublicNumbers } from '../certificates';

// One logged-in session with a PKCS#11 token, for one process. Private keys made here stay in the
// token (sensitive, never extractable); this process only ever holds their handles.

export interface Pkcs11TokenSettings {
  /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  readonly tokenLabel: string;
  readonly pin: string;
  /** Where the PIN came from, for messages (an environment variable's or a file's name, never the PIN). */
  readonly pinSource: string;
}

/** An RSA private key in the token, by handle, with the public numbers that identify it. */
export interface TokenPrivateKey {
  readonly handle: pkcs11.Handle;
  readonly publicNumbers: RsaPublicNumbers;
}

// Cryptoki is initialised once per process and module, and the user login is per process and token:
// the second opener in a process shares both, so they are counted here. The PIN's digest is kept so
// a second opener with a different PIN is refused as the token itself would refuse it.
const modules = new Map<string, { library: pkcs11.PKCS11; users: number }>();
const logins = new Map<string, { pinDigest: Buffer; sessions: number }>();

const pinDigest = (pin: string): Buffer => createHash('sha256').update(pin).digest();
const RSA_BITS = 2048;

export class Pkcs11TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs11TokenError';
  }
}

/** The CKR_ name of a Cryptoki error, or the message of any other (pkcs11js puts only the name in its messages). */
function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const codeOf = (err: unknown): number | undefined => (err instanceof pkcs11.Pkcs11Error ? err.code : undefined);

export class Pkcs11Token {
  private closed = false;

  private constructor(
    private readonly library: pkcs11.PKCS11,
    private readonly session: pkcs11.Handle,
    private readonly loginKey: string,
    readonly module: string,
    readonly label: string,
  ) {}

  /** Loads the module (C_Initialize once per process), opens a session on the token with this label and logs in. */
  static open(settings: Pkcs11TokenSettings): Pkcs11Token {
    const library = acquireModule(settings.module);
    let session: pkcs11.Handle | undefined;
    try {
      const slot = findSlot(library, settings);
      session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
      const loginKey = `${settings.module}\0${settings.tokenLabel}`;
      login(library, session, loginKey, settings);
      return new Pkcs11Token(library, session, loginKey, settings.module, settings.tokenLabel);
    } catch (err) {
      if (session) library.C_CloseSession(session);
      releaseModule(settings.module);
      if (err instanceof Pkcs11TokenError) throw err;
      throw new Pkcs11TokenError(`the PKCS#11 token "${settings.tokenLabel}" could not be opened: ${reason(err)}`);
    }
  }

  /**
   * Generates an RSA-2048 signing key pair inside the token: the private key is a token object,
   * private, sensitive and not extractable, so its value never leaves the token.
   */
  generateRsaSigningKey(id: Buffer, label: string): TokenPrivateKey {
    const common = [
      { type: pkcs11.CKA_TOKEN, value: true },
      { type: pkcs11.CKA_ID, value: id },
      { type: pkcs11.CKA_LABEL, value: label },
    ];
    try {
      const pair = this.library.C_GenerateKeyPair(
        this.session,
        { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          ...common,
          { type: pkcs11.CKA_VERIFY, value: true },
          { type: pkcs11.CKA_MODULUS_BITS, value: RSA_BITS },
          { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ],
        [
          ...common,
          { type: pkcs11.CKA_PRIVATE, value: true },
          { type: pkcs11.CKA_SIGN, value: true },
          { type: pkcs11.CKA_SENSITIVE, value: true },
          { type: pkcs11.CKA_EXTRACTABLE, value: false },
        ],
      );
      return { handle: pair.privateKey, publicNumbers: this.publicNumbers(pair.privateKey) };
    } catch (err) {
      throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" could not generate a key: ${reason(err)}`);
    }
  }

  /** The RSA private key with this CKA_ID, if the token holds one. */
  findPrivateKey(id: Buffer): TokenPrivateKey | undefined {
    try {
      this.library.C_FindObjectsInit(this.session, [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
        { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
        { type: pkcs11.CKA_ID, value: id },
      ]);
      let found: pkcs11.Handle[];
      try {
        found = this.library.C_FindObjects(this.session, 2);
      } finally {
        this.library.C_FindObjectsFinal(this.session);
      }
      if (found.length > 1) throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" holds ${found.length} private keys with one id`);
      const handle = found[0];
      return handle === undefined ? undefined : { handle, publicNumbers: this.publicNumbers(handle) };
    } catch (err) {
      if (err instanceof Pkcs11TokenError) throw err;
      throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" could not be searched: ${reason(err)}`);
    }
  }

  /** RSA PKCS#1 v1.5 with SHA-256 (CKM_SHA256_RSA_PKCS), computed by the token. */
  signSha256(key: pkcs11.Handle, data: Buffer, signatureBytes: number): Buffer {
    this.library.C_SignInit(this.session, { mechanism: pkcs11.CKM_SHA256_RSA_PKCS }, key);
    return this.library.C_Sign(this.session, data, Buffer.allocUnsafe(signatureBytes));
  }

  /**
   * Reads attributes of an object; each one the token refuses (sensitive, or not an attribute of
   * the object) comes back as the CKR_ name of the refusal instead of a value.
   */
  readAttributes(handle: pkcs11.Handle, types: readonly number[]): Array<Buffer | string> {
    return types.map((type) => {
      try {
        return (this.library.C_GetAttributeValue(this.session, handle, [{ type }])[0] as { value: Buffer }).value;
      } catch (err) {
        if (codeOf(err) === undefined) throw err;
        return reason(err);
      }
    });
  }

  /** Closes the session; the last one in this process logs out and finalises the module. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.library.C_CloseSession(this.session);
    } finally {
      const login = logins.get(this.loginKey);
      if (login && --login.sessions === 0) logins.delete(this.loginKey);
      releaseModule(this.module);
    }
  }

  private publicNumbers(handle: pkcs11.Handle): RsaPublicNumbers {
    const [modulus, publicExponent] = this.library.C_GetAttributeValue(this.session, handle, [
      { type: pkcs11.CKA_MODULUS },
      { type: pkcs11.CKA_PUBLIC_EXPONENT },
    ]) as unknown as [{ value: Buffer }, { value: Buffer }];
    return { modulus: modulus.value, publicExponent: publicExponent.value };
  }
}

function acquireModule(path: string): pkcs11.PKCS11 {
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

function releaseModule(path: string): void {
  const loaded = modules.get(path);
  if (!loaded || --loaded.users > 0) return;
  modules.delete(path);
  try {
    loaded.library.C_Finalize();
  } finally {
    loaded.library.close();
  }
}

function findSlot(library: pkcs11.PKCS11, settings: Pkcs11TokenSettings): pkcs11.Handle {
  const labels: string[] = [];
  for (const slot of library.C_GetSlotList(true)) {
    // Token labels are blank-padded to 32 bytes.
    const label = library.C_GetTokenInfo(slot).label.trimEnd();
    if (label === settings.tokenLabel) return slot;
    labels.push(label);
  }
  throw new Pkcs11TokenError(
    `no PKCS#11 token labelled "${settings.tokenLabel}" in ${settings.module} ` +
      `(tokens present: ${labels.length === 0 ? 'none' : labels.map((l) => `"${l}"`).join(', ')}): check signingKeyCustody.tokenLabel`,
  );
}

function login(library: pkcs11.PKCS11, session: pkcs11.Handle, loginKey: string, settings: Pkcs11TokenSettings): void {
  const digest = pinDigest(settings.pin);
  const existing = logins.get(loginKey);
  if (existing) {
    if (!timingSafeEqual(existing.pinDigest, digest)) throw wrongPin(settings, 'CKR_PIN_INCORRECT');
    existing.sessions++;
    return;
  }
  try {
    library.C_Login(session, pkcs11.CKU_USER, settings.pin);
  } catch (err) {
    const code = codeOf(err);
    if (code !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
      if (code === pkcs11.CKR_PIN_INCORRECT || code === pkcs11.CKR_PIN_LEN_RANGE || code === pkcs11.CKR_PIN_LOCKED) throw wrongPin(settings, reason(err));
      throw new Pkcs11TokenError(`the PKCS#11 token "${settings.tokenLabel}" refused the login: ${reason(err)}`);
    }
  }
  logins.set(loginKey, { pinDigest: digest, sessions: 1 });
}

function wrongPin(settings: Pkcs11TokenSettings, code: string): Pkcs11TokenError {
  return new Pkcs11TokenError(
    `the PKCS#11 token "${settings.tokenLabel}" refused the PIN from ${settings.pinSource} (${code}): ` +
      `put the token's user PIN there${code === 'CKR_PIN_LOCKED' ? ' after the security officer unlocks the PIN' : ''}`,
  );
}
