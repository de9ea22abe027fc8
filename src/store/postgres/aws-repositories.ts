import type { Pool } from 'pg';
import type { AwsRoleRecord, AwsRoleRepository, SamlProviderRecord, SamlProviderRepository, SamlReplayMode } from '../store';
import { insertOrExplain } from './pg-errors';

interface SamlProviderRow {
  name: string;
  entity_id: string;
  certificates: string[];
  replay: SamlReplayMode;
  created_at: Date;
}
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
          pool.query('INSERT INTO saml_providers (name, entity_id, certificates, replay, created_at) VALUES ($1, $2, $3, $4, $5)', [
            p.name,
            p.entityId,
            JSON.stringify(p.certificatesPem),
            p.replay,
            p.createdAt,
          ]),
        ),
      get: async (name) => {
        const { rows } = await pool.query<SamlProviderRow>({ name: 'saml-provider-get', text: 'SELECT * FROM saml_providers WHERE name = $1', values: [name] });
        return rows[0] && toProvider(rows[0]);
      },
      list: async () => (await pool.query<SamlProviderRow>('SELECT * FROM saml_providers ORDER BY name COLLATE "C"')).rows.map(toProvider),
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

const toProvider = (r: SamlProviderRow): SamlProviderRecord => ({
  name: r.name,
  entityId: r.entity_id,
  certificatesPem: r.certificates,
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
