import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';
import { openssl } from './ext-trust';

/** A self-signed EC certificate from openssl (fast, unlike an RSA key): its PEM and SHA-256 thumbprint. */
export function quickCertificate(cn: string): { pem: string; thumbprint: string } {
  // It writes nothing (the key goes to /dev/null), so any directory does.
  const pem = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '2', '-keyout', '/dev/null'], tmpdir());
  return { pem, thumbprint: certificateThumbprintSha256(new X509Certificate(pem).raw) };
}
