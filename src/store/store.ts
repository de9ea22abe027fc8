// The persistence boundary. Every implementation (SQLite now, PostgreSQL for several nodes) keeps
// these contracts; nothing above this module knows which one is in use.

export interface Claim {
  readonly name: string;
  readonly value: string;
}

/** A user as `sts user add` defines it. */
export interface NewUserRecord {
  readonly name: string;
  /** `scrypt$N$r$p$salt$hash`, base64 salt and hash: parameters travel with the hash. */
  readonly passwordHash: string;
  /** The password sealed under the master key, kept only for users allowed PasswordDigest. */
  readonly sealedPassword: string | null;
  readonly claims: readonly Claim[];
  readonly createdAt: Date;
}

/** A stored user: what was defined, and the wrong passwords given since the last right one (the extranet lockout's count). */
export interface UserRecord extends NewUserRecord {
  /** 0 for none; every node's wrong passwords add up here. */
  readonly failedLogins: number;
  /** When the last of them was given; null when there are none. */
  readonly lastFailedAt: Date | null;
}

export interface RelyingPartyRecord {
  /** The AppliesTo address clients ask for; also the SAML Audience. */
  readonly appliesTo: string;
  readonly displayName: string;
  /** The lifetime of tokens issued for it, and the maximum a request may ask for. */
  readonly tokenLifetimeSeconds: number;
  /** Names of the user claims released to it; `*` releases every claim. */
  readonly releasedClaims: readonly string[];
  /** Where the relying party receives tokens: the bearer confirmation's Recipient. */
  readonly endpointUrl: string | null;
  readonly nameIdFormat: string;
  /** How long after expiry a token may still be renewed (when issued with Renewing OK); 0 = never. */
  readonly expiredRenewalWindowSeconds: number;
  /** PEM of the certificate tokens and proof keys are encrypted for; tokens go out encrypted when set. */
  readonly encryptionCertificatePem: string | null;
  /** The data encryption of its tokens: AES-256-CBC (what AD FS and .NET decrypt) or AES-256-GCM. */
  readonly tokenEncryption: 'aes256-cbc' | 'aes256-gcm';
  /** Callers (user names) allowed to ask for tokens for it on behalf of someone else (OnBehalfOf, ActAs). */
  readonly delegates: readonly string[];
  /** The SAML Audience of its tokens when it differs from AppliesTo (AWS: the sign-in URL); null = AppliesTo. */
  readonly audience: string | null;
  /** `aws` adds what AWS requires of an assertion (RoleSessionName, SessionDuration) to the released claims. */
  readonly profile: RelyingPartyProfile;
  /** AWS profile: the SessionDuration attribute, in seconds; null leaves it out (AWS then uses one hour). */
  readonly sessionDurationSeconds: number | null;
  readonly createdAt: Date;
}

export type RelyingPartyProfile = 'generic' | 'aws';

/** One row of the issuance ledger: written before the token leaves, the proof we issued it. */
export interface LedgerEntry extends LedgerEntryInput {
  readonly cancelledAt: Date | null;
}

/**
 * What a caller records. The store adds the chain fields: every entry is chained by hash to the one
 * before it (see ledger-chain.ts), so a row altered, removed or slipped in afterwards breaks the chain.
 */
export interface LedgerEntryInput {
  readonly tokenId: string;
  readonly tokenType: string;
  readonly subject: string;
  readonly audience: string;
  readonly keyThumbprint: string;
  readonly digest: string;
  readonly issuedAt: Date;
  readonly notBefore: Date;
  readonly notOnOrAfter: Date;
  readonly requestId: string;
  /** The token this one renewed, if it came from Renew. */
  readonly renewedFrom: string | null;
  /** WS-Trust Renewing as issued: Allow (may be renewed at all) and OK (may be renewed after it expired). */
  readonly renewAllow: boolean;
  readonly renewAfterExpiry: boolean;
  /** Who asked for the token on the subject's behalf (OnBehalfOf/ActAs), if anyone. */
  readonly actor: string | null;
}

export type SigningKeyState = 'pending' | 'active' | 'retiring' | 'retired' | 'revoked';

export interface SigningKeyRecord {
  readonly thumbprint: string;
  readonly state: SigningKeyState;
  readonly certificatePem: string;
  /**
   * The private key at rest, never in clear: a sealed envelope (`v1.…`, AES-256-GCM under the master
   * key) or, when a PKCS#11 token holds the key, a reference to it (`pkcs11:token=…;id=…;type=private`).
   */
  readonly sealedPrivateKey: string;
  readonly createdAt: Date;
  // The lifecycle's timestamps and the certificate's expiry. Optional so records written before the
  // lifecycle existed still type-check; a repository leaves a field out when it has no value.
  /** The certificate's notAfter; when absent, read it from certificatePem. */
  readonly notAfter?: Date;
  readonly activatedAt?: Date;
  readonly retiringAt?: Date;
  readonly retiredAt?: Date;
  readonly revokedAt?: Date;
}

