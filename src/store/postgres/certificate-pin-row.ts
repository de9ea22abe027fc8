import type { CertificatePin, PinState } from '../store';

/** The columns every table of certificates with a pin's lifecycle has: trusted_issuers and saml_provider_certificates. */
export interface CertificatePinRow {
  thumbprint: string;
  certificate_pem: string;
  created_at: Date;
  state: PinState;
  activate_at: Date | null;
  retire_at: Date | null;
  state_changed_at: Date;
}

/** A row of either table as the CertificatePin it stores (the table's own columns, such as the issuer, are the caller's). */
export const toCertificatePin = (r: CertificatePinRow): CertificatePin => ({
  thumbprint: r.thumbprint,
  certificatePem: r.certificate_pem,
  createdAt: r.created_at,
  state: r.state,
  activateAt: r.activate_at,
  retireAt: r.retire_at,
  stateChangedAt: r.state_changed_at,
});
