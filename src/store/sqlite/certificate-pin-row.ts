import type { CertificatePin, PinState } from '../store';

/** The columns every table of certificates with a pin's lifecycle has: trusted_issuers and saml_provider_certificates. */
export interface CertificatePinRow {
  thumbprint: string;
  certificate_pem: string;
  created_at: number;
  state: PinState;
  activate_at: number | null;
  retire_at: number | null;
  /** Nullable in trusted_issuers, where it was added later (its migration filled it from created_at). */
  state_changed_at: number | null;
}

/** A row of either table as the CertificatePin it stores (the table's own columns, such as the issuer, are the caller's). */
export const toCertificatePin = (r: CertificatePinRow): CertificatePin => ({
  thumbprint: r.thumbprint,
  certificatePem: r.certificate_pem,
  createdAt: new Date(r.created_at),
  state: r.state,
  activateAt: r.activate_at === null ? null : new Date(r.activate_at),
  retireAt: r.retire_at === null ? null : new Date(r.retire_at),
  stateChangedAt: new Date(r.state_changed_at ?? r.created_at),
});