/** Where an entry sits in the ledger's hash chain: its place, the hash of the entry before it, and its own. */
export interface LedgerLink {
  /** 1, 2, 3…: the order entries were appended in, without gaps. */
  readonly sequence: number;
  /** The entryHash of entry sequence - 1 (LEDGER_GENESIS_HASH for the first). */
  readonly previousHash: string;
  /** The hash over previousHash and the entry, computed as hashScheme says (see ledger-chain.ts). */
  readonly entryHash: string;
  /** A LedgerHashScheme as the row records it; any other text is what the row holds, for the verifier to refuse. */
  readonly hashScheme: string;
}

/** A ledger entry as the chain stores it. */
export interface ChainedLedgerEntry extends LedgerEntry, LedgerLink {}

/**
 * A pin's lifecycle, as for our own keys: pending pins are published ahead of a partner's rollover
 * and accepted only once promoted (or from activateAt); retired and revoked pins are refused.
 */
export type PinState = 'pending' | 'active' | 'retired' | 'revoked';

/**
 * A certificate trusted by SHA-256 thumbprint, with its lifecycle: the pins of external token issuers
 * and the certificates of external SAML providers follow the same rules (pinVerdictAt).
 */
export interface CertificatePin {
  readonly thumbprint: string;
  readonly certificatePem: string;
  readonly createdAt: Date;
  readonly state: PinState;
  /** A pending pin is accepted from this time on without a promote (a scheduled rollover); null: only once promoted. */
  readonly activateAt: Date | null;
  /** An active pin is refused from this time on (a scheduled retirement); null: until its certificate expires. */
  readonly retireAt: Date | null;
  /** When the state last changed (createdAt for a new pin). */
  readonly stateChangedAt: Date;
}

/** A certificate pinned for an external token issuer: its signatures are accepted for tokens it names as issuer. */
export interface TrustedIssuerPin extends CertificatePin {
  readonly issuer: string;
}

export interface TrustedIssuerRepository {
  /** Adds a pin; AlreadyExistsError when the thumbprint is pinned already (for any issuer). */
  pin(pin: TrustedIssuerPin): Promise<void>;
  unpin(thumbprint: string): Promise<boolean>;
  list(): Promise<TrustedIssuerPin[]>;
  /** Moves a pin to `to` if (and only if) it is in one of `from`, atomically; false when unknown or in another state. */
  setState(thumbprint: string, from: readonly PinState[], to: PinState, at: Date): Promise<boolean>;
}

