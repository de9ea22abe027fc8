// Records as the store tests write them: the Store contract and the tests particular to one store.
// Each takes overrides for what a test depends on, so the defaults stay the contract's.
import type { CertificatePin, LedgerEntryInput } from '../../src/store/store';

/** The fixed time the fixtures are stamped with. */
export const T0 = new Date('2030-01-01T00:00:00.123Z');

/** A ledger entry as Issue records one. */
export const ledgerEntry = (tokenId: string, extra: Partial<LedgerEntryInput> = {}): LedgerEntryInput => ({
  tokenId,
  tokenType: 'urn:oasis:names:tc:SAML:2.0:assertion',
  subject: 'alice',
  audience: 'https://app.example/',
  keyThumbprint: 'ab'.repeat(32),
  digest: 'ZGlnZXN0',
  issuedAt: T0,
  notBefore: T0,
  notOnOrAfter: new Date(T0.getTime() + 600_000),
  requestId: 'req-1',
  renewedFrom: null,
  renewAllow: true,
  renewAfterExpiry: false,
  actor: null,
  ...extra,
});

/** A SAML provider's certificate, active; its PEM only carries the thumbprint (the store does not parse it). */
export const providerCertificate = (thumbprint: string, extra: Partial<CertificatePin> = {}): CertificatePin => ({
  thumbprint,
  certificatePem: `-----BEGIN CERTIFICATE-----\n${thumbprint.toUpperCase()}\n-----END CERTIFICATE-----\n`,
  createdAt: T0,
  state: 'active',
  activateAt: null,
  retireAt: null,
  stateChangedAt: T0,
  ...extra,
});
