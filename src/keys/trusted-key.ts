import { createPublicKey, X509Certificate } from 'node:crypto';
import type { TrustedKey } from '../xml/verify-signature';
import { certificateThumbprintSha256 } from './signing-key';

/** The verifier's view of a certificate we chose to trust (one of our signing keys, or a pin). */
export function trustedKeyFromCertificate(certificatePem: string): TrustedKey {
  const der = new X509Certificate(certificatePem).raw;
  return { thumbprintSha256: certificateThumbprintSha256(der), publicKey: createPublicKey(certificatePem) };
}
