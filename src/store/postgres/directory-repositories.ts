import type { Pool } from 'pg';
import type { Claim, RelyingPartyProfile, RelyingPartyRecord, RelyingPartyRepository, UserRecord, UserRepository } from '../store';
import { insertOrExplain } from './pg-errors';

interface UserRow {
  name: string;
  password_hash: string;
  sealed_password: string | null;
  claims: Claim[];
  created_at: Date;
  failed_logins: number;
  last_failed_at: Date | null;
}
interface RelyingPartyRow {
  applies_to: string;
  display_name: string;
  token_lifetime_seconds: number;
  released_claims: string[];
  endpoint_url: string | null;
  name_id_format: string;
  expired_renewal_window_seconds: number;
  encryption_certificate_pem: string | null;
  token_encryption: 'aes256-cbc' | 'aes256-gcm';
  delegates: string[];
  audience: string | null;
  profile: RelyingPartyProfile;
  session_duration_seconds: number | null;
  created_at: Date;
}

/** Embedded users. Lists are the JSON arrays they are (jsonb); node-pg would turn a JS array into a SQL array, so they are passed as JSON text. */
export function postgresUsers(pool: Pool): UserRepository {
  return {
    add: (u) =>
      insertOrExplain(`user ${u.name}`, () =>
        pool.query('INSERT INTO users (name, password_hash, sealed_password, claims, created_at) VALUES ($1, $2, $3, $4, $5)', [
          u.name,
          u.passwordHash,
          u.sealedPassword,
          JSON.stringify(u.claims),
          u.createdAt,
        ]),
      ),
    get: async (name) => {
      const { rows } = await pool.query<UserRow>({ name: 'user-get', text: 'SELECT * FROM users WHERE name = $1', values: [name] });
      return rows[0] && toUser(rows[0]);
    },
    list: async () => (await pool.query<UserRow>('SELECT * FROM users ORDER BY name COLLATE "C"')).rows.map(toUser),
    // One statement, so concurrent counts from every node add up; the latest time is kept, as two
    // failures may be written in the other order (GREATEST ignores the NULL of a first failure).
    recordFailedLogin: async (name, at, windowStart) => {
      const { rows } = await pool.query<{ failed_logins: number }>({
        name: 'user-record-failed-login',
        text: `UPDATE users SET failed_logins = CASE WHEN last_failed_at <= $3 THEN 1 ELSE failed_logins + 1 END,
                 last_failed_at = GREATEST(last_failed_at, $2)
               WHERE name = $1 RETURNING failed_logins`,
        values: [name, at, windowStart],
      });
      return rows[0]?.failed_logins;
    },
    clearFailedLogins: async (name) => {
      await pool.query({
        name: 'user-clear-failed-logins',
        text: 'UPDATE users SET failed_logins = 0, last_failed_at = NULL WHERE name = $1 AND failed_logins <> 0',
        values: [name],
      });
    },
  };
}

export function postgresRelyingParties(pool: Pool): RelyingPartyRepository {
  return {
    add: (rp) =>
      insertOrExplain(`relying party ${rp.appliesTo}`, () =>
        pool.query(
          `INSERT INTO relying_parties (applies_to, display_name, token_lifetime_seconds, released_claims, endpoint_url,
             name_id_format, expired_renewal_window_seconds, encryption_certificate_pem, token_encryption, delegates, audience,
             profile, session_duration_seconds, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            rp.appliesTo,
            rp.displayName,
            rp.tokenLifetimeSeconds,
            JSON.stringify(rp.releasedClaims),
            rp.endpointUrl,
            rp.nameIdFormat,
            rp.expiredRenewalWindowSeconds,
            rp.encryptionCertificatePem,
            rp.tokenEncryption,
            JSON.stringify(rp.delegates),
            rp.audience,
            rp.profile,
            rp.sessionDurationSeconds,
            rp.createdAt,
          ],
        ),
      ),
    get: async (appliesTo) => {
      const { rows } = await pool.query<RelyingPartyRow>({
        name: 'relying-party-get',
        text: 'SELECT * FROM relying_parties WHERE applies_to = $1',
        values: [appliesTo],
      });
      return rows[0] && toRelyingParty(rows[0]);
    },
    list: async () => (await pool.query<RelyingPartyRow>('SELECT * FROM relying_parties ORDER BY applies_to COLLATE "C"')).rows.map(toRelyingParty),
  };
}

const toUser = (r: UserRow): UserRecord => ({
  name: r.name,
  passwordHash: r.password_hash,
  sealedPassword: r.sealed_password,
  claims: r.claims,
  createdAt: r.created_at,
  failedLogins: r.failed_logins,
  lastFailedAt: r.last_failed_at,
});

const toRelyingParty = (r: RelyingPartyRow): RelyingPartyRecord => ({
  appliesTo: r.applies_to,
  displayName: r.display_name,
  tokenLifetimeSeconds: r.token_lifetime_seconds,
  releasedClaims: r.released_claims,
  endpointUrl: r.endpoint_url,
  nameIdFormat: r.name_id_format,
  expiredRenewalWindowSeconds: r.expired_renewal_window_seconds,
  encryptionCertificatePem: r.encryption_certificate_pem,
  tokenEncryption: r.token_encryption,
  delegates: r.delegates,
  audience: r.audience,
  profile: r.profile,
  sessionDurationSeconds: r.session_duration_seconds,
  createdAt: r.created_at,
});
