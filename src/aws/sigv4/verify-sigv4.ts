import { createHmac, timingSafeEqual } from 'node:crypto';
import { awsErrors } from '../aws-error';
import { formatAmzDate, parseAmzDate, parseHttpDate } from './amz-date';
import { canonicalRequest, sha256Hex, stringToSign } from './canonical-request';
import { headerValues, lowerCaseHeaders, singleHeader, type RequestHeaders } from './headers';
import {
  isPresigned,
  parseAuthorizationHeader,
  parsePresignedQuery,
  type CredentialScope,
  type SigV4Authorization,
} from './parse-authorization';
import { SigningKeyCache } from './signing-key';

// Verifies an AWS Signature Version 4 request as AWS STS does, in the Authorization-header form and
// the presigned query-string form. The checks run cheapest and least revealing first: the form of
// the signature, its age, its scope, the credentials, and only then the HMAC, so a stale or
// malformed request costs no token opening or key derivation.

export interface SigV4Request {
  readonly method: string;
  /** The path as received (req.url up to '?'), still percent-encoded. */
  readonly path: string;
  /** The raw query string, without '?'. */
  readonly query: string;
  /** Header name (any case) to value(s), as IncomingMessage.headersDistinct gives them. */
  readonly headers: RequestHeaders;
  readonly body: Buffer;
}

/** What the verifier needs of a caller's credentials; the resolver may return more (the session claims). */
export interface ResolvedCredentials {
  readonly secretAccessKey: string;
  readonly expiration: Date;
}

/**
 * Finds the credentials for an access key id and the session token sent with it, or throws an
 * AwsError (InvalidClientTokenId for unknown keys and bad tokens).
 */
export type CredentialResolver<C extends ResolvedCredentials> = (accessKeyId: string, sessionToken: string | undefined) => C;

export interface SigV4VerifierOptions<C extends ResolvedCredentials> {
  readonly resolveCredentials: CredentialResolver<C>;
  /** The service name the credential scope must name. Default `sts`. */
  readonly service?: string;
  /** How far X-Amz-Date may be from now, either way. Default 15 minutes, as AWS. */
  readonly maxClockSkewMs?: number;
  /** Derived signing keys kept (one per secret, day and region). Default 1024. */
  readonly signingKeyCacheSize?: number;
}

export interface VerifiedSigV4<C extends ResolvedCredentials> {
  readonly accessKeyId: string;
  /** The region named in the credential scope (any syntactically valid region is accepted). */
  readonly region: string;
  /** The signed request time (X-Amz-Date, or the Date header). */
  readonly signedAt: Date;
  /** True for a presigned URL (query-string signature), false for the Authorization header. */
  readonly presigned: boolean;
  readonly credentials: C;
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const REGION = /^[a-z0-9-]{1,64}$/;
const SCOPE_DATE = /^\d{8}$/;

export class SigV4Verifier<C extends ResolvedCredentials> {
  readonly #resolveCredentials: CredentialResolver<C>;
  readonly #service: string;
  readonly #maxClockSkewMs: number;
  readonly #signingKeys: SigningKeyCache;

