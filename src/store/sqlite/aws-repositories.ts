import type Database from 'better-sqlite3';
import type { AwsRoleRecord, AwsRoleRepository, SamlProviderRecord, SamlProviderRepository, SamlReplayMode } from '../store';

interface SamlProviderRow {
  name: string;
  entity_id: string;
  certificates: string;
  replay: SamlReplayMode;
  created_at: number;
}
interface AwsRoleRow {
  name: string;
  role_id: string;
  trust_policy: string;
  max_session_duration_seconds: number;
  permissions_policy: string | null;
  created_at: number;
}

type InsertOrExplain = (what: string, run: () => void) => void;

/** The AWS API's tables: SAML providers and roles, as IAM keeps them. */
export function awsRepositories(
  db: Database.Database,
  insertOrExplain: InsertOrExplain,
): { samlProviders: SamlProviderRepository; awsRoles: AwsRoleRepository } {
  const st = {
    addProvider: db.prepare(
      'INSERT INTO saml_providers (name, entity_id, certificates, replay, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getProvider: db.prepare<[string], SamlProviderRow>('SELECT * FROM saml_providers WHERE name = ?'),
    listProviders: db.prepare<[], SamlProviderRow>('SELECT * FROM saml_providers ORDER BY name'),
    addRole: db.prepare(
      `INSERT INTO aws_roles (name, role_id, trust_policy, max_session_duration_seconds, permissions_policy, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    getRole: db.prepare<[string], AwsRoleRow>('SELECT * FROM aws_roles WHERE name = ?'),
    listRoles: db.prepare<[], AwsRoleRow>('SELECT * FROM aws_roles ORDER BY name'),
  };
  return {
    samlProviders: {
      add: async (p) =>
        insertOrExplain(`SAML provider ${p.name}`, () =>
          st.addProvider.run(p.name, p.entityId, JSON.stringify(p.certificatesPem), p.replay, p.createdAt.getTime()),
        ),
      get: async (name) => {
        const row = st.getProvider.get(name);
        return row && toProvider(row);
      },
      list: async () => st.listProviders.all().map(toProvider),
    },
    awsRoles: {
      add: async (r) =>
        insertOrExplain(`role ${r.name}`, () =>
          st.addRole.run(r.name, r.roleId, r.trustPolicy, r.maxSessionDurationSeconds, r.permissionsPolicy, r.createdAt.getTime()),
        ),
      get: async (name) => {
        const row = st.getRole.get(name);
        return row && toRole(row);
      },
      list: async () => st.listRoles.all().map(toRole),
    },
  };
}

const toProvider = (r: SamlProviderRow): SamlProviderRecord => ({
  name: r.name,
  entityId: r.entity_id,
  certificatesPem: JSON.parse(r.certificates) as string[],
  replay: r.replay,
  createdAt: new Date(r.created_at),
});

const toRole = (r: AwsRoleRow): AwsRoleRecord => ({
  name: r.name,
  roleId: r.role_id,
  trustPolicy: r.trust_policy,
  maxSessionDurationSeconds: r.max_session_duration_seconds,
  permissionsPolicy: r.permissions_policy,
  createdAt: new Date(r.created_at),
});
