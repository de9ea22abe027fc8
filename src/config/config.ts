// The instance's config file: its shape, its defaults and the checks that run at start-up.

import { ConfigError } from './config-error';
import { parseLdapConfig, type LdapConfig } from './ldap-config';
import { DEFAULT_PASSWORD_CHECK_LIMITS, type PasswordCheckLimits } from '../identity/password-check-limiter';
import { DEFAULT_PASSWORD_LOCKOUT, type PasswordLockoutPolicy } from '../identity/password-lockout';
/** Where token-signing private keys live: sealed under the master key (default), or in a PKCS#11 token. */
export type SigningKeyCustodyConfig =
  | { readonly kind: 'sealed' }
  | {
      readonly kind: 'pkcs11';
      /** The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
      readonly module: string;
      readonly tokenLabel: string;
      /** The environment variable holding the user PIN (e.g. STS_PKCS11_PIN)... */
      readonly pinEnv?: string;
      /** ...or a file holding it (mode 600), relative to the instance directory. */
      readonly pinFile?: string;
    };
import { parsePostgresUrl } from '../store/postgres/connection-settings';

export interface StsConfig {
  /** production refuses to start while a private key or the master key lies in clear; development allows it. */
  readonly mode: 'development' | 'production';
  /** The entity ID in every token's Issuer and in the metadata. */
  readonly issuer: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The HTTPS base URL clients reach us at, used in mex and metadata; derived from listen when empty. */
  readonly publicBaseUrl: string;
  readonly tls: {
    readonly certificateFile: string;
    readonly privateKeyFile: string;
    /** A file holding the passphrase of an encrypted privateKeyFile ('' for none; STS_TLS_KEY_PASSPHRASE overrides). */
    readonly privateKeyPassphraseFile: string;
  };
  readonly store: {
    /** sqlite: one file, the processes of one host; postgres: one database shared by several nodes. */
    readonly kind: 'sqlite' | 'postgres';
    /** sqlite: the database file. */
    readonly path: string;
    /** postgres: postgres://USER@HOST:PORT/DATABASE[?sslmode=require|verify-full[&sslrootcert=FILE]], without a password. */
    readonly url: string;
    /** postgres: connections each process keeps open at most. */
    readonly poolSize: number;
    /** postgres: the file holding the password; STS_PG_PASSWORD overrides it; empty: none. */
    readonly passwordFile: string;
    /**
     * sqlite: how long a write waits for another process's write lock before it fails (SQLite's
     * busy_timeout). Either store: an `sts` command keeps trying to store its audit events for
     * twice this (src/cli/with-instance.ts).
     */
    readonly busyTimeoutMs: number;
  };
  readonly masterKeyFile: string;
  readonly signingKeyCustody: SigningKeyCustodyConfig;
  readonly clockSkewSeconds: number;
  /** How old a UsernameToken's Created may be; its nonce is remembered this long (plus skew). */
  readonly usernameTokenMaxAgeSeconds: number;
  readonly workers: number;
  /** How long a stopping process lets requests in flight finish before it cuts them off. */
  readonly shutdownTimeoutSeconds: number;
  /**
   * How long a stopping process stays up, not ready (/readyz 503) but still serving, before it stops
   * accepting connections: time for a load balancer polling /readyz to take it out of rotation.
   */
  readonly shutdownDelaySeconds: number;
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly maxDepth: number;
    readonly maxElements: number;
    readonly maxAttributesPerElement: number;
    /** Requests each process works on at once once their body is read (0: no limit); why, at requestTurns (src/server/app.ts). */
    readonly maxConcurrentRequests: number;
    /**
     * With maxConcurrentRequests set, requests each process holds waiting for a turn; one more is
     * refused at once as busy (WS-Trust RequestFailed, AWS Throttling) rather than queued.
     */
    readonly maxQueuedRequests: number;
  };
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Who may authenticate at certificatemixed: certificates issued by these CAs, or pinned by SHA-256 thumbprint. */
  readonly clientCertificates: { readonly caFiles: readonly string[]; readonly pinnedThumbprints: readonly string[] };
  readonly aws: {
    /** The 12-digit account every role and provider ARN is in. */
    readonly accountId: string;
    /** The name Trustbridge itself is registered under as a SAML provider (arn:aws:iam::ACCOUNT:saml-provider/NAME). */
    readonly providerName: string;
    /** Replay rule for Trustbridge's own assertions: off (as AWS), once-per-role or once. */
    readonly replay: 'off' | 'once-per-role' | 'once';
    /** Which derived key seals new session tokens; tokens sealed under earlier ids still open. */
    readonly sessionTokenKeyId: string;
    readonly previousSessionTokenKeyIds: readonly string[];
  };
  /** Automatic token-signing key rollover (AD FS's AutoCertificateRollover and its timings). */
  readonly keyRollover: {
    /** Generate and promote keys automatically; retiring keys are retired either way. */
    readonly enabled: boolean;
    /** Validity of the certificates `sts keys rotate` and the rollover generate. */
    readonly certificateDays: number;
    /** A new pending key is generated this many days before the active certificate expires. */
    readonly generateDaysBeforeExpiry: number;
    /** ...and promoted this many days after it was generated (relying parties read it from the metadata meanwhile). */
    readonly promoteAfterDays: number;
  };
  readonly audit: {
    /** The JSON lines file every audit event is appended to (relative to the instance); empty: the store only. */
    readonly file: string;
    /**
     * How many entries at the issuance ledger's start an instance from before the chain was keyed
     * wrote (`sts audit verify` counts them): those alone may stand unkeyed. 0, the default and what
     * every instance created since needs: no unkeyed entry counts, so someone who can write the
     * database but lacks the master key cannot make one count by rewriting the whole chain unkeyed.
     */
    readonly unkeyedLedgerEntries: number;
  };
  /** The burst detector: more Issue or AssumeRoleWithSAML requests than this in a window raises request-burst. */
  readonly burstDetector: {
    readonly windowSeconds: number;
    /** Per authenticated principal (user, federated subject); 0 turns the check off. */
    readonly maxPerPrincipal: number;
    /** Per source address; 0 turns the check off. */
    readonly maxPerAddress: number;
  };
  /** Where UsernameToken users come from: the store (embedded) or an LDAP / Active Directory server. */
  readonly identity: { readonly source: 'embedded' | 'ldap'; readonly ldap: LdapConfig | null };
  /** AD FS's extranet lockout for users in the store (ExtranetLockoutThreshold, ExtranetObservationWindow). */
  readonly passwordLockout: PasswordLockoutPolicy;
  /** Scrypt password checks per process: how many run at once (0: the host's cores shared among its processes), and how many wait before one is refused as busy. */
  readonly passwordChecks: PasswordCheckLimits;
}

