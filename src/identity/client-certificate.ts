import { createHash, X509Certificate } from 'node:crypto';
import { FailedAuthenticationError } from '../core/errors';
import type { AuthenticatedSubject } from './subject';

export const CERTIFICATE_CLAIMS = {
  thumbprint: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/thumbprint',
  subjectDn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/x500distinguishedname',
  issuerDn: 'http://schemas.microsoft.com/2012/12/certificatecontext/field/issuer',
} as const;
const X509_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:X509';

export interface ClientCertificatePolicy {
  readonly authorities: readonly X509Certificate[];
  /** Lower-case hex SHA-256 thumbprints of certificates accepted on their own. */
  readonly pinned: ReadonlySet<string>;
}

/**
 * A client certificate is accepted when it is pinned by thumbprint, or issued and signed directly by
 * one of the configured CAs; either way it must be within its validity period. The certificate a
 * message carries is never trusted for being there.
 */
export function authenticateClientCertificate(
  certificate: X509Certificate,
  policy: ClientCertificatePolicy,
  now: Date,
): AuthenticatedSubject {
  const thumbprint = createHash('sha256').update(certificate.raw).digest('hex');
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
    throw new FailedAuthenticationError(`client certificate ${thumbprint} is outside its validity period`);
  }
  const pinned = policy.pinned.has(thumbprint);
  const issuedByTrustedCa = policy.authorities.some(
    (ca) => ca.ca && certificate.checkIssued(ca) && certificate.verify(ca.publicKey) && now <= new Date(ca.validTo),
  );
  if (!pinned && !issuedByTrustedCa) {
    throw new FailedAuthenticationError(`client certificate ${thumbprint} is neither pinned nor issued by a trusted CA`);
  }
  return {
    name: commonName(certificate.subject) ?? certificate.subject.replace(/\n/g, ', '),
    claims: [
      { name: CERTIFICATE_CLAIMS.thumbprint, value: createHash('sha1').update(certificate.raw).digest('hex').toUpperCase() },
      { name: CERTIFICATE_CLAIMS.subjectDn, value: certificate.subject.split('\n').reverse().join(', ') },
      { name: CERTIFICATE_CLAIMS.issuerDn, value: certificate.issuer.split('\n').reverse().join(', ') },
    ],
    authenticatedAt: now,
    authnContextClassRef: X509_CONTEXT,
  };
}

function commonName(subject: string): string | undefined {
  return subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3);
}
