import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, SIGNING_KEY_COMMON_NAME, unsealSigningKey } from '../keys/key-material';
import type { SigningKey } from '../keys/signing-key';
import type { SigningKeyRecord, Store } from '../store/store';
import { SIGNING_CERTIFICATE_EXPORT } from './paths';

/** Generates a token-signing key, seals its private half under the master key and stores it as active (a new instance's first key). */
export async function createActiveSigningKey(store: Store, masterKey: Buffer, commonName = SIGNING_KEY_COMMON_NAME): Promise<SigningKeyRecord> {
  return generateSigningKey(store.signingKeys, masterKey, { state: 'active', commonName });
}

/** The one key that signs now, unsealed for this process. */
export async function loadActiveSigningKey(store: Store, masterKey: Buffer): Promise<SigningKey> {
  const active = (await store.signingKeys.list()).filter((k) => k.state === 'active');
  if (active.length !== 1 || !active[0]) {
    throw new Error(`exactly one active token-signing key is required, found ${active.length}`);
  }
  return unsealSigningKey(active[0], masterKey);
}

/** Rewrites the instance's export of the active signing certificate (what `sts init` wrote), after a promotion. */
export async function exportActiveCertificate(home: string, store: Store): Promise<void> {
  const active = (await store.signingKeys.list()).find((k) => k.state === 'active');
  if (active) writeFileSync(join(home, SIGNING_CERTIFICATE_EXPORT), active.certificatePem);
}
