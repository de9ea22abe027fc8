import { createHash } from 'node:crypto';
import { awsErrors } from '../aws-error';

// The two places a SigV4 signature can travel: the Authorization header, and the query string of a
// presigned URL. Both parse to the same shape; the checks that need the request (dates, scope,
// host signed) are the verifier's. Messages follow AWS's wording, but never echo the header: AWS
// itself now quotes only a SHA-256 of it, and so does this, so no signature comes back out.

export const ALGORITHM = 'AWS4-HMAC-SHA256';

export interface CredentialScope {
  readonly accessKeyId: string;
  /** `yyyymmdd/region/service/terminator`, exactly as sent: the string to sign's third line. */
  readonly scope: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
}

export interface SigV4Authorization {
  readonly credential: CredentialScope;
  /** The SignedHeaders list as sent (`a;b;c`): the canonical request's signed-headers line. */
  readonly signedHeaders: string;
  readonly signedHeaderNames: readonly string[];
  readonly signature: string;
}

export interface PresignedAuthorization extends SigV4Authorization {
  readonly amzDate: string;
  /** X-Amz-Expires, if sent (whole seconds, 0..604800). */
  readonly expiresSeconds: number | undefined;
  readonly sessionToken: string | undefined;
}

/** A lower-case HTTP token (RFC 9110 tchar): what may appear in SignedHeaders. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const MAX_PRESIGN_SECONDS = 604_800;

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/sts/aws4_request, SignedHeaders=a;b,
 * Signature=hex` (components in any order, spaces optional). `hasDate` says whether the request
 * carries X-Amz-Date or Date, which AWS reports in the same message as the missing parameters.
 */
export function parseAuthorizationHeader(header: string, hasDate: boolean): SigV4Authorization {
  const value = header.trim();
  const space = value.search(/\s/);
  const algorithm = space === -1 ? value : value.slice(0, space);
  const fields = new Map<string, string>();
  for (const component of (space === -1 ? '' : value.slice(space + 1)).split(',')) {
    const part = component.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      throw awsErrors.incompleteSignature(
        `Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '${hashed(header)}'.`,
        'sigv4: Authorization component without =',
      );
    }
    const key = part.slice(0, eq).trim();
    // Nothing reads other keys, so they are skipped; these three are read, and each may appear only once.
    if (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') continue;
    if (fields.has(key)) {
      throw awsErrors.incompleteSignature(
        `Authorization header has more than one '${key}' parameter. Authorization=${hashed(header)} (hashed with SHA-256 and encoded with Base64)`,
        'sigv4: repeated Authorization component',
      );
    }
    fields.set(key, part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential') ?? '';
  const signedHeaders = fields.get('SignedHeaders') ?? '';
  const signature = fields.get('Signature') ?? '';
  const missing: string[] = [];
  if (credential === '') missing.push("Authorization header requires 'Credential' parameter.");
  if (signature === '') missing.push("Authorization header requires 'Signature' parameter.");
  if (signedHeaders === '') missing.push("Authorization header requires 'SignedHeaders' parameter.");
  if (!hasDate) missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (missing.length > 0) {
    throw awsErrors.incompleteSignature(
      `${missing.join(' ')} Authorization=${hashed(header)} (hashed with SHA-256 and encoded with Base64)`,
      'sigv4: Authorization header incomplete',
    );
  }
  checkAlgorithm(algorithm);
  return { credential: parseCredential(credential), signedHeaders, signedHeaderNames: parseSignedHeaders(signedHeaders), signature };
}

const QUERY_PARAMETERS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;

/** Whether the query string carries a presigned signature (any of the parameters only presigning sets). */
export function isPresigned(params: URLSearchParams): boolean {
  return params.has('X-Amz-Algorithm') || params.has('X-Amz-Credential') || params.has('X-Amz-Signature');
}

/** Parses the X-Amz-* parameters of a presigned URL; each may appear once. */
export function parsePresignedQuery(params: URLSearchParams): PresignedAuthorization {
  const [algorithm, credential, amzDate, signedHeaders, signature] = QUERY_PARAMETERS.map((name) => {
    const values = params.getAll(name);
    return values.length === 1 && values[0] !== '' ? values[0] : undefined;
  });
  if (algorithm === undefined || credential === undefined || amzDate === undefined || signedHeaders === undefined || signature === undefined) {
    throw awsErrors.incompleteSignature(
      "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Signature', each once. Re-examine the query-string parameters.",
      'sigv4: presigned parameters missing or repeated',
    );
  }
  checkAlgorithm(algorithm);
  const tokens = params.getAll('X-Amz-Security-Token');
  if (tokens.length > 1) throw awsErrors.invalidClientTokenId('sigv4: X-Amz-Security-Token repeated');
  return {
    credential: parseCredential(credential),
    signedHeaders,
    signedHeaderNames: parseSignedHeaders(signedHeaders),
    signature,
    amzDate,
    expiresSeconds: parseExpires(params.getAll('X-Amz-Expires')),
    sessionToken: tokens[0],
  };
}

function parseCredential(credential: string): CredentialScope {
  const parts = credential.split('/');
  if (parts.length !== 5) {
    throw awsErrors.incompleteSignature(
      'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.',
      'sigv4: Credential is not five elements',
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, scope: credential.slice(accessKeyId.length + 1), date, region, service, terminator };
}

function parseSignedHeaders(signedHeaders: string): string[] {
  const names = signedHeaders.split(';');
  if (!names.every((name) => HEADER_NAME.test(name))) {
    throw awsErrors.incompleteSignature(
      "'SignedHeaders' must be a ';'-separated list of lower-case header names.",
      'sigv4: SignedHeaders malformed',
    );
  }
  return names;
}

function parseExpires(values: string[]): number | undefined {
  if (values.length === 0) return undefined;
  const value = values[0] as string;
  if (values.length > 1 || !/^\d{1,7}$/.test(value)) {
    throw awsErrors.incompleteSignature('X-Amz-Expires should be a number', 'sigv4: X-Amz-Expires malformed');
  }
  const seconds = Number(value);
  if (seconds > MAX_PRESIGN_SECONDS) {
    throw awsErrors.incompleteSignature(
      'X-Amz-Expires must be less than a week (in seconds) that is; 604800',
      'sigv4: X-Amz-Expires too long',
    );
  }
  return seconds;
}

function checkAlgorithm(algorithm: string): void {
  if (algorithm === ALGORITHM) return;
  // Quoted only when it looks like a scheme name, so a bare credential pasted in is not sent back.
  const shown = /^[A-Za-z0-9-]{1,32}$/.test(algorithm) ? `: '${algorithm}'` : '';
  throw awsErrors.incompleteSignature(`Unsupported AWS 'algorithm'${shown}`, 'sigv4: unsupported algorithm');
}

function hashed(header: string): string {
  return createHash('sha256').update(header).digest('base64');
}
