import { X509Certificate } from 'node:crypto';
import type { SigningKeyRecord, SigningKeyRepository, SigningKeyState } from '../store/store';
import { generateSelfSignedCertificate } from './certificates';
import { open, seal } from './sealed-box';
import { certificateThumbprintSha256, loadSigningKey, type SigningKey } from './signing-key';

// Token-signing key material at rest: generated here, sealed under the master key, and unsealed
// only into a KeyObject for the process that signs. A private key never leaves as text.

/** AD FS's default token-signing certificate lifetime. */
export const DEFAULT_SIGNING_CERTIFICATE_DAYS = 365;
export const SIGNING_KEY_COMMON_NAME = 'Trustbridge Token Signing';

const sealedKeyContext = (thumbprint: string): string => `trustbridge:signing-key:${thumbprint}`;

export interface NewSigningKeyOptions {
  readonly state: Extract<SigningKeyState, 'pending' | 'active'>;
  readonly commonName?: string;
  readonly validDays?: number;
  readonly now?: Date;
}

/** The certificate's expiry: the stored column, else read from the certificate (keys from before the column). */
export function certificateNotAfter(record: Pick<SigningKeyRecord, 'certificatePem' | 'notAfter'>): Date {
  return record.notAfter ?? new Date(new X509Certificate(record.certificatePem).validTo);
}

/** Generates an RSA-2048 key with a self-signed certificate, seals it and stores it in `state`. */
export async function generateSigningKey(repository: SigningKeyRepository, masterKey: Buffer, options: NewSigningKeyOptions): Promise<SigningKeyRecord> {
  const generated = generateSelfSignedCertificate({
    commonName: options.commonName ?? SIGNING_KEY_COMMON_NAME,
    validDays: options.validDays ?? DEFAULT_SIGNING_CERTIFICATE_DAYS,
  });
  return storeSigningKey(repository, masterKey, generated.privateKeyPem, generated.certificatePem, options.state, options.now ?? new Date());
}

/**
 * Seals and stores a key made elsewhere, as pending. The caller must have warned: a key that existed
 * before it reached us may exist somewhere else too.
 */
export async function importSigningKey(
  repository: SigningKeyRepository,
  masterKey: Buffer,
  privateKeyPem: string,
  certificatePem: string,
  now = new Date(),
): Promise<SigningKeyRecord> {
  // Throws when the key does not belong to the certificate.
  const key = loadSigningKey(privateKeyPem, certificatePem);
  if (key.notAfter.getTime() <= now.getTime()) throw new Error(`the certificate expired on ${key.notAfter.toISOString()}`);
  if (key.privateKey.asymmetricKeyType !== 'rsa') throw new Error('only RSA keys sign tokens here (RSA-SHA256)');
  return storeSigningKey(repository, masterKey, privateKeyPem, certificatePem, 'pending', now);
}

async function storeSigningKey(
  repository: SigningKeyRepository,
  masterKey: Buffer,
  privateKeyPem: string,
  certificatePem: string,
  state: 'pending' | 'active',
  now: Date,
): Promise<SigningKeyRecord> {
  const certificate = new X509Certificate(certificatePem);
  const thumbprint = certificateThumbprintSha256(certificate.raw);
  const record: SigningKeyRecord = {
    thumbprint,
    state,
    certificatePem,
    sealedPrivateKey: seal(Buffer.from(privateKeyPem), masterKey, sealedKeyContext(thumbprint)),
    createdAt: now,
    notAfter: new Date(certificate.validTo),
    ...(state === 'active' ? { activatedAt: now } : {}),
  };
  await repository.add(record);
  return record;
}

/** Opens a stored key for signing. */
export function unsealSigningKey(record: SigningKeyRecord, masterKey: Buffer): SigningKey {
  const pem = open(record.sealedPrivateKey, masterKey, sealedKeyContext(record.thumbprint));
  try {
    return loadSigningKey(pem.toString('utf8'), record.certificatePem);
  } finally {
    pem.fill(0);
  }
}
