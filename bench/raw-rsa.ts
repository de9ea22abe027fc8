import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface RawRsaRates {
  readonly signsPerSecond: number;
  readonly verifiesPerSecond: number;
  /** Size of the signed buffer: about what a canonical ds:SignedInfo weighs. */
  readonly messageBytes: number;
}

const MESSAGE_BYTES = 600;
// The clock is read once per batch so that reading it costs nothing next to an RSA operation.
const BATCH = 8;

/**
 * Node's own RSA-2048 SHA-256 rate on one core, in this run: the ceiling that one worker's token
 * rate is compared against (every token costs exactly one such signature).
 */
export function measureRawRsa(signSeconds: number, verifySeconds: number): RawRsaRates {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = randomBytes(MESSAGE_BYTES);
  const signature = sign('sha256', message, privateKey);
  const signsPerSecond = ratePerSecond(signSeconds, () => sign('sha256', message, privateKey));
  const verifiesPerSecond = ratePerSecond(verifySeconds, () => {
    if (!verify('sha256', message, publicKey, signature)) throw new Error('RSA verification failed');
  });
  return { signsPerSecond, verifiesPerSecond, messageBytes: MESSAGE_BYTES };
}

/** Runs `op` in a tight loop for `seconds` (after a short warm-up) and returns operations per second. */
function ratePerSecond(seconds: number, op: () => unknown): number {
  runFor(0.2, op);
  const { count, elapsedMs } = runFor(seconds, op);
  return (count * 1000) / elapsedMs;
}

function runFor(seconds: number, op: () => unknown): { count: number; elapsedMs: number } {
  const start = performance.now();
  const end = start + seconds * 1000;
  let count = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < BATCH; i++) op();
    count += BATCH;
    now = performance.now();
  }
  return { count, elapsedMs: now - start };
}
