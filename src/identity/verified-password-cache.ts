import { createHmac, randomBytes } from 'node:crypto';

// Why: a real user's password hash (STRONG_SCRYPT) costs about 70 ms of CPU to check, so a client
// that asks for a token per call (as WCF does when it does not cache tokens) would be bounded by
// scrypt, not by signing: about 14 checks per second per core. A password that verified against a
// user's stored hash is remembered for a while, so the same user sending the same password again
// skips the scrypt.
//
// What is kept is an HMAC under a key that lives only in this process's memory, of the user name,
// the stored hash and the password: nothing here reveals a password without that key, a changed
// password (a new stored hash) misses, and a wrong password always misses and pays the full scrypt.
// A hit is faster than a miss only for the right password, which the sender already knows.

export interface VerifiedPasswordCacheOptions {
  /** How long a verification is remembered. */
  readonly ttlMs: number;
  /** Entries at most; the oldest go first when full. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

export const VERIFIED_PASSWORD_TTL_MS = 5 * 60_000;
export const VERIFIED_PASSWORD_MAX_ENTRIES = 10_000;

export class VerifiedPasswordCache {
  private readonly key = randomBytes(32);
  /** Fingerprint → when it stops counting; in insertion order, so the first is the oldest. */
  private readonly verified = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: VerifiedPasswordCacheOptions = { ttlMs: VERIFIED_PASSWORD_TTL_MS, maxEntries: VERIFIED_PASSWORD_MAX_ENTRIES }) {
    this.now = options.now ?? Date.now;
  }

  /** Whether this password verified against this stored hash of this user within the TTL. */
  has(userName: string, storedHash: string, password: string): boolean {
    const fingerprint = this.fingerprint(userName, storedHash, password);
    const until = this.verified.get(fingerprint);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.verified.delete(fingerprint);
    return false;
  }

  /** Records a verification that succeeded (never a failed one). */
  remember(userName: string, storedHash: string, password: string): void {
    const fingerprint = this.fingerprint(userName, storedHash, password);
    this.verified.delete(fingerprint);
    while (this.verified.size >= this.options.maxEntries) {
      const oldest = this.verified.keys().next().value;
      if (oldest === undefined) break;
      this.verified.delete(oldest);
    }
    this.verified.set(fingerprint, this.now() + this.options.ttlMs);
  }

  get size(): number {
    return this.verified.size;
  }

  // Each field is length-prefixed, so no two different triples feed the HMAC the same bytes.
  private fingerprint(userName: string, storedHash: string, password: string): string {
    const mac = createHmac('sha256', this.key);
    for (const field of [userName, storedHash, password]) {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      mac.update(length).update(bytes);
    }
    return mac.digest('base64');
  }
}
