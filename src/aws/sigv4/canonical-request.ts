import { createHash } from 'node:crypto';
import { ALGORITHM } from './parse-authorization';
import { headerValues, type RequestHeaders } from './headers';
import { uriEncode } from './uri-encode';

// The canonical request and string to sign, rebuilt from the request as received, the way the AWS
// SDKs build them for a non-S3 service (Smithy's SignatureV4, botocore's SigV4Auth).

export interface CanonicalRequestInput {
  readonly method: string;
  /** The path as sent on the wire (still percent-encoded), without the query. */
  readonly path: string;
  /** The parsed query string; for a presigned request X-Amz-Signature is left out. */
  readonly params: URLSearchParams;
  readonly presigned: boolean;
  readonly headers: RequestHeaders;
  /** The SignedHeaders list as sent, and its names. */
  readonly signedHeaders: string;
  readonly signedHeaderNames: readonly string[];
  readonly payloadHash: string;
}

/**
 * The canonical request, or undefined when the request cannot have been signed as it stands (a
 * signed header is absent, or the path or query holds text that has no UTF-8 form).
 */
export function canonicalRequest(input: CanonicalRequestInput): string | undefined {
  const uri = canonicalUri(input.path);
  const query = canonicalQuery(input.params, input.presigned);
  const headers = canonicalHeaders(input.headers, input.signedHeaderNames);
  if (uri === undefined || query === undefined || headers === undefined) return undefined;
  return `${input.method}\n${uri}\n${query}\n${headers}\n${input.signedHeaders}\n${input.payloadHash}`;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Non-S3 services normalise the path (RFC 3986 dot segments, and empty segments dropped) and then
 * URI-encode the wire form once more, so `/a%20b` is signed as `/a%2520b` ("encoded twice").
 */
export function canonicalUri(path: string): string | undefined {
  if (path === '' || path === '/') return '/';
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else {
      const encoded = uriEncode(segment);
      if (encoded === undefined) return undefined;
      segments.push(encoded);
    }
  }
  const lead = path.startsWith('/') ? '/' : '';
  const trail = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `${lead}${segments.join('/')}${trail}`;
}

/** Every parameter as `name=value`, both RFC 3986 encoded, sorted by name and then by value. */
export function canonicalQuery(params: URLSearchParams, presigned: boolean): string | undefined {
  const pairs: [string, string][] = [];
  for (const [name, value] of params) {
    if (presigned && name === 'X-Amz-Signature') continue;
    const encodedName = uriEncode(name);
    const encodedValue = uriEncode(value);
    if (encodedName === undefined || encodedValue === undefined) return undefined;
    pairs.push([encodedName, encodedValue]);
  }
  if (pairs.length > 1) pairs.sort(comparePairs);
  let out = '';
  for (const [name, value] of pairs) out += `${out === '' ? '' : '&'}${name}=${value}`;
  return out;
}

/** `name:value\n` for each signed header in list order; repeated headers' values are joined with ','. */
export function canonicalHeaders(headers: RequestHeaders, names: readonly string[]): string | undefined {
  let out = '';
  for (const name of names) {
    const values = headerValues(headers, name);
    if (values === undefined) return undefined;
    out += `${name}:${values.length === 1 ? normaliseValue(values[0] as string) : values.map(normaliseValue).join(',')}\n`;
  }
  return out;
}

const NEEDS_NORMALISING = /^[ \t]|[ \t]$|[ \t][ \t]|\t/;

/**
 * Each run of spaces and tabs made one space, then a leading and a trailing space dropped: exactly
 * what the SDKs do (String.prototype.trim would also strip other Unicode spaces they keep).
 */
function normaliseValue(value: string): string {
  return NEEDS_NORMALISING.test(value) ? value.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '') : value;
}

function comparePairs(a: [string, string], b: [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}
