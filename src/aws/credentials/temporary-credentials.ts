import { randomBytes } from 'node:crypto';
import type { SessionClaims } from './session-claims';
import type { SessionTokenSealer } from './session-token';

// Identifiers shaped as AWS's, so SDKs, CLIs and log parsers that check their form accept them:
// temporary access key ids are ASIA + 16, role ids AROA + 17 characters of uppercase base32, and
// secret access keys 40 characters of the base64 alphabet.

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface TemporaryCredentials {
  readonly claims: SessionClaims;
  /** The sealed session token (AWS's SessionToken), to hand to the caller with the key id and secret. */
  readonly sessionToken: string;
}

/** Mints a fresh access key id and secret for a session and seals them with its claims. */
export function newTemporaryCredentials(
  sealer: SessionTokenSealer,
  session: Omit<SessionClaims, 'accessKeyId' | 'secretAccessKey'>,
): TemporaryCredentials {
  const claims: SessionClaims = {
    ...session,
    accessKeyId: `ASIA${randomBase32(16)}`,
    // 30 random bytes are exactly 40 base64 characters, without padding.
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  return { claims, sessionToken: sealer.seal(claims) };
}

export function newRoleId(): string {
  return `AROA${randomBase32(17)}`;
}

/** `length` characters of uppercase base32 (RFC 4648 alphabet) from fresh random bytes, 5 bits each. */
function randomBase32(length: number): string {
  const bytes = randomBytes(Math.ceil((length * 5) / 8));
  let out = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      bits -= 5;
      out += BASE32[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
