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
];
