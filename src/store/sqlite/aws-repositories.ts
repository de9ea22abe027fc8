import type Database from 'better-sqlite3';
import {
  MAX_SAML_PROVIDER_CERTIFICATES,
  type AddCertificateResult,
  type AwsRoleRecord,
  type AwsRoleRepository,
  type CertificatePin,
  type PinState,
  type SamlProviderRecord,
  type SamlProviderRepository,
  type SamlReplayMode,
} from '../store';
import { toCertificatePin, type CertificatePinRow } from './certificate-pin-row';

interface SamlProviderRow {
  name: string;
  entity_id: string;
  replay: SamlReplayMode;
  created_at: number;
}
interface ProviderCertificateRow extends CertificatePinRow {
  provider: string;
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
    addProvider: db.prepare('INSERT INTO saml_providers (name, entity_id, replay, created_at) VALUES (?, ?, ?, ?)'),
    getProvider: db.prepare<[string], SamlProviderRow>('SELECT * FROM saml_providers WHERE name = ?'),
    listProviders: db.prepare<[], SamlProviderRow>('SELECT * FROM saml_providers ORDER BY name'),
    // The next position is computed in the INSERT; nothing is inserted when the provider does not exist.
    addCertificate: db.prepare(
      `INSERT INTO saml_provider_certificates
         (provider, thumbprint, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at, position)
       SELECT p.name, @thumbprint, @certificatePem, @createdAt, @state, @activateAt, @retireAt, @stateChangedAt,
         (SELECT coalesce(max(position) + 1, 0) FROM saml_provider_certificates WHERE provider = p.name)
       FROM saml_providers p WHERE p.name = @provider`,
    ),
    countCertificates: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM saml_provider_certificates WHERE provider = ?'),
    certificatesOf: db.prepare<[string], ProviderCertificateRow>(
      'SELECT * FROM saml_provider_certificates WHERE provider = ? ORDER BY position',
    ),
    allCertificates: db.prepare<[], ProviderCertificateRow>('SELECT * FROM saml_provider_certificates ORDER BY provider, position'),
    getCertificate: db.prepare<[string, string], ProviderCertificateRow>(
      'SELECT * FROM saml_provider_certificates WHERE provider = ? AND thumbprint = ?',
    ),
    setCertificateState: db.prepare(
      'UPDATE saml_provider_certificates SET state = ?, state_changed_at = ? WHERE provider = ? AND thumbprint = ?',
    ),
    removeCertificate: db.prepare('DELETE FROM saml_provider_certificates WHERE provider = ? AND thumbprint = ?'),
    addRole: db.prepare(
      `INSERT INTO aws_roles (name, role_id, trust_policy, max_session_duration_seconds, permissions_policy, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    getRole: db.prepare<[string], AwsRoleRow>('SELECT * FROM aws_roles WHERE name = ?'),
    listRoles: db.prepare<[], AwsRoleRow>('SELECT * FROM aws_roles ORDER BY name'),
  };
  const insertCertificate = (provider: string, c: CertificatePin): boolean =>
    st.addCertificate.run({
      provider,
      thumbprint: c.thumbprint,
      certificatePem: c.certificatePem,
      createdAt: c.createdAt.getTime(),
      state: c.state,
      activateAt: c.activateAt?.getTime() ?? null,
      retireAt: c.retireAt?.getTime() ?? null,
      stateChangedAt: c.stateChangedAt.getTime(),
    }).changes === 1;
  const addProvider = db.transaction((p: SamlProviderRecord): void => {
    st.addProvider.run(p.name, p.entityId, p.replay, p.createdAt.getTime());
    for (const c of p.certificates) insertCertificate(p.name, c);
  });
  // Run IMMEDIATE: the write lock is taken before the count is read, so another process's addition
  // waits (busy_timeout) instead of counting alongside. A deferred transaction, or one INSERT … SELECT,
  // would read a snapshot that a concurrent commit makes stale, and fail with SQLITE_BUSY_SNAPSHOT,
  // which no busy timeout retries.
  const addCertificate = db.transaction((provider: string, c: CertificatePin): AddCertificateResult => {
    if (!st.getProvider.get(provider)) return { outcome: 'no-provider' };
    const certificates = st.countCertificates.get(provider)?.n ?? 0;
    if (certificates >= MAX_SAML_PROVIDER_CERTIFICATES) return { outcome: 'limit-reached', certificates };
    return insertCertificate(provider, c) ? { outcome: 'added' } : { outcome: 'no-provider' };
  });
  const setCertificateState = db.transaction((provider: string, thumbprint: string, from: readonly PinState[], to: PinState, at: Date): boolean => {
    const row = st.getCertificate.get(provider, thumbprint);
    if (!row || !from.includes(row.state)) return false;
    st.setCertificateState.run(to, at.getTime(), provider, thumbprint);
    return true;
  });
  return {
    samlProviders: {
      add: async (p) => insertOrExplain(`SAML provider ${p.name}`, () => addProvider.immediate(p)),
      get: async (name) => {
        const row = st.getProvider.get(name);
        return row && toProvider(row, st.certificatesOf.all(name));
      },
      list: async () => {
        const certificates = st.allCertificates.all();
        return st.listProviders.all().map((row) => toProvider(row, certificates.filter((c) => c.provider === row.name)));
      },
      addCertificate: async (provider, c) => {
        let result: AddCertificateResult = { outcome: 'no-provider' };
        insertOrExplain(`certificate ${c.thumbprint} of SAML provider ${provider}`, () => {
          try {
            result = addCertificate.immediate(provider, c);
          } catch (err) {
            // The provider removed between the INSERT's read of it and its foreign-key check: not added, as when it
            // was gone before. The transaction holds the write lock, so only a trigger can do it.
            if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw err;
          }
        });
        return result;
      },
      getCertificate: async (provider, thumbprint) => {
        const row = st.getCertificate.get(provider, thumbprint);
        return row && toCertificatePin(row);
      },
      setCertificateState: async (provider, thumbprint, from, to, at) => setCertificateState.immediate(provider, thumbprint, from, to, at),
      removeCertificate: async (provider, thumbprint) => st.removeCertificate.run(provider, thumbprint).changes === 1,
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

const toProvider = (r: SamlProviderRow, certificates: readonly ProviderCertificateRow[]): SamlProviderRecord => ({
  name: r.name,
  entityId: r.entity_id,
  certificates: certificates.map(toCertificatePin),
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
