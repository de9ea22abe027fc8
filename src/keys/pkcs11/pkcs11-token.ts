import * as pkcs11 from 'pkcs11js';
import type { RsaPublicNumbers } from '../certificates';
import { codeOf, Pkcs11PinRefusedError, Pkcs11TokenError, reason } from './pkcs11-errors';
import { acquireModule, forgetSession, login, loginKeyOf, releaseModule } from './pkcs11-module';

export { Pkcs11TokenError } from './pkcs11-errors';

// One logged-in session with a PKCS#11 token, for one process, opened again when it is lost. Private
// keys made here stay in the token (sensitive, never extractable); this process only ever holds their handles.
// What the process's openers of a module and token share (Cryptoki itself, the user login) is counted in pkcs11-module.ts.

export interface Pkcs11TokenSettings {
  /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  readonly tokenLabel: string;
  readonly pin: string;
  /** Where the PIN came from, for messages (an environment variable's or a file's name, never the PIN). */
  readonly pinSource: string;
}

/** An RSA private key in the token, by CKA_ID, with the public numbers that identify it. */
export interface TokenPrivateKey {
  readonly id: Buffer;
  readonly publicNumbers: RsaPublicNumbers;
}

/** What happens to a token's session, for the operator's log; never with the PIN. */
export type Pkcs11SessionEvent =
  | { readonly kind: 'session-lost'; readonly tokenLabel: string; readonly reason: string }
  | { readonly kind: 'session-restored'; readonly tokenLabel: string }
  /** retryAfterMs null: never, until a restart (the token refused the PIN, which the process read once). */
  | { readonly kind: 'reconnect-failed'; readonly tokenLabel: string; readonly reason: string; readonly retryAfterMs: number | null };

export interface Pkcs11TokenOptions {
  readonly onEvent?: (event: Pkcs11SessionEvent) => void;
  /** The clock (milliseconds) that spaces reconnect attempts. */
  readonly now?: () => number;
}

const RSA_BITS = 2048;

// The results with which PKCS#11 (v2.40 and 3.0, section 5.1) says that the session or its login is
// gone, rather than anything about the operation: the session was closed before the call
// (CKR_SESSION_HANDLE_INVALID: C_CloseSession, C_CloseAllSessions, a token removed) or during it
// (CKR_SESSION_CLOSED), the token was removed during the call (CKR_DEVICE_REMOVED) or was not present
// (CKR_TOKEN_NOT_PRESENT), or the session lives without its login (CKR_USER_NOT_LOGGED_IN: a token logs
// the user out when the application's last session on it closes). A new session can cure each of
// them. CKR_DEVICE_ERROR is not among them: it says the device failed, not that the session ended.
const SESSION_GONE = new Set<number>([
  pkcs11.CKR_SESSION_HANDLE_INVALID,
  pkcs11.CKR_SESSION_CLOSED,
  pkcs11.CKR_DEVICE_REMOVED,
  pkcs11.CKR_TOKEN_NOT_PRESENT,
  pkcs11.CKR_USER_NOT_LOGGED_IN,
]);
const isSessionGone = (err: unknown): boolean => SESSION_GONE.has(codeOf(err) ?? 0);

// The session states without the user's login (CKS_RO_PUBLIC_SESSION, CKS_RW_PUBLIC_SESSION; pkcs11js
// exports no CKS_ constants). A token need not answer CKR_USER_NOT_LOGGED_IN in such a session:
// SoftHSM2 answers an operation with a private key found before the login went as it answers for a
// key it does not hold (CKR_OBJECT_HANDLE_INVALID), and a search finds no private key at all.
const PUBLIC_SESSION_STATES = new Set<number>([0, 2]);
const userNotLoggedIn = (): pkcs11.Pkcs11Error => new pkcs11.Pkcs11Error('CKR_USER_NOT_LOGGED_IN', pkcs11.CKR_USER_NOT_LOGGED_IN, 'C_GetSessionInfo');

// After a failed reconnect, the next one waits this long; operations in between fail at once with the
// error that lost the session. Without it every request would open a session and log in again, and each
// attempt holds up the event loop (a network HSM that is away answers only after its timeout). A PIN the
// token refuses is not tried again at all: the process read it once, so it cannot succeed, and every
// try would count towards the token locking the PIN.
export const RECONNECT_INTERVAL_MS = 1000;

export class Pkcs11Token {
  private closed = false;
  /** Undefined from the moment the session is found gone until a reconnect opens another. */
  private session: pkcs11.Handle | undefined;
  /** The error that lost the session: what operations fail with until a reconnect succeeds. */
  private lostWith: unknown;
  private nextReconnectAt = 0;
  // Object handles need not outlive the session they were found in: after a reconnect, keys are found again by CKA_ID.
  private handles = new WeakMap<TokenPrivateKey, pkcs11.Handle>();
  private readonly now: () => number;

