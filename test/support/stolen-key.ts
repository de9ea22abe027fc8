import { createPrivateKey, type KeyObject } from 'node:crypto';
import { open } from '../../src/keys/sealed-box';
import { loadSigningKey, type SigningKey } from '../../src/keys/signing-key';
import type { SigningKeyRecord, Store } from '../../src/store/store';

/**
 * A sealed signing key's private half as PEM: what an attacker holding the database and the master
 * key has (the Golden SAML precondition). Tests only; the product never takes a key out of its seal.
 */
export function unsealPrivateKeyPem(record: Pick<SigningKeyRecord, 'thumbprint' | 'sealedPrivateKey'>, masterKey: Buffer): string {
  // The associated data key-material.ts seals signing keys under.
  return open(record.sealedPrivateKey, masterKey, `trustbridge:signing-key:${record.thumbprint}`).toString('utf8');
}

/** A signing key for tests that forge with it: the product's signer, plus the raw private key (any hash, any recipe). */
export type TestSigningKey = SigningKey & { readonly privateKey: KeyObject; readonly privateKeyPem: string };

export function testSigningKey(privateKeyPem: string, certificatePem: string): TestSigningKey {
  return { ...loadSigningKey(privateKeyPem, certificatePem), privateKey: createPrivateKey(privateKeyPem), privateKeyPem };
}

/** The instance's active signing key, stolen: unsealed from the store with the master key. */
export async function stealActiveKey(instance: { readonly store: Store; readonly masterKey: Buffer }): Promise<TestSigningKey> {
  const record = (await instance.store.signingKeys.list()).find((k) => k.state === 'active');
  if (!record) throw new Error('the instance has no active signing key');
  return testSigningKey(unsealPrivateKeyPem(record, instance.masterKey), record.certificatePem);
}
