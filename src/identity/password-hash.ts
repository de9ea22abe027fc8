import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** What `sts user add` uses: about 32 MiB and tens of milliseconds per hash. */
export const STRONG_SCRYPT: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };
/** The cheapest parameters a stored hash may carry; only the benchmark's user has them. */
export const CHEAPEST_SCRYPT: ScryptParameters = { N: 2, r: 1, p: 1 };
const MAX_N = 2 ** 20;
const KEY_LENGTH = 32;

// Below this much work (N·r·p) a hash takes microseconds, less than handing it to the thread pool costs.
const SYNC_WORK_LIMIT = 256;

function scryptOptions(params: ScryptParameters): ScryptOptions {
  return { ...params, maxmem: 256 * params.N * params.r + 16 * 1024 * 1024 };
}

function scryptAsync(password: string, salt: Buffer, params: ScryptParameters, options = scryptOptions(params)): Promise<Buffer> {
  if (params.N * params.r * params.p <= SYNC_WORK_LIMIT) {
    return Promise.resolve(scryptSync(password, salt, KEY_LENGTH, options));
  }
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, params: ScryptParameters = STRONG_SCRYPT): Promise<string> {
  checkParameters(params);
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check of a password against a stored `scrypt$N$r$p$salt$hash`. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStoredHash(stored);
  const actual = await scryptAsync(password, parsed.salt, parsed.params, parsed.options);
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

interface ParsedHash {
  readonly params: ScryptParameters;
  readonly salt: Buffer;
  readonly hash: Buffer;
  /** scrypt's options for these parameters, built once. */
  readonly options: ScryptOptions;
}

// Stored hashes parsed before, by their text: a user's hash is parsed once, not on every request.
// Bounded; emptied when full (an entry costs about 200 bytes).
const parsedHashes = new Map<string, ParsedHash>();
const PARSED_HASHES_MAX = 10_000;

function parseStoredHash(stored: string): ParsedHash {
  const known = parsedHashes.get(stored);
  if (known) return known;
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) throw new Error('unknown password hash format');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  checkParameters(params);
  const parsed = { params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64'), options: scryptOptions(params) };
  if (parsedHashes.size >= PARSED_HASHES_MAX) parsedHashes.clear();
  parsedHashes.set(stored, parsed);
  return parsed;
}

function checkParameters({ N, r, p }: ScryptParameters): void {
  const powerOfTwo = Number.isInteger(N) && N >= CHEAPEST_SCRYPT.N && N <= MAX_N && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) {
    throw new Error('scrypt parameters out of the accepted range');
  }
}