  private constructor(
    private readonly library: pkcs11.PKCS11,
    session: pkcs11.Handle,
    /** Opens a new logged-in session; the PIN lives only in this closure, out of reach of anything that prints the token. */
    private readonly openSession: () => pkcs11.Handle,
    private readonly loginKey: string,
    readonly module: string,
    readonly label: string,
    private readonly options: Pkcs11TokenOptions,
  ) {
    this.session = session;
    this.now = options.now ?? Date.now;
  }

  /**
   * Loads the module (C_Initialize once per process), opens a session on the token with this label and logs in.
   * A session lost later (an HSM restarting, a token re-inserted, C_CloseAllSessions) is opened again by the
   * operation that finds it gone, which then runs once more.
   */
  static open(settings: Pkcs11TokenSettings, options: Pkcs11TokenOptions = {}): Pkcs11Token {
    const library = acquireModule(settings.module);
    const openSession = (): pkcs11.Handle => openLoggedInSession(library, settings);
    try {
      return new Pkcs11Token(library, openSession(), openSession, loginKeyOf(settings), settings.module, settings.tokenLabel, options);
    } catch (err) {
      releaseModule(settings.module);
      throw err;
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
      return this.inSession((session, retry) => {
        // The pair is made of token objects: a first attempt whose session went after C_GenerateKeyPair left them in the token.
        const made = retry ? this.findHandle(session, id) : undefined;
        const privateKey =
          made ??
          this.library.C_GenerateKeyPair(
            session,
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
          ).privateKey;
        return this.remember(id, privateKey, session);
      });
    } catch (err) {
      throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" could not generate a key: ${reason(err)}`);
    }
  }

  /** The RSA private key with this CKA_ID, if the token holds one. */
  findPrivateKey(id: Buffer): TokenPrivateKey | undefined {
    try {
      return this.inSession((session) => {
        const handle = this.findHandle(session, id);
        if (handle !== undefined) return this.remember(id, handle, session);
        // Not found because the session has lost its login, or is gone, is not the key missing.
        const lost = this.lossOf(session);
        if (lost !== undefined) throw lost;
        return undefined;
      });
    } catch (err) {
      if (err instanceof Pkcs11TokenError) throw err;
      throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" could not be searched: ${reason(err)}`);
    }
  }

  /** RSA PKCS#1 v1.5 with SHA-256 (CKM_SHA256_RSA_PKCS), computed by the token. */
  signSha256(key: TokenPrivateKey, data: Buffer, signatureBytes: number): Buffer {
    return this.inSession((session) => {
      this.library.C_SignInit(session, { mechanism: pkcs11.CKM_SHA256_RSA_PKCS }, this.handleOf(session, key));
      return this.library.C_Sign(session, data, Buffer.allocUnsafe(signatureBytes));
    });
  }

  /** Closes the session; the last one in this process logs out and finalises the module. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const session = this.session;
    try {
      if (session !== undefined) closeSession(this.library, session);
    } finally {
      // A lost session was forgotten when it was found gone.
      if (session !== undefined) forgetSession(this.loginKey);
      releaseModule(this.module);
    }
  }

  /**
   * Runs a Cryptoki operation in the session. If the session or its login turns out to be gone, a new
   * session is opened and logged in (see reconnect) and the operation runs once more (`retry`); any
   * other error, or a second failure, is the caller's.
   */
  private inSession<T>(operation: (session: pkcs11.Handle, retry: boolean) => T): T {
    const current = this.session;
    if (current !== undefined) {
      try {
        return operation(current, false);
      } catch (err) {
        if (this.closed) throw err;
        const lost = isSessionGone(err) ? err : this.lossOf(current);
        if (lost === undefined) throw err;
        this.lose(lost);
      }
    }
    const session = this.reconnect();
    if (session === undefined) throw this.lostWith;
    try {
      return operation(session, true);
    } catch (err) {
      // A session gone as soon as it was opened (a token that comes and goes) counts as a failed
      // reconnect: the next one waits too.
      if (isSessionGone(err)) {
        this.lose(err);
        this.nextReconnectAt = this.now() + RECONNECT_INTERVAL_MS;
      }
      throw err;
    }
  }

  private lose(err: unknown): void {
    const session = this.session as pkcs11.Handle;
    this.session = undefined;
    this.lostWith = err;
    this.handles = new WeakMap();
    forgetSession(this.loginKey);
    // Only a session alive without its login is closed: any other is gone already, and its handle may
    // since name a session another opener in this process has opened. Whatever the closing says, the
    // error that matters is the one that lost it.
    if (codeOf(err) === pkcs11.CKR_USER_NOT_LOGGED_IN) {
      try {
        this.library.C_CloseSession(session);
      } catch {
        // Abandoned either way.
      }
    }
    this.options.onEvent?.({ kind: 'session-lost', tokenLabel: this.label, reason: reason(err) });
  }