export const DEFAULT_CONFIG: StsConfig = {
  mode: 'development',
  issuer: 'http://trustbridge.localhost/adfs/services/trust',
  listen: { host: '127.0.0.1', port: 9443 },
  publicBaseUrl: '',
  tls: { certificateFile: 'tls/localhost.crt.pem', privateKeyFile: 'tls/localhost.key.pem', privateKeyPassphraseFile: '' },
  store: { kind: 'sqlite', path: 'trustbridge.db', url: '', poolSize: 10, passwordFile: '', busyTimeoutMs: 5000 },
  masterKeyFile: 'master.key',
  signingKeyCustody: { kind: 'sealed' },
  clockSkewSeconds: 300,
  usernameTokenMaxAgeSeconds: 300,
  workers: 0,
  shutdownTimeoutSeconds: 25,
  shutdownDelaySeconds: 0,
  limits: { maxBodyBytes: 256 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48, maxConcurrentRequests: 0, maxQueuedRequests: 1000 },
  logLevel: 'info',
  clientCertificates: { caFiles: [], pinnedThumbprints: [] },
  aws: {
    accountId: '123456789012',
    providerName: 'trustbridge',
    replay: 'once-per-role',
    sessionTokenKeyId: '1',
    previousSessionTokenKeyIds: [],
  },
  keyRollover: { enabled: true, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 },
  audit: { file: 'audit.jsonl', unkeyedLedgerEntries: 0 },
  burstDetector: { windowSeconds: 60, maxPerPrincipal: 600, maxPerAddress: 3000 },
  identity: { source: 'embedded', ldap: null },
  passwordLockout: DEFAULT_PASSWORD_LOCKOUT,
  passwordChecks: DEFAULT_PASSWORD_CHECK_LIMITS,
};

export { ConfigError };

// A check throws a ConfigError; one that also parses returns the value to keep (defaults filled in).
type Check = (key: string, value: unknown) => unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const string =
  (allowEmpty = false): Check =>
  (key, v) => {
    if (typeof v !== 'string' || (!allowEmpty && v.length === 0)) throw new ConfigError(key, 'must be a non-empty string');
  };
const integer =
  (min: number, max: number): Check =>
  (key, v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(key, `must be an integer from ${min} to ${max} (found ${JSON.stringify(v)})`);
    }
  };
