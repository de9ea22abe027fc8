import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// AES-256-GCM envelopes for secrets at rest (private keys, passwords kept for digest
// authentication). The associated data binds each envelope to what it protects, so a sealed value
// copied into another row or field does not open.

const VERSION = 'v1';
const TAG_BYTES = 16;

/** Whether `value` has the form of an envelope written by seal (not whether it opens). */
export function isSealedEnvelope(value: string): boolean {
  return /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]*$/.test(value);
}

export function seal(plaintext: Buffer, masterKey: Buffer, associatedData: string): string {
  requireKeyLength(masterKey);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export function open(envelope: string, masterKey: Buffer, associatedData: string): Buffer {
  requireKeyLength(masterKey);
  const [version, iv, tag, ciphertext] = envelope.split('.');
  if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('a sealed secret is not in a format this version understands');
  }
  const authTag = Buffer.from(tag, 'base64url');
  // A shortened tag would weaken the authentication; only the full 16 bytes are accepted.
  if (authTag.length !== TAG_BYTES) throw new Error('a sealed secret could not be opened: wrong master key, or the value was altered');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(authTag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  } catch {
    throw new Error('a sealed secret could not be opened: wrong master key, or the value was altered');
  }
}

function requireKeyLength(masterKey: Buffer): void {
  if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
}