  // Every Cryptoki call here is synchronous, so one token object never runs two reconnects at once:
  // operations that fail together run one after the other, and those after the first meet its new
  // session, or its failure and the wait before the next attempt (RECONNECT_INTERVAL_MS says why).
  private reconnect(): pkcs11.Handle | undefined {
    if (this.closed || this.now() < this.nextReconnectAt) return undefined;
    try {
      this.session = this.openSession();
    } catch (err) {
      const retryAfterMs = err instanceof Pkcs11PinRefusedError ? null : RECONNECT_INTERVAL_MS;
      this.nextReconnectAt = retryAfterMs === null ? Infinity : this.now() + retryAfterMs;
      this.options.onEvent?.({ kind: 'reconnect-failed', tokenLabel: this.label, reason: reason(err), retryAfterMs });
      return undefined;
    }
    this.options.onEvent?.({ kind: 'session-restored', tokenLabel: this.label });
    return this.session;
  }

  /**
   * What lost the session, asked of its state only once an operation in it has failed: the login (the
   * session lives on in a public state), or the session itself (C_GetSessionInfo answers that it is
   * gone: a token may report a session that went during the operation as a failure of the operation).
   * Undefined when it lives on logged in, or the token cannot say (any other answer, e.g.
   * CKR_DEVICE_ERROR): then the operation's own failure is the one to report.
   */
  private lossOf(session: pkcs11.Handle): unknown {
    let state: number;
    try {
      state = Number(this.library.C_GetSessionInfo(session).state);
    } catch (err) {
      return isSessionGone(err) ? err : undefined;
    }
    return PUBLIC_SESSION_STATES.has(state) ? userNotLoggedIn() : undefined;
  }

  private handleOf(session: pkcs11.Handle, key: TokenPrivateKey): pkcs11.Handle {
    const known = this.handles.get(key);
    if (known !== undefined) return known;
    const found = this.findHandle(session, key.id);
    if (found === undefined) {
      throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" no longer holds the key ${key.id.toString('hex')}: was the token re-initialised or the key deleted?`);
    }
    this.handles.set(key, found);
    return found;
  }

  private remember(id: Buffer, handle: pkcs11.Handle, session: pkcs11.Handle): TokenPrivateKey {
    const key = { id, publicNumbers: this.publicNumbers(session, handle) };
    this.handles.set(key, handle);
    return key;
  }

  private findHandle(session: pkcs11.Handle, id: Buffer): pkcs11.Handle | undefined {
    this.library.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
      { type: pkcs11.CKA_ID, value: id },
    ]);
    let found: pkcs11.Handle[];
    try {
      found = this.library.C_FindObjects(session, 2);
    } finally {
      this.library.C_FindObjectsFinal(session);
    }
    if (found.length > 1) throw new Pkcs11TokenError(`the PKCS#11 token "${this.label}" holds ${found.length} private keys with one id`);
    return found[0];
  }

  private publicNumbers(session: pkcs11.Handle, handle: pkcs11.Handle): RsaPublicNumbers {
    const [modulus, publicExponent] = this.library.C_GetAttributeValue(session, handle, [
      { type: pkcs11.CKA_MODULUS },
      { type: pkcs11.CKA_PUBLIC_EXPONENT },
    ]) as unknown as [{ value: Buffer }, { value: Buffer }];
    return { modulus: modulus.value, publicExponent: publicExponent.value };
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

/** Opens a session on the token with this label (its slot looked up afresh: it may have changed) and logs in. */
function openLoggedInSession(library: pkcs11.PKCS11, settings: Pkcs11TokenSettings): pkcs11.Handle {
  let session: pkcs11.Handle | undefined;
  try {
    const slot = findSlot(library, settings);
    session = library.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
    login(library, session, loginKeyOf(settings), settings);
    return session;
  } catch (err) {
    if (session) closeSession(library, session);
    if (err instanceof Pkcs11TokenError) throw err;
    throw new Pkcs11TokenError(`the PKCS#11 token "${settings.tokenLabel}" could not be opened: ${reason(err)}`);
  }
}

/** Closes a session; one that is gone already (closed from elsewhere, its token removed) needs nothing more. */
function closeSession(library: pkcs11.PKCS11, session: pkcs11.Handle): void {
  try {
    library.C_CloseSession(session);
  } catch (err) {
    if (!isSessionGone(err)) throw err;
  }
}
