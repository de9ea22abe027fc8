import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

// Schema versions, applied in order inside one transaction at open; PRAGMA user_version records
// how far a database has come.
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     sealed_password TEXT,
     claims TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE relying_parties (
     applies_to TEXT PRIMARY KEY,
     display_name TEXT NOT NULL,
     token_lifetime_seconds INTEGER NOT NULL,
     released_claims TEXT NOT NULL,
     endpoint_url TEXT,
     name_id_format TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE issuance_ledger (
     token_id TEXT PRIMARY KEY,
     token_type TEXT NOT NULL,
     subject TEXT NOT NULL,
     audience TEXT NOT NULL,
     key_thumbprint TEXT NOT NULL,
     digest TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     not_before INTEGER NOT NULL,
     not_on_or_after INTEGER NOT NULL,
     request_id TEXT NOT NULL
   );
   CREATE TABLE replay_cache (
     scope TEXT NOT NULL,
     key TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (scope, key)
   ) WITHOUT ROWID;
   CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);
   CREATE TABLE signing_keys (
     thumbprint TEXT PRIMARY KEY,
     state TEXT NOT NULL CHECK (state IN ('pending','active','retiring','retired','revoked')),
     certificate_pem TEXT NOT NULL,
     sealed_private_key TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  `ALTER TABLE issuance_ledger ADD COLUMN renewed_from TEXT;
   ALTER TABLE issuance_ledger ADD COLUMN renew_allow INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE issuance_ledger ADD COLUMN renew_after_expiry INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE issuance_ledger ADD COLUMN cancelled_at INTEGER;
   ALTER TABLE relying_parties ADD COLUMN expired_renewal_window_seconds INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE relying_parties ADD COLUMN encryption_certificate_pem TEXT;
   ALTER TABLE relying_parties ADD COLUMN token_encryption TEXT NOT NULL DEFAULT 'aes256-cbc'
     CHECK (token_encryption IN ('aes256-cbc', 'aes256-gcm'));
   ALTER TABLE relying_parties ADD COLUMN delegates TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE issuance_ledger ADD COLUMN actor TEXT;
   CREATE TABLE trusted_issuers (
     thumbprint TEXT PRIMARY KEY,
     issuer TEXT NOT NULL,
     certificate_pem TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  `ALTER TABLE relying_parties ADD COLUMN audience TEXT;
   ALTER TABLE relying_parties ADD COLUMN profile TEXT NOT NULL DEFAULT 'generic' CHECK (profile IN ('generic', 'aws'));
   ALTER TABLE relying_parties ADD COLUMN session_duration_seconds INTEGER;
   CREATE TABLE saml_providers (
     name TEXT PRIMARY KEY,
     entity_id TEXT NOT NULL,
     certificates TEXT NOT NULL,
     replay TEXT NOT NULL CHECK (replay IN ('off', 'once-per-role', 'once')),
     created_at INTEGER NOT NULL
   );
   CREATE TABLE aws_roles (
     name TEXT PRIMARY KEY,
     role_id TEXT NOT NULL UNIQUE,
     trust_policy TEXT NOT NULL,
     max_session_duration_seconds INTEGER NOT NULL,
     permissions_policy TEXT,
     created_at INTEGER NOT NULL
   );`,
  // The key lifecycle (pending → active → retiring → retired, revoked at any time). The partial unique
  // index makes "exactly one active key" a property of the database, whatever process writes.
  `ALTER TABLE signing_keys ADD COLUMN not_after INTEGER;
   ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
   ALTER TABLE signing_keys ADD COLUMN retiring_at INTEGER;
   ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
   ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;
   UPDATE signing_keys SET activated_at = created_at WHERE state = 'active';
   CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';`,
  // The ledger's hash chain (ledger-chain.ts), made append-only by triggers: rows cannot be deleted,
  // and a chained row's recorded fields cannot change (cancelled_at, state beside the chain, can).
  // Rows from before the chain get their links at open (chainUnlinkedLedgerRows). Pins gain the
  // key lifecycle; the audit trail gets its table, indexed for the queries `sts audit` makes.
  `ALTER TABLE issuance_ledger ADD COLUMN sequence INTEGER;
   ALTER TABLE issuance_ledger ADD COLUMN previous_hash TEXT;
   ALTER TABLE issuance_ledger ADD COLUMN entry_hash TEXT;
   CREATE UNIQUE INDEX issuance_ledger_sequence ON issuance_ledger (sequence);
   CREATE TRIGGER issuance_ledger_no_delete BEFORE DELETE ON issuance_ledger
     BEGIN SELECT RAISE(ABORT, 'the issuance ledger is append-only'); END;
   CREATE TRIGGER issuance_ledger_immutable BEFORE UPDATE OF token_id, token_type, subject, audience, key_thumbprint,
       digest, issued_at, not_before, not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor,
       sequence, previous_hash, entry_hash ON issuance_ledger WHEN OLD.sequence IS NOT NULL
     BEGIN SELECT RAISE(ABORT, 'issuance ledger entries cannot be changed'); END;
   ALTER TABLE trusted_issuers ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
     CHECK (state IN ('pending', 'active', 'retired', 'revoked'));
   ALTER TABLE trusted_issuers ADD COLUMN activate_at INTEGER;
   ALTER TABLE trusted_issuers ADD COLUMN retire_at INTEGER;
   ALTER TABLE trusted_issuers ADD COLUMN state_changed_at INTEGER;
   UPDATE trusted_issuers SET state_changed_at = created_at;
   CREATE TABLE audit_events (
     event_id TEXT PRIMARY KEY,
     event_time INTEGER NOT NULL,
     event_name TEXT NOT NULL,
     event_source TEXT NOT NULL,
     request_id TEXT,
     source_address TEXT,
     user_agent TEXT,
     principal TEXT,
     request_parameters TEXT,
     response_elements TEXT,
     additional_event_data TEXT,
     error_code TEXT,
     error_message TEXT,
     alert TEXT,
     severity TEXT NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (event_time);
   CREATE INDEX audit_events_principal ON audit_events (principal, event_time);
   CREATE INDEX audit_events_name ON audit_events (event_name, event_time);
   CREATE INDEX audit_events_alert ON audit_events (event_time) WHERE alert IS NOT NULL;`,
  // event_id loses its primary key: random UUIDs sent every insert to a random page of one more
  // index (a third of an event's cost), and nothing looks an event up by its id.
  `CREATE TABLE audit_events_v6 (
     event_id TEXT NOT NULL,
     event_time INTEGER NOT NULL,
     event_name TEXT NOT NULL,
     event_source TEXT NOT NULL,
     request_id TEXT,
     source_address TEXT,
     user_agent TEXT,
     principal TEXT,
     request_parameters TEXT,
     response_elements TEXT,
     additional_event_data TEXT,
     error_code TEXT,
     error_message TEXT,
     alert TEXT,
     severity TEXT NOT NULL
   );
   INSERT INTO audit_events_v6 SELECT * FROM audit_events ORDER BY rowid;
   DROP TABLE audit_events;
   ALTER TABLE audit_events_v6 RENAME TO audit_events;
   CREATE INDEX audit_events_time ON audit_events (event_time);
   CREATE INDEX audit_events_principal ON audit_events (principal, event_time);
   CREATE INDEX audit_events_name ON audit_events (event_name, event_time);
   CREATE INDEX audit_events_alert ON audit_events (event_time) WHERE alert IS NOT NULL;`,
  // SAML providers' certificates get the pins' lifecycle, one row each. Those registered before
  // (from metadata) become active, as they were trusted; pem_sha256 is registered by migrateSqlite.
  `CREATE TABLE saml_provider_certificates (
     provider TEXT NOT NULL REFERENCES saml_providers (name) ON DELETE CASCADE,
     thumbprint TEXT NOT NULL,
     certificate_pem TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'revoked')),
     activate_at INTEGER,
     retire_at INTEGER,
     state_changed_at INTEGER NOT NULL,
     position INTEGER NOT NULL,
     PRIMARY KEY (provider, thumbprint)
   ) WITHOUT ROWID;
   INSERT OR IGNORE INTO saml_provider_certificates
     (provider, thumbprint, certificate_pem, created_at, state, activate_at, retire_at, state_changed_at, position)
     SELECT p.name, pem_sha256(c.value), c.value, p.created_at, 'active', NULL, NULL, p.created_at, c.key
     FROM saml_providers p, json_each(p.certificates) c;
   ALTER TABLE saml_providers DROP COLUMN certificates;`,
  // The extranet lockout's count of wrong passwords, on the row every password check reads already.
  `ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE users ADD COLUMN last_failed_at INTEGER;`,
  // The chain is keyed (ledger-chain.ts): each row says how its hash was computed, and the rows
  // already there were plain SHA-256. No CHECK on the value: whoever can write rows can drop a CHECK,
  // and the verifier names a row whose scheme it does not know. The scheme is a recorded field like
  // the hashes, so the trigger guarding them now covers it.
  `ALTER TABLE issuance_ledger ADD COLUMN hash_scheme TEXT NOT NULL DEFAULT 'sha256';
   DROP TRIGGER issuance_ledger_immutable;
   CREATE TRIGGER issuance_ledger_immutable BEFORE UPDATE OF token_id, token_type, subject, audience, key_thumbprint,
       digest, issued_at, not_before, not_on_or_after, request_id, renewed_from, renew_allow, renew_after_expiry, actor,
       sequence, previous_hash, entry_hash, hash_scheme ON issuance_ledger WHEN OLD.sequence IS NOT NULL
     BEGIN SELECT RAISE(ABORT, 'issuance ledger entries cannot be changed'); END;`,
];

/** The SHA-256 thumbprint of a PEM certificate's DER bytes, as SQL function pem_sha256 for the migrations. */
function pemSha256(pem: unknown): string {
  const der = Buffer.from(String(pem).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex');
}

/**
 * Brings the schema up to date in one transaction (the version read inside it, so worker processes
 * opening a new database together take turns); a database from a newer Trustbridge is refused.
 */
export function migrateSqlite(db: Database.Database): void {
  db.function('pem_sha256', { deterministic: true }, pemSha256);
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(`the database schema (version ${current}) is newer than this Trustbridge understands`);
    }
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      db.exec(SQLITE_MIGRATIONS[v] ?? '');
    }
    if (current < SQLITE_MIGRATIONS.length) db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
  }).immediate();
}
