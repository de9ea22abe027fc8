import { X509Certificate } from 'node:crypto';
import type { RelyingPartyProfile, Store } from '../store/store';
import { SAML2 } from '../xml/namespaces';

export interface NewRelyingParty {
  readonly appliesTo: string;
  readonly displayName?: string;
  readonly tokenLifetimeSeconds?: number;
  readonly releasedClaims?: readonly string[];
  readonly endpointUrl?: string;
  readonly nameIdFormat?: string;
  readonly expiredRenewalWindowSeconds?: number;
  readonly encryptionCertificatePem?: string;
  readonly tokenEncryption?: 'aes256-cbc' | 'aes256-gcm';
  readonly delegates?: readonly string[];
  readonly audience?: string;
  readonly profile?: RelyingPartyProfile;
  readonly sessionDurationSeconds?: number;
}

/** AD FS's default token lifetime for a relying party trust: 60 minutes. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
const MAX_TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600;

export async function addRelyingParty(store: Store, rp: NewRelyingParty): Promise<void> {
  requireAbsoluteUri('AppliesTo', rp.appliesTo);
  if (rp.endpointUrl !== undefined) requireAbsoluteUri('endpoint URL', rp.endpointUrl);
  const lifetime = rp.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetime) || lifetime < 60 || lifetime > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new Error(`the token lifetime must be whole seconds from 60 to ${MAX_TOKEN_LIFETIME_SECONDS}`);
  }
  const window = rp.expiredRenewalWindowSeconds ?? 0;
  if (!Number.isInteger(window) || window < 0 || window > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new Error(`the expired-token renewal window must be whole seconds from 0 to ${MAX_TOKEN_LIFETIME_SECONDS}`);
  }
  if (rp.encryptionCertificatePem !== undefined) requireRsaCertificate(rp.encryptionCertificatePem);
  if (rp.audience !== undefined) requireAbsoluteUri('audience', rp.audience);
  const sessionDuration = rp.sessionDurationSeconds;
  if (sessionDuration !== undefined && (!Number.isInteger(sessionDuration) || sessionDuration < 900 || sessionDuration > 43200)) {
    throw new Error('the session duration must be whole seconds from 900 to 43200, as AWS accepts');
  }
  await store.relyingParties.add({
    appliesTo: rp.appliesTo,
    displayName: rp.displayName ?? rp.appliesTo,
    tokenLifetimeSeconds: lifetime,
    releasedClaims: rp.releasedClaims ?? [],
    endpointUrl: rp.endpointUrl ?? null,
    nameIdFormat: rp.nameIdFormat ?? SAML2.nameIdUnspecified,
    expiredRenewalWindowSeconds: window,
    encryptionCertificatePem: rp.encryptionCertificatePem ?? null,
    tokenEncryption: rp.tokenEncryption ?? 'aes256-cbc',
    delegates: rp.delegates ?? [],
    audience: rp.audience ?? null,
    profile: rp.profile ?? 'generic',
    sessionDurationSeconds: sessionDuration ?? null,
    createdAt: new Date(),
  });
}

function requireAbsoluteUri(what: string, value: string): void {
  try {
    new URL(value);
  } catch {
    throw new Error(`the ${what} must be an absolute URI (got "${value}")`);
  }
}

function requireRsaCertificate(pem: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new Error('the encryption certificate is not a PEM X.509 certificate');
  }
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') {
    throw new Error('the encryption certificate must carry an RSA key (RSA-OAEP key transport)');
  }
}
