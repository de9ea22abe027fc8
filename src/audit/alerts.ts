// The alerts Trustbridge raises: each is an audit event with eventSource "detector" (or an admin
// change that is one), an error-level log line with an `alert` field, and a metric.

import type { AuditEvent } from '../store/store';

export const ALERTS = {
  /** A token signed by our key with no issuance-ledger entry: Golden SAML. */
  forgedToken: 'forged-token',
  /** A token whose ID is in the ledger but whose signed content (or claims) differ from what was recorded. */
  tokenClaimsMismatch: 'token-claims-mismatch',
  /** A token signed by one of our keys that is retired or revoked. */
  tokenFromRetiredKey: 'token-from-retired-key',
  tokenFromRevokedKey: 'token-from-revoked-key',
  /** A token of ours whose lifetime is longer than its relying party allows. */
  tokenLifetimeExceedsPolicy: 'token-lifetime-exceeds-policy',
  /** More Issue or AssumeRoleWithSAML requests from one principal or address than the configured rate. */
  requestBurst: 'request-burst',
  /** A user's wrong passwords reached the lockout threshold: their password is not checked until the observation window passes. */
  passwordLockout: 'password-lockout',
  /** Trust changes an attacker would make: a pin or trusted issuer added, a signing key imported. */
  trustedIssuerPinned: 'trusted-issuer-pinned',
  signingKeyImported: 'signing-key-imported',
  /** A signing certificate added to an AWS SAML provider (or a provider registered): a new signer AWS roles trust. */
  samlProviderCertificateAdded: 'saml-provider-certificate-added',
  /** A token-signing private key copied out of Trustbridge (`sts keys export --private-key`): what Golden SAML needs. */
  signingKeyExported: 'signing-key-exported',
} as const;

export type AlertName = (typeof ALERTS)[keyof typeof ALERTS];

export const ALERT_SEVERITY: Readonly<Record<AlertName, AuditEvent['severity']>> = {
  'forged-token': 'critical',
  'token-claims-mismatch': 'critical',
  'token-from-retired-key': 'high',
  'token-from-revoked-key': 'critical',
  'token-lifetime-exceeds-policy': 'high',
  'request-burst': 'high',
  'password-lockout': 'high',
  'trusted-issuer-pinned': 'high',
  'signing-key-imported': 'high',
  'saml-provider-certificate-added': 'high',
  'signing-key-exported': 'critical',
};