  constructor(options: SigV4VerifierOptions<C>) {
    this.#resolveCredentials = options.resolveCredentials;
    this.#service = options.service ?? 'sts';
    this.#maxClockSkewMs = options.maxClockSkewMs ?? 15 * 60_000;
    this.#signingKeys = new SigningKeyCache(options.signingKeyCacheSize ?? 1024);
    if (!(this.#maxClockSkewMs > 0)) throw new Error('maxClockSkewMs must be positive');
  }

  /** Verifies the request's signature, or throws the AwsError AWS would answer with. */
  verify(request: SigV4Request, now: Date = new Date()): VerifiedSigV4<C> {
    const headers = lowerCaseHeaders(request.headers);
    const params = new URLSearchParams(request.query);
    const hasAuthorization = headerValues(headers, 'authorization') !== undefined;
    const presigned = isPresigned(params);
    if (hasAuthorization && presigned) {
      throw awsErrors.incompleteSignature(
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
        'sigv4: both an Authorization header and a presigned query',
      );
    }
    if (!hasAuthorization && !presigned) {
      throw awsErrors.missingAuthenticationToken('sigv4: no Authorization header and no presigned query');
    }
    const { auth, amzDate, signedAt, sessionToken, expiresSeconds } = presigned ? fromQuery(params) : fromHeaders(headers);

    if (!auth.signedHeaderNames.includes('host')) {
      throw awsErrors.incompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", 'sigv4: host not signed');
    }
    this.#checkClockSkew(signedAt, now);
    this.#checkScope(auth.credential, amzDate);
    if (expiresSeconds !== undefined && expiresSeconds > 0 && now.getTime() > signedAt.getTime() + expiresSeconds * 1000) {
      throw awsErrors.accessDenied('Request has expired', 'sigv4: presigned URL past X-Amz-Expires');
    }

    const credentials = this.#resolveCredentials(auth.credential.accessKeyId, sessionToken);
    if (credentials.expiration.getTime() <= now.getTime()) throw awsErrors.expiredToken('sigv4: the credentials have expired');

    const payloadHash = sha256Hex(request.body);
    // Only STS-style full-payload signing: a signed x-amz-content-sha256 must be the body's own hash.
    if (auth.signedHeaderNames.includes('x-amz-content-sha256') && singleHeader(headers, 'x-amz-content-sha256') !== payloadHash) {
      throw awsErrors.signatureDoesNotMatch(SIGNATURE_MISMATCH, 'sigv4: x-amz-content-sha256 is not the hash of the body');
    }
    const canonical = canonicalRequest({
      method: request.method,
      path: request.path,
      params,
      presigned,
      headers,
      signedHeaders: auth.signedHeaders,
      signedHeaderNames: auth.signedHeaderNames,
      payloadHash,
    });
    if (canonical === undefined) {
      throw awsErrors.signatureDoesNotMatch(SIGNATURE_MISMATCH, 'sigv4: a signed header is absent, or the path or query is not UTF-8');
    }
    const { date, region, scope } = auth.credential;
    const signingKey = this.#signingKeys.get(credentials.secretAccessKey, date, region, this.#service);
    const expected = createHmac('sha256', signingKey).update(stringToSign(amzDate, scope, canonical)).digest();
    if (!SIGNATURE_HEX.test(auth.signature) || !timingSafeEqual(expected, Buffer.from(auth.signature, 'hex'))) {
      throw awsErrors.signatureDoesNotMatch(SIGNATURE_MISMATCH, 'sigv4: signature mismatch');
    }
    return { accessKeyId: auth.credential.accessKeyId, region, signedAt, presigned, credentials };
  }

  #checkClockSkew(signedAt: Date, now: Date): void {
    const skew = this.#maxClockSkewMs;
    const late = signedAt.getTime() < now.getTime() - skew;
    if (!late && signedAt.getTime() <= now.getTime() + skew) return;
    // AWS's wording, e.g. "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)".
    const span = skew % 60_000 === 0 ? `${skew / 60_000} min.` : `${Math.round(skew / 1000)} sec.`;
    const signed = formatAmzDate(signedAt);
    const current = formatAmzDate(now);
    const bound = formatAmzDate(new Date(now.getTime() + (late ? -skew : skew)));
    throw late
      ? awsErrors.signatureDoesNotMatch(
          `Signature expired: ${signed} is now earlier than ${bound} (${current} - ${span})`,
          'sigv4: request time too far in the past',
        )
      : awsErrors.signatureDoesNotMatch(
          `Signature not yet current: ${signed} is still later than ${bound} (${current} + ${span})`,
          'sigv4: request time too far in the future',
        );
  }

  #checkScope(credential: CredentialScope, amzDate: string): void {
    const problems: string[] = [];
    // Scope parts are quoted back only when they have their expected shape: a mangled Credential may
    // hold a pasted secret key (which contains '/'), and that must not return in the answer.
    if (!REGION.test(credential.region)) problems.push('Credential should be scoped to a valid region.');
    if (credential.service !== this.#service) problems.push(`Credential should be scoped to correct service: '${this.#service}'.`);
    if (credential.terminator !== 'aws4_request') problems.push("Credential should be scoped with a valid terminator: 'aws4_request'.");
    const httpDate = amzDate.slice(0, 8);
    if (credential.date !== httpDate) {
      const got = SCOPE_DATE.test(credential.date) ? `'${credential.date}' != ` : '';
      problems.push(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ${got}'${httpDate}', from '${amzDate}'.`,
      );
    }
    if (problems.length > 0) throw awsErrors.signatureDoesNotMatch(problems.join(' '), 'sigv4: credential scope');
  }
}

/** The signature and what goes with it, as one of the two forms carries them. */
interface ReceivedSignature {
  readonly auth: SigV4Authorization;
  /** The request time as the string to sign has it (basic ISO 8601). */
  readonly amzDate: string;
  readonly signedAt: Date;
  readonly sessionToken: string | undefined;
  readonly expiresSeconds: number | undefined;
}

function fromQuery(params: URLSearchParams): ReceivedSignature {
  const auth = parsePresignedQuery(params);
  const signedAt = parseAmzDate(auth.amzDate) ?? throwBadDate(auth.amzDate);
  return { auth, amzDate: auth.amzDate, signedAt, sessionToken: auth.sessionToken, expiresSeconds: auth.expiresSeconds };
}

function fromHeaders(headers: RequestHeaders): ReceivedSignature {
  const header = singleHeader(headers, 'authorization');
  if (typeof header !== 'string') {
    throw awsErrors.incompleteSignature('Only one Authorization header is allowed.', 'sigv4: Authorization header repeated');
  }
  const xAmzDate = singleHeader(headers, 'x-amz-date');
  const httpDate = singleHeader(headers, 'date');
  const auth = parseAuthorizationHeader(header, xAmzDate !== undefined || httpDate !== undefined);
  const sessionToken = singleHeader(headers, 'x-amz-security-token');
  if (sessionToken === null) throw awsErrors.invalidClientTokenId('sigv4: X-Amz-Security-Token header repeated');
  // X-Amz-Date wins over Date; the string to sign always carries the basic ISO 8601 form.
  if (xAmzDate !== undefined) {
    const amzDate = xAmzDate ?? '';
    return { auth, amzDate, signedAt: parseAmzDate(amzDate) ?? throwBadDate(amzDate), sessionToken, expiresSeconds: undefined };
  }
  const signedAt = typeof httpDate === 'string' ? parseHttpDate(httpDate) : undefined;
  if (signedAt === undefined) {
    throw awsErrors.incompleteSignature(
      `Date must be an RFC 7231 IMF-fixdate (e.g. 'Sun, 22 Nov 2026 00:12:33 GMT'). Got '${httpDate ?? ''}'.`,
      'sigv4: Date header malformed',
    );
  }
  return { auth, amzDate: formatAmzDate(signedAt), signedAt, sessionToken, expiresSeconds: undefined };
}

function throwBadDate(value: string): never {
  throw awsErrors.incompleteSignature(
    `Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    'sigv4: X-Amz-Date malformed',
  );
}
