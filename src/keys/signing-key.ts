import { createHash, createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';

/** A token-signing key ready for the hot path: the private key parsed once, the certificate pre-encoded. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certificatePem: string;
  /** DER of the certificate in base64, as it goes into ds:X509Certificate. */
  readonly certificateBase64: string;
  /** Lower-case hex SHA-256 of the certificate DER: the identity of the key everywhere in Trustbridge. */
  readonly thumbprintSha256: string;
  /** Upper-case hex SHA-1 of the certificate DER, as AD FS and Windows show certificate thumbprints. */
  readonly thumbprintSha1: string;
  readonly notAfter: Date;
}

export function certificateThumbprintSha256(certificateDer: Buffer): string {
  return createHash('sha256').update(certificateDer).digest('hex');
}

/** Builds a SigningKey from PEM text; throws if the key does not belong to the certificate. */
export function loadSigningKey(privateKeyPem: string, certificatePem: string): SigningKey {
  const certificate = new X509Certificate(certificatePem);
  const privateKey = createPrivateKey(privateKeyPem);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error('the token-signing private key does not match its certificate');
  }
  const der = certificate.raw;
  return {
    privateKey,
    publicKey: createPublicKey(certificatePem),
    certificatePem,
    certificateBase64: der.toString('base64'),
    thumbprintSha256: certificateThumbprintSha256(der),
    thumbprintSha1: createHash('sha1').update(der).digest('hex').toUpperCase(),
    notAfter: new Date(certificate.validTo),
  };
}
