import type { Pool, PoolClient } from 'pg';
import {
  MAX_SAML_PROVIDER_CERTIFICATES,
  type AddCertificateResult,
  type AwsRoleRecord,
  type AwsRoleRepository,
  type CertificatePin,
  type SamlProviderRecord,
  type SamlProviderRepository,
  type SamlReplayMode,
} from '../store';
import { toCertificatePin, type CertificatePinRow } from './certificate-pin-row';
import { insertOrExplain, isForeignKeyViolation } from './pg-errors';
import { inTransaction } from './transaction';

interface SamlProviderRow {
  name: string;
  entity_id: string;
  replay: SamlReplayMode;
  created_at: Date;
}
interface ProviderCertificateRow extends CertificatePinRow {
  provider: string;
}

// The next position is computed in the INSERT; nothing is inserted when the provider does not exist.
const INSERT_CERTIFICATE = `INSERT INTO saml_provider_certificates
    (provider, thumbprint, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at, position)
  SELECT p.name, $2, $3, $4, $5, $6, $7, $8,
    (SELECT coalesce(max(position) + 1, 0) FROM saml_provider_certificates WHERE provider = p.name)
  FROM saml_providers p WHERE p.name = $1`;

const insertCertificate = async (db: Pool | PoolClient, provider: string, c: CertificatePin): Promise<boolean> =>
  (await db.query(INSERT_CERTIFICATE, [provider, c.thumbprint, c.certificatePem, c.createdAt, c.state, c.activateAt, c.retireAt, c.stateChangedAt]))
    .rowCount === 1;
/**
 * Counts the provider's certificates and adds one if it has fewer than the limit, in one transaction
 * holding the provider's row (FOR UPDATE): a second node adding to the same provider waits for this
 * one to commit, then counts what it added.
 */
const addCertificateUnderLimit = (pool: Pool, provider: string, c: CertificatePin): Promise<AddCertificateResult> =>
  inTransaction(pool, async (client) => {
    const locked = await client.query('SELECT 1 FROM saml_providers WHERE name = $1 FOR UPDATE', [provider]);
    if (locked.rowCount !== 1) return { outcome: 'no-provider' };
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM saml_provider_certificates WHERE provider = $1', [provider]);
    const certificates = rows[0]?.n ?? 0;
    if (certificates >= MAX_SAML_PROVIDER_CERTIFICATES) return { outcome: 'limit-reached', certificates };
    return (await insertCertificate(client, provider, c)) ? { outcome: 'added' } : { outcome: 'no-provider' };
  });

interface AwsRoleRow {
  name: string;
  role_id: string;
  trust_policy: string;
  max_session_duration_seconds: number;
  permissions_policy: string | null;
  created_at: Date;
}

/** The AWS API's tables: SAML providers and roles, as IAM keeps them. */
export function postgresAwsRepositories(pool: Pool): { samlProviders: SamlProviderRepository; awsRoles: AwsRoleRepository } {
  return {
    samlProviders: {
      add: (p) =>
        insertOrExplain(`SAML provider ${p.name}`, () =>
          inTransaction(pool, async (client) => {
            await client.query('INSERT INTO saml_providers (name, entity_id, replay, created_at) VALUES ($1, $2, $3, $4)', [
              p.name,
              p.entityId,
              p.replay,
              p.createdAt,
            ]);
            for (const c of p.certificates) await insertCertificate(client, p.name, c);
          }),
        ),
      get: async (name) => {
        const { rows } = await pool.query<SamlProviderRow>({ name: 'saml-provider-get', text: 'SELECT * FROM saml_providers WHERE name = $1', values: [name] });
        if (!rows[0]) return undefined;
        const certificates = await pool.query<ProviderCertificateRow>({
          name: 'saml-provider-certificates',
          text: 'SELECT * FROM saml_provider_certificates WHERE provider = $1 ORDER BY position',
          values: [name],
        });
        return toProvider(rows[0], certificates.rows);
      },
      list: async () => {
        const providers = await pool.query<SamlProviderRow>('SELECT * FROM saml_providers ORDER BY name COLLATE "C"');
        const certificates = await pool.query<ProviderCertificateRow>('SELECT * FROM saml_provider_certificates ORDER BY provider, position');
        return providers.rows.map((row) => toProvider(row, certificates.rows.filter((c) => c.provider === row.name)));
      },
      addCertificate: async (provider, c) => {
        let result: AddCertificateResult = { outcome: 'no-provider' };
        await insertOrExplain(`certificate ${c.thumbprint} of SAML provider ${provider}`, async () => {
          try {
            result = await addCertificateUnderLimit(pool, provider, c);
          } catch (err) {
            // The provider removed after the INSERT read it, before its foreign-key check: not added, as when it
            // was gone before. The transaction holds the provider's row, so only a trigger can do it.
            if (!isForeignKeyViolation(err)) throw err;
          }
        });
        return result;
      },
      getCertificate: async (provider, thumbprint) => {
        const { rows } = await pool.query<ProviderCertificateRow>({
          name: 'saml-provider-certificate-get',
          text: 'SELECT * FROM saml_provider_certificates WHERE provider = $1 AND thumbprint = $2',
          values: [provider, thumbprint],
        });
        return rows[0] && toCertificatePin(rows[0]);
      },
      // One conditional UPDATE: PostgreSQL re-checks the state of a row another node changed meanwhile.
      setCertificateState: async (provider, thumbprint, from, to, at) =>
        (
          await pool.query(
            'UPDATE saml_provider_certificates SET state = $1, state_changed_at = $2 WHERE provider = $3 AND thumbprint = $4 AND state = ANY($5::text[])',
            [to, at, provider, thumbprint, from],
          )
        ).rowCount === 1,
      removeCertificate: async (provider, thumbprint) =>
        (await pool.query('DELETE FROM saml_provider_certificates WHERE provider = $1 AND thumbprint = $2', [provider, thumbprint])).rowCount === 1,
    },
    awsRoles: {
      // The trust policy is kept as text, byte for byte: it is shown back and parsed by our own evaluator.
      add: (r) =>
        insertOrExplain(`role ${r.name}`, () =>
          pool.query(
            `INSERT INTO aws_roles (name, role_id, trust_policy, max_session_duration_seconds, permissions_policy, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [r.name, r.roleId, r.trustPolicy, r.maxSessionDurationSeconds, r.permissionsPolicy, r.createdAt],
          ),
        ),
      get: async (name) => {
        const { rows } = await pool.query<AwsRoleRow>({ name: 'aws-role-get', text: 'SELECT * FROM aws_roles WHERE name = $1', values: [name] });
        return rows[0] && toRole(rows[0]);
      },
      list: async () => (await pool.query<AwsRoleRow>('SELECT * FROM aws_roles ORDER BY name COLLATE "C"')).rows.map(toRole),
    },
  };
}

const toProvider = (r: SamlProviderRow, certificates: readonly ProviderCertificateRow[]): SamlProviderRecord => ({
  name: r.name,
  entityId: r.entity_id,
  certificates: certificates.map(toCertificatePin),
  replay: r.replay,
  createdAt: r.created_at,
});

const toRole = (r: AwsRoleRow): AwsRoleRecord => ({
  name: r.name,
  roleId: r.role_id,
  trustPolicy: r.trust_policy,
  maxSessionDurationSeconds: r.max_session_duration_seconds,
  permissionsPolicy: r.permissions_policy,
  createdAt: r.created_at,
});
