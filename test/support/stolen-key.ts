import { open } from '../../src/keys/sealed-box';
import type { SigningKeyRecord } from '../../src/store/store';

/**
 * A sealed signing key's private half as PEM: what an attacker holding the database and the master
 * key has (the Golden SAML precondition). Tests only; the product never takes a key out of its seal.
 */
export function unsealPrivateKeyPem(record: Pick<SigningKeyRecord, 'thumbprint' | 'sealedPrivateKey'>, masterKey: Buffer): string {
  // The associated data key-material.ts seals signing keys under.
  return open(record.sealedPrivateKey, masterKey, `trustbridge:signing-key:${record.thumbprint}`).toString('utf8');
}
