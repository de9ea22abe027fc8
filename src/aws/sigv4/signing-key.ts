import { createHmac } from 'node:crypto';

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
// Four HMACs per request add up, and a client signs many requests with one set of credentials on
// one day, so derived keys are kept in a small LRU keyed by everything they depend on.

export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export class SigningKeyCache {
  // A Map iterates in insertion order, so re-inserting on each hit keeps the least recently used first.
  readonly #entries = new Map<string, Buffer>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error('the signing key cache needs room for at least one key');
  }

  get(secretAccessKey: string, date: string, region: string, service: string): Buffer {
    // '/' cannot occur in a date, region or service that passed the scope checks, so the key is unambiguous.
    const cacheKey = `${date}/${region}/${service}/${secretAccessKey}`;
    const cached = this.#entries.get(cacheKey);
    if (cached !== undefined) {
      this.#entries.delete(cacheKey);
      this.#entries.set(cacheKey, cached);
      return cached;
    }
    const key = deriveSigningKey(secretAccessKey, date, region, service);
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(cacheKey, key);
    return key;
  }

  get size(): number {
    return this.#entries.size;
  }
}
