import type { Pool } from 'pg';
import type { TrustedIssuerPin, TrustedIssuerRepository } from '../store';
import { toCertificatePin, type CertificatePinRow } from './certificate-pin-row';
import { insertOrExplain } from './pg-errors';

interface TrustedIssuerRow extends CertificatePinRow {
  issuer: string;
}

/** Pins of external token issuers' certificates, with their lifecycle state. */
export function postgresTrustedIssuers(pool: Pool): TrustedIssuerRepository {
  return {
    pin: (p) =>
      insertOrExplain(`pin ${p.thumbprint}`, () =>
        pool.query(
          `INSERT INTO trusted_issuers (thumbprint, issuer, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [p.thumbprint, p.issuer, p.certificatePem, p.createdAt, p.state, p.activateAt, p.retireAt, p.stateChangedAt],
        ),
      ),
    unpin: async (thumbprint) => (await pool.query('DELETE FROM trusted_issuers WHERE thumbprint = $1', [thumbprint])).rowCount === 1,
    list: async () => {
      const { rows } = await pool.query<TrustedIssuerRow>('SELECT * FROM trusted_issuers ORDER BY issuer COLLATE "C", created_at');
      return rows.map(toPin);
    },
    // One conditional UPDATE: PostgreSQL re-checks the state of a row another node changed meanwhile.
    setState: async (thumbprint, from, to, at) =>
      (
        await pool.query('UPDATE trusted_issuers SET state = $1, state_changed_at = $2 WHERE thumbprint = $3 AND state = ANY($4::text[])', [
          to,
          at,
          thumbprint,
          from,
        ])
      ).rowCount === 1,
  };
}

const toPin = (r: TrustedIssuerRow): TrustedIssuerPin => ({ ...toCertificatePin(r), issuer: r.issuer });
