import type Database from 'better-sqlite3';
import type { PinState, TrustedIssuerPin, TrustedIssuerRepository } from '../store';
import { toCertificatePin, type CertificatePinRow } from './certificate-pin-row';

interface TrustedIssuerRow extends CertificatePinRow {
  issuer: string;
}

type InsertOrExplain = (what: string, run: () => void) => void;

/** Pins of external token issuers' certificates, with their lifecycle state. */
export function sqliteTrustedIssuers(db: Database.Database, insertOrExplain: InsertOrExplain): TrustedIssuerRepository {
  const st = {
    pin: db.prepare(
      `INSERT INTO trusted_issuers (thumbprint, issuer, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    unpin: db.prepare('DELETE FROM trusted_issuers WHERE thumbprint = ?'),
    list: db.prepare<[], TrustedIssuerRow>('SELECT * FROM trusted_issuers ORDER BY issuer, created_at'),
    get: db.prepare<[string], TrustedIssuerRow>('SELECT * FROM trusted_issuers WHERE thumbprint = ?'),
    setState: db.prepare('UPDATE trusted_issuers SET state = ?, state_changed_at = ? WHERE thumbprint = ?'),
  };
  const setState = db.transaction((thumbprint: string, from: readonly PinState[], to: PinState, at: Date): boolean => {
    const row = st.get.get(thumbprint);
    if (!row || !from.includes(row.state)) return false;
    st.setState.run(to, at.getTime(), thumbprint);
    return true;
  });
  return {
    pin: async (p) =>
      insertOrExplain(`pin ${p.thumbprint}`, () =>
        st.pin.run(
          p.thumbprint,
          p.issuer,
          p.certificatePem,
          p.createdAt.getTime(),
          p.state,
          p.activateAt?.getTime() ?? null,
          p.retireAt?.getTime() ?? null,
          p.stateChangedAt.getTime(),
        ),
      ),
    unpin: async (thumbprint) => st.unpin.run(thumbprint).changes === 1,
    list: async () => st.list.all().map(toPin),
    setState: async (thumbprint, from, to, at) => setState.immediate(thumbprint, from, to, at),
  };
}

const toPin = (r: TrustedIssuerRow): TrustedIssuerPin => ({ ...toCertificatePin(r), issuer: r.issuer });
