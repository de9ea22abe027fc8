import type { Pool } from 'pg';
import { ADVISORY_LOCK_SPACE, MIGRATIONS_LOCK } from './advisory-locks';
import { inTransaction } from './transaction';

// Schema versions of the PostgreSQL store, applied in order at start-up; schema_migrations records
// which ran. Version 1 is the whole schema SQLite reached in its five versions: there are no older
// PostgreSQL databases to carry forward. Later versions follow SQLite's from its sixth on. Text ordering in queries uses COLLATE "C" so lists come
// out in the same (byte) order as SQLite's, whatever the database's locale.
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     name text PRIMARY KEY,
     password_hash text NOT NULL,
     sealed_password text,
     claims jsonb NOT NULL,
     created_at timestamptz NOT NULL
   );
   CREATE TABLE relying_parties (
     applies_to text PRIMARY KEY,
     display_name text NOT NULL,
     token_lifetime_seconds integer NOT NULL,
     released_claims jsonb NOT NULL,
     endpoint_url text,
     name_id_format text NOT NULL,
     expired_renewal_window_seconds integer NOT NULL,
     encryption_certificate_pem text,
     token_encryption text NOT NULL CHECK (token_encryption IN ('aes256-cbc', 'aes256-gcm')),
     delegates jsonb NOT NULL,
     audience text,
     profile text NOT NULL CHECK (profile IN ('generic', 'aws')),
     session_duration_seconds integer,
     created_at timestamptz NOT NULL
   );

   -- The issuance ledger: a hash chain (ledger-chain.ts) with a gapless sequence. The sequence is
   -- not a PostgreSQL SEQUENCE (those leave gaps on rollback): the appender reads the head under an
   -- advisory lock and writes head + 1. UNIQUE makes a fork impossible even for a writer that skips the lock.
   CREATE TABLE issuance_ledger (
     token_id text PRIMARY KEY,
     sequence bigint NOT NULL UNIQUE CHECK (sequence > 0),
     token_type text NOT NULL,
     subject text NOT NULL,
     audience text NOT NULL,
     key_thumbprint text NOT NULL,
     digest text NOT NULL,
     issued_at timestamptz NOT NULL,
     not_before timestamptz NOT NULL,
     not_on_or_after timestamptz NOT NULL,
     request_id text NOT NULL,
     renewed_from text,
     renew_allow boolean NOT NULL,
     renew_after_expiry boolean NOT NULL,
     actor text,
     previous_hash text NOT NULL,
     entry_hash text NOT NULL,
     cancelled_at timestamptz
   );
   -- Append-only: no DELETE, no TRUNCATE, and an UPDATE may change cancelled_at (state beside the
   -- chain) and nothing else. Comparing whole rows minus cancelled_at keeps any column added later
   -- immutable too, unless a migration says otherwise here.
   CREATE FUNCTION issuance_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'UPDATE' THEN
       IF (to_jsonb(NEW) - 'cancelled_at') IS DISTINCT FROM (to_jsonb(OLD) - 'cancelled_at') THEN
         RAISE EXCEPTION 'issuance ledger entries cannot be changed' USING ERRCODE = 'integrity_constraint_violation';
       END IF;
       RETURN NEW;
     END IF;
     RAISE EXCEPTION 'the issuance ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
   END
   $$;
   CREATE TRIGGER issuance_ledger_no_change BEFORE UPDATE OR DELETE ON issuance_ledger
     FOR EACH ROW EXECUTE FUNCTION issuance_ledger_append_only();
   CREATE TRIGGER issuance_ledger_no_truncate BEFORE TRUNCATE ON issuance_ledger
     FOR EACH STATEMENT EXECUTE FUNCTION issuance_ledger_append_only();

   CREATE TABLE replay_cache (
     scope text NOT NULL,
     key text NOT NULL,
     expires_at timestamptz NOT NULL,
     PRIMARY KEY (scope, key)
   );
   CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);

   -- Exactly one active key is a property of the database, whichever node writes.
   CREATE TABLE signing_keys (
     thumbprint text PRIMARY KEY,
     state text NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired', 'revoked')),
     certificate_pem text NOT NULL,
     sealed_private_key text NOT NULL,
     created_at timestamptz NOT NULL,
     not_after timestamptz,
     activated_at timestamptz,
     retiring_at timestamptz,
     retired_at timestamptz,
     revoked_at timestamptz
   );
   CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

   CREATE TABLE trusted_issuers (
     thumbprint text PRIMARY KEY,
     issuer text NOT NULL,
     certificate_pem text NOT NULL,
     created_at timestamptz NOT NULL,
     state text NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'revoked')),
     activate_at timestamptz,
     retire_at timestamptz,
     state_changed_at timestamptz NOT NULL
   );

   CREATE TABLE saml_providers (
     name text PRIMARY KEY,
     entity_id text NOT NULL,
     certificates jsonb NOT NULL,
     replay text NOT NULL CHECK (replay IN ('off', 'once-per-role', 'once')),
     created_at timestamptz NOT NULL
   );
   CREATE TABLE aws_roles (
     name text PRIMARY KEY,
     role_id text NOT NULL UNIQUE,
     trust_policy text NOT NULL,
     max_session_duration_seconds integer NOT NULL,
     permissions_policy text,
     created_at timestamptz NOT NULL
   );

   -- The audit trail. Its JSON columns are json, not jsonb: they keep exactly what was written, and
   -- json accepts every string JSON.stringify produces (jsonb refuses \\u0000, which a hostile request
   -- can put in a parameter). position orders events written in the same millisecond.
   CREATE TABLE audit_events (
     position bigint GENERATED ALWAYS AS IDENTITY,
     event_id text PRIMARY KEY,
     event_time timestamptz NOT NULL,
     event_name text NOT NULL,
     event_source text NOT NULL,
     request_id text,
     source_address text,
     user_agent text,
     principal text,
     request_parameters json,
     response_elements json,
     additional_event_data json,
     error_code text,
     error_message text,
     alert text,
     severity text NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (event_time, position);
   CREATE INDEX audit_events_principal ON audit_events (principal, event_time);
   CREATE INDEX audit_events_name ON audit_events (event_name, event_time);
   CREATE INDEX audit_events_alert ON audit_events (event_time) WHERE alert IS NOT NULL;`,
  // As SQLite's version 6: no index on the random event_id, which nothing looks events up by.
  `ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
   ALTER TABLE audit_events ALTER COLUMN event_id SET NOT NULL;`,
  // SAML providers' certificates get the pins' lifecycle, one row each; those registered before
  // (from metadata) become active, as they were trusted. The thumbprint is the SHA-256 of the DER.
  `CREATE TABLE saml_provider_certificates (
     provider text NOT NULL REFERENCES saml_providers (name) ON DELETE CASCADE,
     thumbprint text NOT NULL,
     certificate_pem text NOT NULL,
     created_at timestamptz NOT NULL,
     state text NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'revoked')),
     activate_at timestamptz,
     retire_at timestamptz,
     state_changed_at timestamptz NOT NULL,
     position integer NOT NULL,
     PRIMARY KEY (provider, thumbprint)
   );
   INSERT INTO saml_provider_certificates
     (provider, thumbprint, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at, position)
     SELECT p.name, encode(sha256(decode(regexp_replace(c.pem, '-----[^-]+-----|\\s', '', 'g'), 'base64')), 'hex'),
       c.pem, p.created_at, 'active', NULL, NULL, p.created_at, c.ordinality - 1
     FROM saml_providers p, jsonb_array_elements_text(p.certificates) WITH ORDINALITY AS c(pem, ordinality)
     ON CONFLICT DO NOTHING;
   ALTER TABLE saml_providers DROP COLUMN certificates;`,
  // As SQLite's version 8: the extranet lockout's count of wrong passwords, on the row every password check reads.
  `ALTER TABLE users ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
     ADD COLUMN last_failed_at timestamptz;`,
  // As SQLite's version 9: each row says how its hash was computed (ledger-chain.ts), the rows already
  // there plain SHA-256. The default only fills those: a new row must name its scheme. The append-only
  // trigger compares whole rows, so it covers the new column as it is.
  `ALTER TABLE issuance_ledger ADD COLUMN hash_scheme text NOT NULL DEFAULT 'sha256';
   ALTER TABLE issuance_ledger ALTER COLUMN hash_scheme DROP DEFAULT;`,
];

/**
 * Brings the schema up to date, in one transaction under an advisory lock: nodes starting together
 * take turns, and the second finds the work done. A database from a newer Trustbridge is refused.
 */
export async function migratePostgres(pool: Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_SPACE, MIGRATIONS_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::integer AS version FROM schema_migrations');
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(`the database schema (version ${current}) is newer than this Trustbridge understands`);
    }
    for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
      await client.query(POSTGRES_MIGRATIONS[v] ?? '');
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
    }
  });
}