export interface UserRepository {
  /** A new user starts with no failed logins. */
  add(user: NewUserRecord): Promise<void>;
  get(name: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /**
   * Counts one wrong password, atomically (concurrent counts on any node all add up), and keeps the
   * latest time given as lastFailedAt; resolves to the new count, undefined for an unknown user. A
   * count whose last wrong password came at or before `windowStart` starts again from 1 (AD's "reset
   * account lockout counter after").
   */
  recordFailedLogin(name: string, at: Date, windowStart: Date): Promise<number | undefined>;
  /** Forgets the user's wrong passwords (a right one was given); writes nothing when there are none. */
  clearFailedLogins(name: string): Promise<void>;
}

export interface RelyingPartyRepository {
  add(rp: RelyingPartyRecord): Promise<void>;
  get(appliesTo: string): Promise<RelyingPartyRecord | undefined>;
  list(): Promise<RelyingPartyRecord[]>;
}

export interface IssuanceLedger {
  /**
   * Appends an entry, chained to the last one. Concurrent writers (worker processes, other nodes)
   * are serialised so that the chain has no fork: each entry's previousHash is the hash of the one
   * appended just before it. Rejects with LedgerChainKeyMissingError if the store was opened without
   * the chain key.
   */
  record(entry: LedgerEntryInput): Promise<void>;
  /**
   * Only an entry Trustbridge wrote: keyed with a hash that verifies, or unkeyed within the prefix
   * the store accepts (see issuedLedgerEntries); anything else, and anything in a store opened
   * without the chain key, answers as never issued.
   */
  get(tokenId: string): Promise<LedgerEntry | undefined>;
  /**
   * The entries at the chain's start chained without the key, as counted when the store opened: a
   * lookup accepts at most LedgerTrust.unkeyedEntries of them, so a count above that is worth a warning.
   */
  readonly unkeyedAtOpen: number;
  count(): Promise<number>;
  /**
   * Marks a token cancelled; resolves false if it is unknown or was cancelled already. Cancellation
   * is state beside the chain (cancelledAt is not hashed); the audit trail records who cancelled.
   */
  cancel(tokenId: string, at: Date): Promise<boolean>;
  /** Entries with sequence > afterSequence, in order, at most `limit` of them: for walking the chain. */
  chain(afterSequence: number, limit: number): Promise<ChainedLedgerEntry[]>;
}

/** One audit event, shaped after CloudTrail's records. Never carries a secret, a password or a token. */
export interface AuditEvent {
  /** Unique, random (UUID). */
  readonly eventId: string;
  readonly eventTime: Date;
  /** Issue, Validate, Renew, Cancel, AssumeRoleWithSAML, GetCallerIdentity, RotateSigningKey, PinCertificate, …, or an alert's name. */
  readonly eventName: string;
  /** Where it happened: wstrust, aws, admin (the CLI) or detector. */
  readonly eventSource: 'wstrust' | 'aws' | 'admin' | 'detector';
  /** The request that caused it (x-amzn-RequestId / the WS-Trust request id); null for admin events. */
  readonly requestId: string | null;
  readonly sourceAddress: string | null;
  readonly userAgent: string | null;
  /** Who: the authenticated user, the federated subject, the access key's session, or the OS user of an admin command. */
  readonly principal: string | null;
  readonly requestParameters: Readonly<Record<string, unknown>> | null;
  readonly responseElements: Readonly<Record<string, unknown>> | null;
  /** More about the event, for alerts: everything a responder needs (token id, key, times, what differs). */
  readonly additionalEventData: Readonly<Record<string, unknown>> | null;
  /** The fault or AWS error code when it failed; null when it succeeded. */
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  /** Set on alerts (eventSource detector, or an admin change that is one): its name, e.g. forged-token. */
  readonly alert: string | null;
  /** info for ordinary events, warning for refused attempts at what an alert reports; high and critical for alerts. */
  readonly severity: 'info' | 'warning' | 'high' | 'critical';
}

export interface AuditQuery {
  /** Inclusive lower and exclusive upper bound on eventTime. */
  readonly from?: Date;
  readonly to?: Date;
  readonly principal?: string;
  /** Events whose additionalEventData.claimedUserName is this: refused logins that named this user. */
  readonly claimedUserName?: string;
  readonly eventName?: string;
  readonly alertsOnly?: boolean;
  /** The newest `limit` matching events are returned, oldest first. */
  readonly limit: number;
}

export interface AuditRepository {
  /** Appends events (one transaction); order within the batch is kept. */
  append(events: readonly AuditEvent[]): Promise<void>;
  query(query: AuditQuery): Promise<AuditEvent[]>;
}

export interface ReplayCache {
  /**
   * Remembers `key` in `scope` until `expiresAt`. Resolves true the first time, false for a replay.
   * Atomic across processes: two nodes racing on one key see exactly one true.
   */
  rememberOnce(scope: string, key: string, expiresAt: Date): Promise<boolean>;
}

export interface PromoteOptions {
  /** Revoke the key that was active instead of retiring it (an emergency rotation). */
  readonly revokePrevious?: boolean;
}

export type PromoteResult =
  | { readonly promoted: true; readonly previous: string | null }
  | { readonly promoted: false; readonly state: SigningKeyState | null };

export interface SigningKeyRepository {
  add(key: SigningKeyRecord): Promise<void>;
  /** Every key, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  get(thumbprint: string): Promise<SigningKeyRecord | undefined>;
  /**
   * Moves a key to `to` if (and only if) it is in one of `from`, atomically, stamping the state's
   * timestamp with `at`; false when the key is unknown or in another state. Refuses (throws) to make a
   * second key active: use promote.
   */
  setState(thumbprint: string, from: readonly SigningKeyState[], to: SigningKeyState, at: Date): Promise<boolean>;
  /**
   * In one transaction: the active key becomes retiring (or revoked), and the pending key `thumbprint`
   * becomes active; there is never a moment with no active key or two. Not promoted (and nothing
   * changed) when the key is not pending; `state` says what it is (null: unknown).
   */
  promote(thumbprint: string, at: Date, options?: PromoteOptions): Promise<PromoteResult>;
}

export type SamlReplayMode = 'off' | 'once-per-role' | 'once';

/** A SAML identity provider registered for AssumeRoleWithSAML (IAM's saml-provider). */
export interface SamlProviderRecord {
  readonly name: string;
  /** The entityID of its metadata: assertions must name it as their Issuer. */
  readonly entityId: string;
  /**
   * Its signing certificates, each with its lifecycle (those from its metadata start active), in the
   * order they were added; at most MAX_SAML_PROVIDER_CERTIFICATES, as IAM allows.
   */
  readonly certificates: readonly CertificatePin[];
  readonly replay: SamlReplayMode;
  readonly createdAt: Date;
}

/** IAM's limit of signing certificates per SAML provider, which addCertificate keeps atomically. */
export const MAX_SAML_PROVIDER_CERTIFICATES = 10;

/**
 * What addCertificate did: added it; found no such provider; or found the provider at the limit
 * already, with the number of certificates it has.
 */
export type AddCertificateResult =
  | { readonly outcome: 'added' }
  | { readonly outcome: 'no-provider' }
  | { readonly outcome: 'limit-reached'; readonly certificates: number };

/** An IAM-style role that federated users assume. */
export interface AwsRoleRecord {
  readonly name: string;
  /** AROA…, the unique id AWS puts before the session name in an assumed role's user id. */
  readonly roleId: string;
  readonly trustPolicy: string;
  readonly maxSessionDurationSeconds: number;
  /** The role's permissions policy, kept for what calls are allowed with its credentials. */
  readonly permissionsPolicy: string | null;
  readonly createdAt: Date;
}

export interface SamlProviderRepository {
  /** Adds a provider with its certificates, in one transaction; AlreadyExistsError when the name is taken. */
  add(provider: SamlProviderRecord): Promise<void>;
  get(name: string): Promise<SamlProviderRecord | undefined>;
  list(): Promise<SamlProviderRecord[]>;
  /**
   * Adds a certificate after the provider's others unless it has MAX_SAML_PROVIDER_CERTIFICATES already:
   * the count and the insert are one transaction that holds off every other addition to the provider,
   * so stores racing never add one too many. 'no-provider' also when the provider is removed while the
   * certificate is added (no row is left without its provider); AlreadyExistsError when the provider
   * has this thumbprint already (another provider may have it too).
   */
  addCertificate(provider: string, certificate: CertificatePin): Promise<AddCertificateResult>;
  /** One certificate of a provider as stored now: read when a signature is checked, so no cache delays a revocation. */
  getCertificate(provider: string, thumbprint: string): Promise<CertificatePin | undefined>;
  /** Moves a provider's certificate to `to` if (and only if) it is in one of `from`, atomically; false when unknown or in another state. */
  setCertificateState(provider: string, thumbprint: string, from: readonly PinState[], to: PinState, at: Date): Promise<boolean>;
  removeCertificate(provider: string, thumbprint: string): Promise<boolean>;
}

export interface AwsRoleRepository {
  add(role: AwsRoleRecord): Promise<void>;
  get(name: string): Promise<AwsRoleRecord | undefined>;
  list(): Promise<AwsRoleRecord[]>;
}

/** A database setting under which a write the store acknowledged can still be lost. */
export interface DurabilityRisk {
  readonly setting: string;
  readonly value: string;
  /** What can be lost, in a sentence. */
  readonly risk: string;
}

/** The rows `sts init` writes into a new instance's store, each named by its key. */
export interface InitRecords {
  /** Thumbprints. */
  readonly signingKeys: readonly string[];
  /** AppliesTo addresses. */
  readonly relyingParties: readonly string[];
  readonly awsRoles: readonly string[];
  readonly users: readonly string[];
}

/** The chores Store.exclusive serialises across nodes. */
export type ExclusiveTask = 'key-rollover';

export interface Store {
  readonly users: UserRepository;
  readonly relyingParties: RelyingPartyRepository;
  readonly ledger: IssuanceLedger;
  readonly replay: ReplayCache;
  readonly signingKeys: SigningKeyRepository;
  readonly trustedIssuers: TrustedIssuerRepository;
  readonly samlProviders: SamlProviderRepository;
  readonly awsRoles: AwsRoleRepository;
  readonly audit: AuditRepository;
  /** Resolves when the store answers a trivial query now (readiness); rejects when it cannot. */
  ping(): Promise<void>;
  /**
   * Runs `task` unless another process sharing this store runs the task of that name right now, and
   * resolves whether it ran: for chores every node schedules (the key rollover), so that two nodes
   * checking at the same moment do not both act. SQLite serves one host, where one process per host
   * runs such chores: it always runs the task.
   */
  exclusive(name: ExclusiveTask, task: () => Promise<void>): Promise<boolean>;
  /**
   * The database's settings that would let a crash lose what the store acknowledged (a ledger entry
   * whose token a client holds would then be missing, and the token look forged). Empty when none.
   */
  durabilityRisks(): Promise<DurabilityRisk[]>;
  /**
   * Removes these rows, and no other, in one transaction (all of them or none): what an `sts init`
   * that failed had written, so that the next one finds the database as this one found it. A key
   * named but not there is passed over.
   */
  removeInitRecords(records: InitRecords): Promise<void>;
  close(): Promise<void>;
}

export class AlreadyExistsError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

/** A second key was about to become active: the database allows exactly one (promotion is the only way in). */
export class SecondActiveKeyError extends Error {
  constructor() {
    super('another token-signing key is active; a key becomes active only by promotion (sts keys promote)');
    this.name = 'SecondActiveKeyError';
  }
}
