// What a session token carries, and its compact encoding inside the sealed envelope. The encoding is
// a positional JSON array rather than an object: the token travels on every request (and AWS SDKs
// and tools such as aws-iam-authenticator put it into URLs), so field names would only add bytes.

export interface SessionTag {
  readonly key: string;
  readonly value: string;
}

export interface SessionClaims {
  /** `ASIA` + 16 base32 characters; the Credential of every SigV4 request signed with this session. */
  readonly accessKeyId: string;
  /** 40 characters; the SigV4 signing secret, known only to the holder and to the sealed token. */
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly roleArn: string;
  /** `AROA` + 17 base32 characters, the role's unique id (GetCallerIdentity's UserId is `roleId:roleSessionName`). */
  readonly roleId: string;
  readonly roleSessionName: string;
  /** The SAML or OIDC provider the session was federated from. */
  readonly providerArn: string;
  readonly issuedAt: Date;
  readonly expiration: Date;
  readonly sourceIdentity: string | null;
  readonly tags: readonly SessionTag[];
  readonly transitiveTagKeys: readonly string[];
  /** The inline session policy (JSON text) as the caller passed it, if any. */
  readonly sessionPolicy: string | null;
  readonly policyArns: readonly string[];
}

const ACCESS_KEY_ID = /^ASIA[A-Z2-7]{16}$/;
const SECRET_ACCESS_KEY = /^[A-Za-z0-9+/]{40}$/;

type Encoded = [
  accessKeyId: string,
  secretAccessKey: string,
  accountId: string,
  roleArn: string,
  roleId: string,
  roleSessionName: string,
  providerArn: string,
  issuedAtMs: number,
  expirationMs: number,
  sourceIdentity: string | null,
  tags: [string, string][],
  transitiveTagKeys: string[],
  sessionPolicy: string | null,
  policyArns: string[],
];
const FIELD_COUNT = 14;

export function encodeClaims(claims: SessionClaims): Buffer {
  const encoded: Encoded = [
    claims.accessKeyId,
    claims.secretAccessKey,
    claims.accountId,
    claims.roleArn,
    claims.roleId,
    claims.roleSessionName,
    claims.providerArn,
    claims.issuedAt.getTime(),
    claims.expiration.getTime(),
    claims.sourceIdentity,
    claims.tags.map((t) => [t.key, t.value]),
    [...claims.transitiveTagKeys],
    claims.sessionPolicy,
    [...claims.policyArns],
  ];
  return Buffer.from(JSON.stringify(encoded), 'utf8');
}

/**
 * Decodes what `encodeClaims` wrote, or returns undefined for anything else. The envelope was
 * authenticated before this runs, so a failure here means a bug or a key shared with another
 * format, not an attacker; it is refused all the same rather than trusted half-read.
 */
export function decodeClaims(payload: Buffer): SessionClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== FIELD_COUNT) return undefined;
  const [
    accessKeyId,
    secret,
    accountId,
    roleArn,
    roleId,
    sessionName,
    providerArn,
    issuedAt,
    expiration,
    sourceIdentity,
    tags,
    transitive,
    policy,
    policyArns,
  ] = value as unknown[];
  if (
    typeof accessKeyId !== 'string' ||
    !ACCESS_KEY_ID.test(accessKeyId) ||
    typeof secret !== 'string' ||
    !SECRET_ACCESS_KEY.test(secret) ||
    typeof accountId !== 'string' ||
    typeof roleArn !== 'string' ||
    typeof roleId !== 'string' ||
    typeof sessionName !== 'string' ||
    typeof providerArn !== 'string' ||
    !Number.isSafeInteger(issuedAt) ||
    !Number.isSafeInteger(expiration) ||
    !isNullableString(sourceIdentity) ||
    !isNullableString(policy) ||
    !isStringArray(transitive) ||
    !isStringArray(policyArns) ||
    !Array.isArray(tags) ||
    !tags.every((t: unknown) => Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && typeof t[1] === 'string')
  ) {
    return undefined;
  }
  return {
    accessKeyId,
    secretAccessKey: secret,
    accountId,
    roleArn,
    roleId,
    roleSessionName: sessionName,
    providerArn,
    issuedAt: new Date(issuedAt as number),
    expiration: new Date(expiration as number),
    sourceIdentity,
    tags: (tags as [string, string][]).map(([key, tagValue]) => ({ key, value: tagValue })),
    transitiveTagKeys: transitive,
    sessionPolicy: policy,
    policyArns,
  };
}

function isNullableString(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
