import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface GeneratedCertificate {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly validDays: number;
  /** DNS names and IP addresses for a TLS server certificate; absent for a token-signing certificate. */
  readonly subjectAltNames?: { readonly dns: readonly string[]; readonly ips: readonly string[] };
}

/**
 * An RSA-2048 key and self-signed certificate made with node-forge (forge hands key generation
 * to Node's native crypto, so this takes milliseconds, not seconds).
 */
export function generateSelfSignedCertificate(request: CertificateRequest): GeneratedCertificate {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // A positive 16-byte serial: the high bit cleared so DER does not read it as negative.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + request.validDays * 24 * 3600 * 1000);
  const name = [{ name: 'commonName', value: request.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const extensions: object[] = [{ name: 'basicConstraints', cA: false }];
  if (request.subjectAltNames) {
    extensions.push(
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...request.subjectAltNames.dns.map((value) => ({ type: 2, value })),
          ...request.subjectAltNames.ips.map((ip) => ({ type: 7, ip })),
        ],
      },
    );
  } else {
    extensions.push({ name: 'keyUsage', digitalSignature: true });
  }
  cert.setExtensions(extensions);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return {
    privateKeyPem: forge.pki.privateKeyToPem(keys.privateKey),
    certificatePem: forge.pki.certificateToPem(cert),
  };
}
