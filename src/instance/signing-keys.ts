import { certificateThumbprintSha256, loadSigningKey, type SigningKey } from '../keys/signing-key';
import { generateSelfSignedCertificate } from '../keys/certificates';
import { open, seal } from '../keys/sealed-box';
import type { SigningKeyRecord, Store } from '../store/store';
import { X509Certificate } from 'node:crypto';

const sealedKeyContext = (thumbprint: string): string => `trustbridge:signing-key:${thumbprint}`;

/** AD FS's default token-signing certificate lifetime. */
const SIGNING_CERTIFICATE_DAYS = 365;

/** Generates a token-signing key, seals its private half under the master key and stores it as active. */
export async function createActiveSigningKey(store: Store, masterKey: Buffer, commonName: string): Promise<SigningKeyRecord> {
  const generated = generateSelfSignedCertificate({ commonName, validDays: SIGNING_CERTIFICATE_DAYS });
  const thumbprint = certificateThumbprintSha256(new X509Certificate(generated.certificatePem).raw);
  const record: SigningKeyRecord = {
    thumbprint,
    state: 'active',
    certificatePem: generated.certificatePem,
    sealedPrivateKey: seal(Buffer.from(generated.privateKeyPem), masterKey, sealedKeyContext(thumbprint)),
    createdAt: new Date(),
  };
  await store.signingKeys.add(record);
  return record;
}

/** The one key that signs now, unsealed for this process. */
export async function loadActiveSigningKey(store: Store, masterKey: Buffer): Promise<SigningKey> {
  const active = (await store.signingKeys.list()).filter((k) => k.state === 'active');
  if (active.length !== 1 || !active[0]) {
    throw new Error(`exactly one active token-signing key is required, found ${active.length}`);
  }
  const record = active[0];
  const pem = open(record.sealedPrivateKey, masterKey, sealedKeyContext(record.thumbprint));
  try {
    return loadSigningKey(pem.toString('utf8'), record.certificatePem);
  } finally {
    pem.fill(0);
  }
}
