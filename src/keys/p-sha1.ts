import { createHmac } from 'node:crypto';

/**
 * P_SHA1 from TLS 1.0 (RFC 2246 section 5), as WS-Trust's computed key uses it:
 * key = P_SHA1(requestor entropy as the secret, issuer entropy as the seed), cut to `length` bytes.
 */
export function pSha1(secret: Buffer, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  let a = seed;
  while (produced < length) {
    a = createHmac('sha1', secret).update(a).digest();
    const block = createHmac('sha1', secret).update(a).update(seed).digest();
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}
