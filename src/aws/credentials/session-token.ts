import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { awsErrors } from '../aws-error';
import { decodeClaims, encodeClaims, type SessionClaims } from './session-claims';

// Session tokens are sealed, not looked up: the token is an AES-256-GCM envelope that carries the
// session's secret and claims, so any node holding the service key can verify a SigV4 signature
// without a database read. Layout, then standard base64 (AWS tokens use that alphabet):
//
//   version (1 byte) | key-id length (1 byte) | key id (ASCII) | IV (12) | ciphertext | tag (16)
//
// The version and key id are the associated data, so neither can be swapped without breaking the
// tag. keys/sealed-box is not reused: its dotted base64url text form and string AAD are made for
// values at rest, and this envelope must be one compact binary blob.

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Far above any real token (a typical one is ~500 characters); refuses a huge value before decoding it. */
const MAX_TOKEN_CHARS = 16_384;

/** The per-key-id session token key: HKDF-SHA256 of the instance master key, so every node derives the same one. */
export function deriveSessionTokenKey(masterKey: Buffer, keyId: string): Buffer {
  if (masterKey.length !== KEY_BYTES) throw new Error('the master key must be 32 bytes');
  checkKeyId(keyId);
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `trustbridge aws session token ${keyId}`, KEY_BYTES));
}

export interface SessionTokenKeys {
  /** The key id new tokens are sealed under. */
  readonly currentKeyId: string;
  /** Every key a token may still be sealed under (the current one and those being rotated out). */
  readonly keys: ReadonlyMap<string, Buffer>;
}

export class SessionTokenSealer {
  readonly #currentKeyId: string;
  readonly #currentHeader: Buffer;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor({ currentKeyId, keys }: SessionTokenKeys) {
    for (const [keyId, key] of keys) {
      checkKeyId(keyId);
      if (key.length !== KEY_BYTES) throw new Error(`the session token key ${keyId} must be 32 bytes`);
    }
    if (!keys.has(currentKeyId)) throw new Error(`the current session token key id ${currentKeyId} has no key`);
    this.#currentKeyId = currentKeyId;
    this.#currentHeader = header(currentKeyId);
    this.#keys = new Map(keys);
  }

  seal(claims: SessionClaims): string {
    const payload = encodeClaims(claims);
    // Refuse here what open() would refuse, so a bad issuance fails at once rather than on first use.
    if (decodeClaims(payload) === undefined) throw new Error('the session claims are not well-formed');
    const key = this.#keys.get(this.#currentKeyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.#currentHeader);
    const ciphertext = Buffer.concat([cipher.update(payload), cipher.final()]);
    return Buffer.concat([this.#currentHeader, iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  }

  /** Opens a session token, or throws InvalidClientTokenId for anything that is not exactly a token this service sealed. */
  open(token: string): SessionClaims {
    if (token.length > MAX_TOKEN_CHARS) throw awsErrors.invalidClientTokenId('session token: too long');
    const bytes = Buffer.from(token, 'base64');
    // Buffer.from skips characters outside the alphabet, reads base64url too, and ignores non-zero
    // padding bits; re-encoding gives back the input only for canonical standard base64.
    if (bytes.toString('base64') !== token) throw awsErrors.invalidClientTokenId('session token: not canonical standard base64');
    if (bytes.length < 2 || bytes[0] !== VERSION) throw awsErrors.invalidClientTokenId('session token: unknown version');
    const headerEnd = 2 + (bytes[1] as number);
    if (bytes.length < headerEnd + IV_BYTES + TAG_BYTES) throw awsErrors.invalidClientTokenId('session token: truncated');
    const keyId = bytes.toString('latin1', 2, headerEnd);
    const key = this.#keys.get(keyId);
    if (key === undefined) throw awsErrors.invalidClientTokenId('session token: unknown key id');
    const tagStart = bytes.length - TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(headerEnd, headerEnd + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(bytes.subarray(0, headerEnd));
    decipher.setAuthTag(bytes.subarray(tagStart));
    let payload: Buffer;
    try {
      payload = Buffer.concat([decipher.update(bytes.subarray(headerEnd + IV_BYTES, tagStart)), decipher.final()]);
    } catch {
      throw awsErrors.invalidClientTokenId('session token: the tag does not verify');
    }
    const claims = decodeClaims(payload);
    if (claims === undefined) throw awsErrors.invalidClientTokenId('session token: the payload is not well-formed claims');
    return claims;
  }
}

function header(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'latin1');
  return Buffer.concat([Buffer.from([VERSION, id.length]), id]);
}

function checkKeyId(keyId: string): void {
  if (!KEY_ID.test(keyId)) throw new Error('a session token key id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -');
}
