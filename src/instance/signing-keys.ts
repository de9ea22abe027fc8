import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigningKeyCustody } from '../keys/key-custody';
import { generateSigningKey, SIGNING_KEY_COMMON_NAME } from '../keys/key-material';
import type { SigningKeyRecord, Store } from '../store/store';
import { SIGNING_CERTIFICATE_EXPORT } from './paths';

/** Has the custody generate a token-signing key and stores it as active (a new instance's first key). */
export async function createActiveSigningKey(store: Store, custody: SigningKeyCustody, commonName = SIGNING_KEY_COMMON_NAME): Promise<SigningKeyRecord> {
  return generateSigningKey(store.signingKeys, custody, { state: 'active', commonName });
}

/** Rewrites the instance's export of the active signing certificate (what `sts init` wrote), after a promotion. */
export async function exportActiveCertificate(home: string, store: Store): Promise<void> {
  const active = (await store.signingKeys.list()).find((k) => k.state === 'active');
  if (active) writeFileSync(join(home, SIGNING_CERTIFICATE_EXPORT), active.certificatePem);
}
