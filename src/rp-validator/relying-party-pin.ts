import { X509Certificate } from 'node:crypto';
import { certificateThumbprintSha256 } from '../keys/signing-key';
import type { TrustedIssuerPin } from '../store/store';

/**
 * A certificate a relying party trusts to sign one issuer's assertions, with its lifecycle: the same
 * fields as Trustbridge's own pins (`sts trust pin`), so the same rules (pinVerdictAt) apply.
 */
export type RelyingPartyPin = Pick<TrustedIssuerPin, 'issuer' | 'thumbprint' | 'certificatePem' | 'state' | 'activateAt' | 'retireAt'>;

/** The lower-case hex SHA-256 of a PEM certificate's DER, as pins name it. */
export const thumbprintOfPem = (certificatePem: string): string => certificateThumbprintSha256(new X509Certificate(certificatePem).raw);

/**
 * `preferred` and then every pin of `fallback` for a certificate `preferred` does not mention: a
 * pins file's states (a revoked or pending entry) win over metadata, which can only say "active".
 */
export function combinePins(preferred: readonly RelyingPartyPin[], fallback: readonly RelyingPartyPin[]): RelyingPartyPin[] {
  const known = new Set(preferred.map((p) => p.thumbprint));
  return [...preferred, ...fallback.filter((p) => !known.has(p.thumbprint))];
}