const oneOf =
  (...allowed: string[]): Check =>
  (key, v) => {
    if (typeof v !== 'string' || !allowed.includes(v)) {
      throw new ConfigError(key, `must be one of ${allowed.join(', ')} (found ${JSON.stringify(v)})`);
    }
  };
const stringList =
  (pattern?: RegExp, what = 'non-empty strings'): Check =>
  (key, v) => {
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'string' || e === '' || (pattern !== undefined && !pattern.test(e)))) {
      throw new ConfigError(key, `must be a list of ${what}`);
    }
  };
const matching =
  (pattern: RegExp, what: string): Check =>
  (key, v) => {
    if (typeof v !== 'string' || !pattern.test(v)) throw new ConfigError(key, `must be ${what} (found ${JSON.stringify(v)})`);
  };
const boolean: Check = (key, v) => {
  if (typeof v !== 'boolean') throw new ConfigError(key, `must be true or false (found ${JSON.stringify(v)})`);
};
const url: Check = (key, v) => {
  string()(key, v);
  try {
    new URL(v as string);
  } catch {
    throw new ConfigError(key, `must be an absolute URI (found ${JSON.stringify(v)})`);
  }
};
const httpsBaseUrl: Check = (key, v) => {
  string(true)(key, v);
  if (v === '') return;
  if (!/^https:\/\/[^/]+$/.test(v as string)) {
    throw new ConfigError(key, `must be empty or an https:// URL with no path (found ${JSON.stringify(v)})`);
  }
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const custody: Check = (key, v) => {
  if (!isPlainObject(v)) throw new ConfigError(key, 'must be an object: { "kind": "sealed" } or { "kind": "pkcs11", "module", "tokenLabel", "pinEnv" or "pinFile" }');
  oneOf('sealed', 'pkcs11')(`${key}.kind`, v['kind']);
  const allowed = v['kind'] === 'sealed' ? ['kind'] : ['kind', 'module', 'tokenLabel', 'pinEnv', 'pinFile'];
  for (const sub of Object.keys(v)) {
    if (!allowed.includes(sub)) throw new ConfigError(`${key}.${sub}`, `is not a setting of the ${String(v['kind'])} custody`);
  }
  if (v['kind'] === 'sealed') return;
  matching(/^\//, 'the absolute path of a PKCS#11 module (.so)')(`${key}.module`, v['module']);
  // PKCS#11 token labels are 32 bytes, blank-padded.
  if (typeof v['tokenLabel'] !== 'string' || v['tokenLabel'].trim() === '' || Buffer.byteLength(v['tokenLabel']) > 32 || v['tokenLabel'] !== v['tokenLabel'].trimEnd()) {
    throw new ConfigError(`${key}.tokenLabel`, 'must be a PKCS#11 token label: 1 to 32 bytes, no trailing blanks');
  }
  if ((v['pinEnv'] === undefined) === (v['pinFile'] === undefined)) {
    throw new ConfigError(key, 'must name where the token PIN is: "pinEnv" (an environment variable, e.g. STS_PKCS11_PIN) or "pinFile", one of them');
  }
  if (v['pinEnv'] !== undefined) matching(ENV_NAME, 'an environment variable name')(`${key}.pinEnv`, v['pinEnv']);
  if (v['pinFile'] !== undefined) string()(`${key}.pinFile`, v['pinFile']);
};

// Never shows the value: a URL is where a password would be pasted by mistake.
const postgresUrl: Check = (key, v) => {
  string(true)(key, v);
  if (v === '') return;
  try {
    parsePostgresUrl(v as string);
  } catch (err) {
    throw new ConfigError(key, (err as Error).message);
  }
};

const SCHEMA: Record<string, Check | Record<string, Check>> = {
  mode: oneOf('development', 'production'),
  issuer: url,
  listen: { host: string(), port: integer(0, 65535) },
  publicBaseUrl: httpsBaseUrl,
  tls: { certificateFile: string(), privateKeyFile: string(), privateKeyPassphraseFile: string(true) },
  store: { kind: oneOf('sqlite', 'postgres'), path: string(), url: postgresUrl, poolSize: integer(1, 1000), passwordFile: string(true), busyTimeoutMs: integer(100, 600_000) },
  masterKeyFile: string(),
  signingKeyCustody: custody,
  clockSkewSeconds: integer(0, 3600),
  usernameTokenMaxAgeSeconds: integer(1, 86400),
  workers: integer(0, 256),
  shutdownTimeoutSeconds: integer(1, 3600),
  shutdownDelaySeconds: integer(0, 600),
  limits: {
    maxBodyBytes: integer(1024, 16 * 1024 * 1024),
    maxDepth: integer(8, 256),
    maxElements: integer(16, 100000),
    maxAttributesPerElement: integer(4, 1024),
    maxConcurrentRequests: integer(0, 100000),
    maxQueuedRequests: integer(0, 1_000_000),
  },
  logLevel: oneOf('debug', 'info', 'warn', 'error'),
  clientCertificates: { caFiles: stringList(), pinnedThumbprints: stringList(/^[0-9a-fA-F]{64}$/, 'SHA-256 thumbprints (64 hex digits)') },
  aws: {
    accountId: matching(/^\d{12}$/, 'a 12-digit AWS account ID'),
    providerName: matching(/^[\w._-]{1,128}$/, 'an IAM SAML provider name (letters, digits, . _ -)'),
    replay: oneOf('off', 'once-per-role', 'once'),
    sessionTokenKeyId: matching(/^[A-Za-z0-9]{1,16}$/, 'a key id of 1 to 16 letters or digits'),
    previousSessionTokenKeyIds: stringList(/^[A-Za-z0-9]{1,16}$/, 'key ids of 1 to 16 letters or digits'),
  },
  keyRollover: {
    enabled: boolean,
    certificateDays: integer(2, 3650),
    generateDaysBeforeExpiry: integer(1, 3649),
    promoteAfterDays: integer(0, 3648),
  },
  audit: { file: string(true), unkeyedLedgerEntries: integer(0, Number.MAX_SAFE_INTEGER) },
  burstDetector: { windowSeconds: integer(1, 86400), maxPerPrincipal: integer(0, 10_000_000), maxPerAddress: integer(0, 10_000_000) },
  identity: { source: oneOf('embedded', 'ldap'), ldap: parseLdapConfig },
  passwordLockout: { threshold: integer(0, 10_000), observationWindowSeconds: integer(1, 7 * 86400) },
  passwordChecks: { maxConcurrent: integer(0, 256), maxQueued: integer(0, 100_000) },
};

// Checks between keys of one section, after each key passed its own.
function checkRelations(config: StsConfig): void {
  if (config.identity.source === 'ldap' && config.identity.ldap === null) {
    throw new ConfigError('identity.ldap', 'must be set when identity.source is "ldap"');
  }
  if (config.store.kind === 'postgres' && config.store.url === '') {
    throw new ConfigError('store.url', 'must be set when store.kind is "postgres" (postgres://user@host:5432/database)');
  }
  const r = config.keyRollover;
  if (r.generateDaysBeforeExpiry >= r.certificateDays) {
    throw new ConfigError(
      'keyRollover.generateDaysBeforeExpiry',
      `must be less than keyRollover.certificateDays (${r.certificateDays}), or every new key would be due for replacement at once`,
    );
  }
  if (r.promoteAfterDays >= r.generateDaysBeforeExpiry) {
    throw new ConfigError(
      'keyRollover.promoteAfterDays',
      `must be less than keyRollover.generateDaysBeforeExpiry (${r.generateDaysBeforeExpiry}), or the active certificate expires before its successor is promoted`,
    );
  }
}

/** Merges a parsed config file over the defaults, refusing unknown keys and bad values by name. */
export function validateConfig(raw: unknown): StsConfig {
  if (!isPlainObject(raw)) throw new ConfigError('(root)', 'must be a JSON object');
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!(key in SCHEMA)) throw new ConfigError(key, 'is not a known setting');
  }
  for (const [key, check] of Object.entries(SCHEMA)) {
    const given = raw[key];
    const fallback = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[key];
    if (typeof check === 'function') {
      const value = given === undefined ? fallback : given;
      merged[key] = check(key, value) ?? value;
      continue;
    }
    if (given !== undefined && !isPlainObject(given)) throw new ConfigError(key, 'must be an object');
    const section: Record<string, unknown> = {};
    for (const sub of Object.keys(given ?? {})) {
      if (!(sub in check)) throw new ConfigError(`${key}.${sub}`, 'is not a known setting');
    }
    for (const [sub, subCheck] of Object.entries(check)) {
      const explicit = given?.[sub];
      const value = explicit === undefined ? (fallback as Record<string, unknown>)[sub] : explicit;
      section[sub] = subCheck(`${key}.${sub}`, value) ?? value;
    }
    merged[key] = section;
  }
  checkRelations(merged as unknown as StsConfig);
  return merged as unknown as StsConfig;
}
