import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsError, awsErrors } from '../../../../src/aws/aws-error';
import type { SessionClaims } from '../../../../src/aws/credentials/session-claims';
import { deriveSessionTokenKey, SessionTokenSealer } from '../../../../src/aws/credentials/session-token';
import { newTemporaryCredentials, type TemporaryCredentials } from '../../../../src/aws/credentials/temporary-credentials';
import { sessionCredentialResolver } from '../../../../src/aws/sigv4/session-credentials';
import { SigV4Verifier, type SigV4Request } from '../../../../src/aws/sigv4/verify-sigv4';

// Requests are signed with the AWS SDK's own signer (Smithy's SignatureV4), then turned into what
// the endpoint hands the verifier: the raw path and query as on the wire, and headers as
// IncomingMessage.headersDistinct gives them.

const HOST = '127.0.0.1:8443';
const SIGNED_AT = new Date('2026-11-22T00:12:33Z');
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const MIN = 60_000;

const masterKey = randomBytes(32);
const sealer = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', deriveSessionTokenKey(masterKey, 'k1')]]) });
const verifier = new SigV4Verifier({ resolveCredentials: sessionCredentialResolver(sealer) });

function session(over: Partial<SessionClaims> = {}): Omit<SessionClaims, 'accessKeyId' | 'secretAccessKey'> {
  return {
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/Deployer',
    roleId: 'AROAEXAMPLEROLEID2345',
    roleSessionName: 'alice@example.com',
    providerArn: 'arn:aws:iam::123456789012:saml-provider/Trustbridge',
    issuedAt: new Date(SIGNED_AT.getTime() - 5 * MIN),
    expiration: new Date(SIGNED_AT.getTime() + 60 * MIN),
    sourceIdentity: null,
    tags: [],
    transitiveTagKeys: [],
    sessionPolicy: null,
    policyArns: [],
    ...over,
  };
}

const alice = newTemporaryCredentials(sealer, session());
const bob = newTemporaryCredentials(sealer, session({ roleSessionName: 'bob' }));

interface SignerCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function credentialsOf(t: TemporaryCredentials): SignerCredentials {
  return { accessKeyId: t.claims.accessKeyId, secretAccessKey: t.claims.secretAccessKey, sessionToken: t.sessionToken };
}

function signer(credentials: SignerCredentials = credentialsOf(alice), service = 'sts', applyChecksum = true): SignatureV4 {
  return new SignatureV4({ service, region: 'us-east-1', credentials, sha256: Hash.bind(null, 'sha256'), applyChecksum });
}

function httpRequest(over: { method?: string; path?: string; query?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string } = {}): HttpRequest {
  const method = over.method ?? 'POST';
  return new HttpRequest({
    method,
    protocol: 'https:',
    hostname: '127.0.0.1',
    port: 8443,
    path: over.path ?? '/',
    query: over.query ?? {},
    headers: {
      host: HOST,
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}),
      ...over.headers,
    },
    body: over.body ?? (method === 'POST' ? BODY : undefined),
  });
}

/** RFC 3986 encoding, as the SDK puts query parameters on the wire. */
function enc(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The parts of a signed request (Smithy's HttpRequest) that go on the wire. */
interface SignedRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** What the endpoint would see for a request the SDK sent. */
function wire(req: SignedRequest): SigV4Request {
  const headers: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) (headers[name.toLowerCase()] ??= []).push(value);
  const query = Object.entries(req.query ?? {})
    .flatMap(([name, value]) => (Array.isArray(value) ? value : value === null ? [] : [value]).map((v) => `${enc(name)}=${enc(v)}`))
    .join('&');
  return { method: req.method, path: req.path, query, headers, body: Buffer.from((req.body as string | undefined) ?? '') };
}

async function signed(
  over: Parameters<typeof httpRequest>[0] = {},
  options: { credentials?: SignerCredentials; service?: string; applyChecksum?: boolean; signingDate?: Date; unsignableHeaders?: Set<string> } = {},
): Promise<SigV4Request> {
  const s = signer(options.credentials, options.service, options.applyChecksum);
  return wire(
    await s.sign(httpRequest(over), {
      signingDate: options.signingDate ?? SIGNED_AT,
      ...(options.unsignableHeaders ? { unsignableHeaders: options.unsignableHeaders } : {}),
    }),
  );
}

async function presigned(
  over: Parameters<typeof httpRequest>[0] = {},
  options: { credentials?: SignerCredentials; expiresIn?: number } = {},
): Promise<SigV4Request> {
  const req = httpRequest({ method: 'GET', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, ...over });
  return wire(await signer(options.credentials).presign(req, { signingDate: SIGNED_AT, expiresIn: options.expiresIn ?? 900 }));
}

function header(req: SigV4Request, name: string): string {
  const value = req.headers[name];
  assert.ok(Array.isArray(value) && value.length === 1, `no single ${name} header`);
  return value[0] as string;
}

function withHeader(req: SigV4Request, name: string, value: string | string[] | undefined): SigV4Request {
  const headers = { ...req.headers };
  if (value === undefined) delete headers[name];
  else headers[name] = typeof value === 'string' ? [value] : value;
  return { ...req, headers };
}

function withAuthorization(req: SigV4Request, edit: (value: string) => string): SigV4Request {
  return withHeader(req, 'authorization', edit(header(req, 'authorization')));
}

function signatureOf(req: SigV4Request): string {
  const auth = req.headers['authorization'];
  const source = Array.isArray(auth) ? (auth[0] as string) : req.query;
  return /Signature=([0-9a-f]{64})/.exec(source)?.[1] ?? '';
}

/** Expects `fn` to fail with the given AWS error, and checks that no secret material is in what it says. */
function rejects(
  req: SigV4Request,
  code: string,
  message?: string | RegExp,
  now: Date = SIGNED_AT,
  v: { verify(request: SigV4Request, now: Date): unknown } = verifier,
): AwsError {
  let caught: unknown;
  try {
    v.verify(req, now);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AwsError, `expected ${code}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.code, code, `${caught.code}: ${caught.message} (${caught.logDetail ?? ''})`);
  assert.equal(caught.status, STATUS[code]);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  const said = `${caught.message}\n${caught.logDetail ?? ''}`;
  const signature = signatureOf(req);
  for (const t of [alice, bob]) {
    assert.ok(!said.includes(t.claims.secretAccessKey), 'the error names a secret');
    assert.ok(!said.includes(t.sessionToken.slice(0, 24)), 'the error quotes a session token');
  }
  if (signature !== '') assert.ok(!said.includes(signature), 'the error echoes the signature');
  return caught;
}

/** AWS's HTTP status for each refusal the verifier can give. */
const STATUS: Record<string, number> = {
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  SignatureDoesNotMatch: 403,
  InvalidClientTokenId: 403,
  ExpiredToken: 403,
  AccessDenied: 403,
};

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

describe('aws/sigv4 SigV4Verifier: Authorization header', () => {
  it('verifies a POST signed by the AWS SDK, host with port, and returns the identity', async () => {
    const req = await signed();
    assert.match(header(req, 'authorization'), /^AWS4-HMAC-SHA256 Credential=ASIA/);
    const verified = verifier.verify(req, SIGNED_AT);
    assert.equal(verified.accessKeyId, alice.claims.accessKeyId);
    assert.equal(verified.region, 'us-east-1');
    assert.equal(verified.presigned, false);
    assert.deepEqual(verified.signedAt, SIGNED_AT);
    assert.deepEqual(verified.credentials, alice.claims);
  });

  it('verifies a GET with query parameters, and a path with dot segments and encoded characters', async () => {
    assert.ok(verifier.verify(await signed({ method: 'GET', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } }), SIGNED_AT));
    const odd = await signed({ path: '/a/./b/../c%20d/e*f~g/', query: { 'na me': 'v/a+l=ue', empty: '', ünï: 'cödé' } });
    assert.ok(verifier.verify(odd, SIGNED_AT));
    // AWS normalises the path before signing, so the normalised spelling carries the same signature...
    assert.ok(verifier.verify({ ...odd, path: '/a/c%20d/e*f~g/' }, SIGNED_AT));
    assert.ok(verifier.verify({ ...odd, path: '/a//c%20d/./e*f~g/' }, SIGNED_AT));
    // ...but another path, or the same one encoded differently, does not.
    rejects({ ...odd, path: '/a/c%2520d/e*f~g/' }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...odd, path: '/a/c d/e*f~g/' }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...odd, path: '/a/c%20d/e*f~g' }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...odd, path: '/b/c%20d/e*f~g/' }, 'SignatureDoesNotMatch', MISMATCH);
  });

  it('verifies duplicate query parameters in either order (sorted by value), and refuses a changed one', async () => {
    const req = await signed({ method: 'GET', query: { Action: 'GetCallerIdentity', Tag: ['b', 'a', 'a b'] } });
    assert.ok(verifier.verify(req, SIGNED_AT));
    const reordered = req.query.split('&').reverse().join('&');
    assert.notEqual(reordered, req.query);
    assert.ok(verifier.verify({ ...req, query: reordered }, SIGNED_AT));
    rejects({ ...req, query: req.query.replace('Tag=b', 'Tag=c') }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...req, query: `${req.query}&Tag=a` }, 'SignatureDoesNotMatch', MISMATCH);
    // A form-encoded space ('+') reads as the %20 that was signed, as URLSearchParams reads it.
    assert.ok(verifier.verify({ ...req, query: req.query.replace('a%20b', 'a+b') }, SIGNED_AT));
  });

  it('accepts the header components in any order and with or without spaces', async () => {
    const req = await signed();
    const value = header(req, 'authorization');
    const [, parts] = /^AWS4-HMAC-SHA256 (.*)$/.exec(value) as RegExpExecArray;
    const [credential, signedHeaders, signature] = (parts as string).split(', ') as [string, string, string];
    for (const variant of [
      `AWS4-HMAC-SHA256 ${signature}, ${credential}, ${signedHeaders}`,
      `AWS4-HMAC-SHA256 ${credential},${signedHeaders},${signature}`,
      `AWS4-HMAC-SHA256   ${signedHeaders} ,  ${signature},${credential}  `,
    ]) {
      assert.ok(verifier.verify(withHeader(req, 'authorization', variant), SIGNED_AT), variant);
    }
  });

  it('accepts header names in any case and an unsigned header added on the way', async () => {
    const req = await signed();
    const upper: Record<string, string | readonly string[] | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) upper[name.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase())] = value;
    assert.ok(verifier.verify({ ...req, headers: upper }, SIGNED_AT));
    assert.ok(verifier.verify(withHeader(req, 'x-forwarded-for', '10.0.0.1'), SIGNED_AT));
    assert.ok(verifier.verify(withHeader(req, 'user-agent', 'aws-cli/2.0'), SIGNED_AT));
  });

  it('canonicalises header values: trimmed, runs of spaces collapsed, repeated headers joined with commas', async () => {
    const req = await signed({ headers: { 'x-amz-meta-note': 'a,b   c' } });
    assert.match(header(req, 'authorization'), /x-amz-meta-note/);
    assert.ok(verifier.verify(withHeader(req, 'x-amz-meta-note', ['  a', 'b \t c  ']), SIGNED_AT));
    rejects(withHeader(req, 'x-amz-meta-note', ['a', 'b', 'c']), 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses a request whose body was changed (x-amz-content-sha256 signed, or not)', async () => {
    const req = await signed();
    assert.ok(req.headers['x-amz-content-sha256']);
    rejects({ ...req, body: Buffer.from('Action=AssumeRole&Version=2011-06-15') }, 'SignatureDoesNotMatch', MISMATCH);
    const plain = await signed({}, { applyChecksum: false });
    assert.equal(plain.headers['x-amz-content-sha256'], undefined);
    assert.ok(verifier.verify(plain, SIGNED_AT));
    rejects({ ...plain, body: Buffer.from(`${BODY}&x=1`) }, 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses a signed x-amz-content-sha256 that is not the hash of the body, even when signed as such', async () => {
    const bogus = createHash('sha256').update('something else').digest('hex');
    const req = await signed({ headers: { 'x-amz-content-sha256': bogus } });
    const e = rejects(req, 'SignatureDoesNotMatch', MISMATCH);
    assert.match(e.logDetail ?? '', /x-amz-content-sha256/);
    const unsigned = await signed({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    rejects(unsigned, 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses a changed signed header, a removed signed header, and a changed host or port', async () => {
    const req = await signed();
    rejects(withHeader(req, 'content-type', 'application/json'), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withHeader(req, 'content-type', undefined), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withHeader(req, 'host', '127.0.0.1:8444'), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withHeader(req, 'host', '127.0.0.1'), 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...req, method: 'PUT' }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...req, query: 'Action=GetCallerIdentity' }, 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses a signature made with the wrong secret', async () => {
    const wrong = { ...credentialsOf(alice), secretAccessKey: bob.claims.secretAccessKey };
    rejects(await signed({}, { credentials: wrong }), 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses a signature that is not 64 lower-case hex digits', async () => {
    const req = await signed();
    const sig = signatureOf(req);
    rejects(withAuthorization(req, (v) => v.replace(sig, sig.toUpperCase())), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withAuthorization(req, (v) => v.replace(sig, sig.slice(0, 62))), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withAuthorization(req, (v) => v.replace(sig, `${sig}00`)), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withAuthorization(req, (v) => v.replace(sig, `${sig.slice(0, 63)}g`)), 'SignatureDoesNotMatch', MISMATCH);
  });

  describe('clock skew (±15 minutes)', () => {
    it('accepts a request signed 14 minutes ago or 14 minutes ahead', async () => {
      const req = await signed();
      assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 14 * MIN)));
      assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() - 14 * MIN)));
      assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 15 * MIN)));
    });

    it("refuses one signed 16 minutes ago with AWS's 'Signature expired' wording", async () => {
      rejects(
        await signed(),
        'SignatureDoesNotMatch',
        'Signature expired: 20261122T001233Z is now earlier than 20261122T001333Z (20261122T002833Z - 15 min.)',
        new Date(SIGNED_AT.getTime() + 16 * MIN),
      );
    });

    it("refuses one signed 16 minutes ahead with AWS's 'Signature not yet current' wording", async () => {
      rejects(
        await signed(),
        'SignatureDoesNotMatch',
        'Signature not yet current: 20261122T001233Z is still later than 20261122T001133Z (20261121T235633Z + 15 min.)',
        new Date(SIGNED_AT.getTime() - 16 * MIN),
      );
    });
  });

  describe('malformed Authorization', () => {
    const hashOf = (value: string): string => createHash('sha256').update(value).digest('base64');

    it('no Authorization header and no presigned query: MissingAuthenticationToken', async () => {
      const req = withHeader(await signed(), 'authorization', undefined);
      rejects(req, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      rejects({ method: 'GET', path: '/', query: 'Action=GetCallerIdentity&Version=2011-06-15', headers: { host: [HOST] }, body: Buffer.alloc(0) }, 'MissingAuthenticationToken');
    });

    it('each missing parameter is named, and the header is quoted only as its SHA-256', async () => {
      const req = await signed();
      const value = header(req, 'authorization');
      const cases: [RegExp, string][] = [
        [/Credential=[^,]+, /, "Authorization header requires 'Credential' parameter."],
        [/SignedHeaders=[^,]+, /, "Authorization header requires 'SignedHeaders' parameter."],
        [/, Signature=[0-9a-f]+/, "Authorization header requires 'Signature' parameter."],
        [/Signature=[0-9a-f]+/, "Authorization header requires 'Signature' parameter."],
      ];
      for (const [cut, expected] of cases) {
        const broken = value.replace(cut, (m) => (m.startsWith('Signature') ? 'Signature=' : ''));
        const e = rejects(withHeader(req, 'authorization', broken), 'IncompleteSignature');
        assert.equal(e.status, 400);
        assert.equal(e.message, `${expected} Authorization=${hashOf(broken)} (hashed with SHA-256 and encoded with Base64)`);
      }
    });

    it('a bare algorithm lacks all three; a request without any date says so too', async () => {
      const req = withHeader(await signed(), 'authorization', 'AWS4-HMAC-SHA256');
      rejects(
        withHeader(req, 'x-amz-date', undefined),
        'IncompleteSignature',
        `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${hashOf('AWS4-HMAC-SHA256')} (hashed with SHA-256 and encoded with Base64)`,
      );
      const noDate = withHeader(await signed(), 'x-amz-date', undefined);
      rejects(noDate, 'IncompleteSignature', /^Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\. Authorization=/);
    });

    it('a component without an equal sign', async () => {
      const req = await signed();
      for (const broken of ['Bearer eyJhbGciOiJIUzI1NiJ9', `${header(req, 'authorization')}, junk`]) {
        rejects(
          withHeader(req, 'authorization', broken),
          'IncompleteSignature',
          `Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '${hashOf(broken)}'.`,
        );
      }
    });

    it('a repeated parameter, and a repeated Authorization header', async () => {
      const req = await signed();
      const value = header(req, 'authorization');
      rejects(withHeader(req, 'authorization', `${value}, Signature=${'0'.repeat(64)}`), 'IncompleteSignature', /more than one 'Signature' parameter/);
      rejects(withHeader(req, 'authorization', [value, value]), 'IncompleteSignature', 'Only one Authorization header is allowed.');
    });

    it('another algorithm, quoted only when it looks like a scheme name', async () => {
      const req = await signed();
      rejects(withAuthorization(req, (v) => v.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')), 'IncompleteSignature', "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'");
      rejects(withAuthorization(req, (v) => v.replace('AWS4-HMAC-SHA256', 'secret/with+chars=')), 'IncompleteSignature', "Unsupported AWS 'algorithm'");
    });

    it('a Credential that is not five slash-separated elements', async () => {
      const req = await signed();
      for (const edit of [(v: string) => v.replace('/us-east-1', ''), (v: string) => v.replace('/aws4_request', '/aws4_request/x')]) {
        rejects(withAuthorization(req, edit), 'IncompleteSignature', 'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.');
      }
    });

    it('SignedHeaders that are not lower-case header names', async () => {
      const req = await signed();
      for (const edit of [(v: string) => v.replace('SignedHeaders=content-type', 'SignedHeaders=Content-Type'), (v: string) => v.replace(';host;', ';;host;')]) {
        rejects(withAuthorization(req, edit), 'IncompleteSignature', /^'SignedHeaders' must be/);
      }
    });

    it('host not signed', async () => {
      const req = await signed();
      rejects(withAuthorization(req, (v) => v.replace(';host;', ';')), 'IncompleteSignature', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    });

    it('an X-Amz-Date not in ISO 8601 basic format', async () => {
      const req = await signed();
      for (const bad of ['2026-11-22T00:12:33Z', '20261122T001233', '20261131T001233Z', '20261122T241233Z']) {
        rejects(withHeader(req, 'x-amz-date', bad), 'IncompleteSignature', `Date must be in ISO-8601 'basic format'. Got '${bad}'. See http://en.wikipedia.org/wiki/ISO_8601`);
      }
    });
  });

  describe('credential scope', () => {
    it('another service', async () => {
      rejects(await signed({}, { service: 'iam' }), 'SignatureDoesNotMatch', "Credential should be scoped to correct service: 'sts'.");
    });

    it('another terminator', async () => {
      const req = withAuthorization(await signed(), (v) => v.replace('/aws4_request', '/aws5_request'));
      rejects(req, 'SignatureDoesNotMatch', "Credential should be scoped with a valid terminator: 'aws4_request'.");
    });

    it('a scope date that is not the date of X-Amz-Date', async () => {
      const req = withAuthorization(await signed(), (v) => v.replace('/20261122/', '/20261121/'));
      rejects(req, 'SignatureDoesNotMatch', "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261121' != '20261122', from '20261122T001233Z'.");
      // X-Amz-Date moved within the same day: the scope still matches, the HMAC does not.
      rejects(withHeader(await signed(), 'x-amz-date', '20261122T001000Z'), 'SignatureDoesNotMatch', MISMATCH);
    });

    it('an invalid region, with all the scope problems in one message', async () => {
      const req = withAuthorization(await signed({}, { service: 'iam' }), (v) => v.replace('/us-east-1/', '/US_EAST/').replace('/aws4_request', '/x'));
      rejects(
        req,
        'SignatureDoesNotMatch',
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'sts'. Credential should be scoped with a valid terminator: 'aws4_request'.",
      );
    });

    it('returns the region the client signed for', async () => {
      const s = new SignatureV4({ service: 'sts', region: 'eu-west-3', credentials: credentialsOf(alice), sha256: Hash.bind(null, 'sha256') });
      const req = wire(await s.sign(httpRequest(), { signingDate: SIGNED_AT }));
      assert.equal(verifier.verify(req, SIGNED_AT).region, 'eu-west-3');
    });
  });

  describe('temporary credentials', () => {
    it('refuses an ASIA key without its session token', async () => {
      const req = withHeader(await signed(), 'x-amz-security-token', undefined);
      rejects(req, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    });

    it('accepts the session token unsigned, as AWS does (it is bound to the key id and secret anyway)', async () => {
      const req = await signed({}, { unsignableHeaders: new Set(['x-amz-security-token']) });
      assert.doesNotMatch(header(req, 'authorization'), /x-amz-security-token/);
      assert.ok(verifier.verify(req, SIGNED_AT));
    });

    it('refuses a session token issued for another access key id', async () => {
      const mixed = { ...credentialsOf(alice), sessionToken: bob.sessionToken };
      const e = rejects(await signed({}, { credentials: mixed }), 'InvalidClientTokenId');
      assert.match(e.logDetail ?? '', /another access key id/);
      // Even unsigned and swapped in afterwards.
      const swapped = withHeader(await signed({}, { unsignableHeaders: new Set(['x-amz-security-token']) }), 'x-amz-security-token', bob.sessionToken);
      rejects(swapped, 'InvalidClientTokenId');
    });

    it('refuses a tampered session token (a flipped byte)', async () => {
      const bytes = Buffer.from(alice.sessionToken, 'base64');
      bytes[40] = (bytes[40] as number) ^ 0xff;
      const tampered = { ...credentialsOf(alice), sessionToken: bytes.toString('base64') };
      rejects(await signed({}, { credentials: tampered }), 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    });

    it('refuses a token sealed under another key id, or under an unknown one', async () => {
      const elsewhere = new SessionTokenSealer({ currentKeyId: 'k2', keys: new Map([['k2', deriveSessionTokenKey(masterKey, 'k2')]]) });
      const foreign = newTemporaryCredentials(elsewhere, session());
      rejects(await signed({}, { credentials: credentialsOf(foreign) }), 'InvalidClientTokenId');
      const impostor = new SessionTokenSealer({ currentKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
      rejects(await signed({}, { credentials: credentialsOf(newTemporaryCredentials(impostor, session())) }), 'InvalidClientTokenId');
      // A node that knows k2 as well accepts it: key rotation.
      const both = new SessionTokenSealer({
        currentKeyId: 'k2',
        keys: new Map([['k1', deriveSessionTokenKey(masterKey, 'k1')], ['k2', deriveSessionTokenKey(masterKey, 'k2')]]),
      });
      const rotating = new SigV4Verifier({ resolveCredentials: sessionCredentialResolver(both) });
      assert.ok(rotating.verify(await signed({}, { credentials: credentialsOf(foreign) }), SIGNED_AT));
      assert.ok(rotating.verify(await signed(), SIGNED_AT));
    });

    it('refuses a long-term (AKIA) key, which this service does not issue', async () => {
      const longTerm = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
      rejects(await signed({}, { credentials: longTerm }), 'InvalidClientTokenId');
      rejects(await signed({}, { credentials: { ...longTerm, sessionToken: alice.sessionToken } }), 'InvalidClientTokenId');
    });

    it('refuses expired credentials with ExpiredToken', async () => {
      const expired = newTemporaryCredentials(sealer, session({ expiration: new Date(SIGNED_AT.getTime() - 1000) }));
      rejects(await signed({}, { credentials: credentialsOf(expired) }), 'ExpiredToken', 'The security token included in the request is expired');
      // Still fine a second before expiry; expired at the very instant.
      const edge = newTemporaryCredentials(sealer, session({ expiration: new Date(SIGNED_AT.getTime() + 2000) }));
      const req = await signed({}, { credentials: credentialsOf(edge) });
      assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 1000)));
      rejects(req, 'ExpiredToken', undefined, new Date(SIGNED_AT.getTime() + 2000));
    });

    it('refuses a repeated X-Amz-Security-Token header', async () => {
      const req = await signed();
      rejects(withHeader(req, 'x-amz-security-token', [alice.sessionToken, alice.sessionToken]), 'InvalidClientTokenId');
    });
  });
});

describe('aws/sigv4 SigV4Verifier: presigned URL', () => {
  it('verifies a GetCallerIdentity URL presigned by the AWS SDK', async () => {
    const req = await presigned();
    assert.match(req.query, /X-Amz-Signature=[0-9a-f]{64}/);
    assert.match(req.query, /X-Amz-Security-Token=/);
    assert.equal(req.headers['authorization'], undefined);
    const verified = verifier.verify(req, SIGNED_AT);
    assert.equal(verified.presigned, true);
    assert.equal(verified.accessKeyId, alice.claims.accessKeyId);
    assert.deepEqual(verified.credentials, alice.claims);
  });

  it('verifies an EKS-style token URL with a signed x-k8s-aws-id header, and refuses it without the header', async () => {
    const req = await presigned({ headers: { 'x-k8s-aws-id': 'my-cluster' } }, { expiresIn: 60 });
    assert.match(decodeURIComponent(req.query), /X-Amz-SignedHeaders=host;x-k8s-aws-id/);
    assert.ok(verifier.verify(req, SIGNED_AT));
    rejects(withHeader(req, 'x-k8s-aws-id', 'other-cluster'), 'SignatureDoesNotMatch', MISMATCH);
    rejects(withHeader(req, 'x-k8s-aws-id', undefined), 'SignatureDoesNotMatch', MISMATCH);
  });

  it('verifies with the parameters in any order; refuses a changed or added parameter', async () => {
    const req = await presigned();
    assert.ok(verifier.verify({ ...req, query: req.query.split('&').reverse().join('&') }, SIGNED_AT));
    rejects({ ...req, query: req.query.replace('Action=GetCallerIdentity', 'Action=AssumeRole') }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...req, query: `${req.query}&DurationSeconds=3600` }, 'SignatureDoesNotMatch', MISMATCH);
    rejects({ ...req, query: `${req.query}&Action=GetCallerIdentity` }, 'SignatureDoesNotMatch', MISMATCH);
    rejects(withHeader(req, 'host', 'sts.amazonaws.com'), 'SignatureDoesNotMatch', MISMATCH);
  });

  it('honours a shorter X-Amz-Expires: AccessDenied "Request has expired" once past it', async () => {
    const req = await presigned({}, { expiresIn: 60 });
    assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 59_000)));
    assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 60_000)));
    rejects(req, 'AccessDenied', 'Request has expired', new Date(SIGNED_AT.getTime() + 61_000));
  });

  it('never lives past the 15-minute window, whatever X-Amz-Expires says (STS behaviour)', async () => {
    const req = await presigned({}, { expiresIn: 3600 });
    assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 14 * MIN)));
    rejects(req, 'SignatureDoesNotMatch', /^Signature expired: 20261122T001233Z is now earlier than/, new Date(SIGNED_AT.getTime() + 16 * MIN));
    rejects(req, 'SignatureDoesNotMatch', /^Signature not yet current:/, new Date(SIGNED_AT.getTime() - 16 * MIN));
  });

  it('treats X-Amz-Expires=0 (older aws-iam-authenticator tokens) as no further limit, as STS ignores it', async () => {
    const req = await presigned({}, { expiresIn: 0 });
    assert.match(req.query, /X-Amz-Expires=0/);
    assert.ok(verifier.verify(req, new Date(SIGNED_AT.getTime() + 10 * MIN)));
  });

  it('refuses an X-Amz-Expires that is not a number of seconds up to a week', async () => {
    const req = await presigned();
    rejects({ ...req, query: req.query.replace('X-Amz-Expires=900', 'X-Amz-Expires=604801') }, 'IncompleteSignature', 'X-Amz-Expires must be less than a week (in seconds) that is; 604800');
    rejects({ ...req, query: req.query.replace('X-Amz-Expires=900', 'X-Amz-Expires=-1') }, 'IncompleteSignature', 'X-Amz-Expires should be a number');
    rejects({ ...req, query: req.query.replace('X-Amz-Expires=900', 'X-Amz-Expires=15m') }, 'IncompleteSignature', 'X-Amz-Expires should be a number');
    rejects({ ...req, query: `${req.query}&X-Amz-Expires=900` }, 'IncompleteSignature', 'X-Amz-Expires should be a number');
    // Dropping it changes what was signed.
    rejects({ ...req, query: req.query.replace(/&?X-Amz-Expires=900/, '') }, 'SignatureDoesNotMatch', MISMATCH);
  });

  it('refuses missing or repeated X-Amz-* parameters', async () => {
    const req = await presigned();
    const expected = /^AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Signature', each once/;
    for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      const without = req.query.split('&').filter((p) => !p.startsWith(`${name}=`)).join('&');
      rejects({ ...req, query: without }, 'IncompleteSignature', expected);
      const param = req.query.split('&').find((p) => p.startsWith(`${name}=`)) as string;
      rejects({ ...req, query: `${req.query}&${param}` }, 'IncompleteSignature', expected);
    }
    rejects({ ...req, query: `${req.query}&X-Amz-Security-Token=${enc(alice.sessionToken)}` }, 'InvalidClientTokenId');
  });

  it('refuses another algorithm, a malformed date and an unsigned host', async () => {
    const req = await presigned();
    rejects({ ...req, query: req.query.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256') }, 'IncompleteSignature', "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'");
    rejects({ ...req, query: req.query.replace('X-Amz-Date=20261122T001233Z', 'X-Amz-Date=20261122') }, 'IncompleteSignature', /^Date must be in ISO-8601 'basic format'/);
    rejects({ ...req, query: req.query.replace('X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=x-amz-date') }, 'IncompleteSignature', /'Host' or ':authority'/);
  });

  it('refuses an ASIA key without its token, and a token for another key', async () => {
    const req = await presigned();
    rejects({ ...req, query: req.query.replace(/&?X-Amz-Security-Token=[^&]*/, '') }, 'InvalidClientTokenId');
    rejects({ ...req, query: req.query.replace(/X-Amz-Security-Token=[^&]*/, `X-Amz-Security-Token=${enc(bob.sessionToken)}`) }, 'InvalidClientTokenId');
  });

  it('refuses a URL that carries an Authorization header as well', async () => {
    const req = await presigned();
    const both = withHeader(req, 'authorization', header(await signed(), 'authorization'));
    rejects(both, 'IncompleteSignature', /^Only one auth mechanism allowed/);
  });

  it('refuses expired credentials even inside the URL lifetime', async () => {
    const short = newTemporaryCredentials(sealer, session({ expiration: new Date(SIGNED_AT.getTime() + MIN) }));
    const req = await presigned({}, { credentials: credentialsOf(short), expiresIn: 900 });
    assert.ok(verifier.verify(req, SIGNED_AT));
    rejects(req, 'ExpiredToken', undefined, new Date(SIGNED_AT.getTime() + 2 * MIN));
  });
});

describe('aws/sigv4 SigV4Verifier: AWS signature test suite vectors (hand-made, independent of the SDK)', () => {
  // From the AWS SigV4 test suite: service 'service', us-east-1, 20150830T123600Z.
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const at = new Date('2015-08-30T12:36:00Z');
  const suite = new SigV4Verifier({
    service: 'service',
    resolveCredentials: (accessKeyId) => {
      if (accessKeyId !== 'AKIDEXAMPLE') throw awsErrors.invalidClientTokenId();
      return { secretAccessKey: secret, expiration: new Date('2100-01-01T00:00:00Z') };
    },
  });
  const request = (method: string, query: string, signature: string, signedHeaders = 'host;x-amz-date'): SigV4Request => ({
    method,
    path: '/',
    query,
    headers: {
      host: ['example.amazonaws.com'],
      'x-amz-date': ['20150830T123600Z'],
      authorization: [`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`],
    },
    body: Buffer.alloc(0),
  });

  it('get-vanilla', () => {
    assert.ok(suite.verify(request('GET', '', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'), at));
  });

  it('post-vanilla', () => {
    assert.ok(suite.verify(request('POST', '', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'), at));
  });

  it('get-vanilla-query-order-key-case', () => {
    assert.ok(suite.verify(request('GET', 'Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'), at));
  });

  it('a Date header in place of X-Amz-Date (its basic-format time goes into the string to sign)', async () => {
    // Signed here by the SDK's string signer over a canonical request written out by hand.
    const canonical = [
      'GET',
      '/',
      '',
      'date:Sun, 30 Aug 2015 12:36:00 GMT',
      'host:example.amazonaws.com',
      '',
      'date;host',
      createHash('sha256').update('').digest('hex'),
    ].join('\n');
    const toSign = ['AWS4-HMAC-SHA256', '20150830T123600Z', '20150830/us-east-1/service/aws4_request', createHash('sha256').update(canonical).digest('hex')].join('\n');
    const s = new SignatureV4({ service: 'service', region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret }, sha256: Hash.bind(null, 'sha256') });
    const signature = await s.sign(toSign, { signingDate: at });
    const req: SigV4Request = {
      method: 'GET',
      path: '/',
      query: '',
      headers: {
        host: ['example.amazonaws.com'],
        date: ['Sun, 30 Aug 2015 12:36:00 GMT'],
        authorization: [`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=date;host, Signature=${signature}`],
      },
      body: Buffer.alloc(0),
    };
    assert.deepEqual(suite.verify(req, at).signedAt, at);
    rejects(withHeader(req, 'date', 'Sun, 30 Aug 2015 12:36:01 GMT'), 'SignatureDoesNotMatch', MISMATCH, at, suite);
    rejects(withHeader(req, 'date', '2015-08-30T12:36:00Z'), 'IncompleteSignature', /^Date must be an RFC 7231 IMF-fixdate/, at, suite);
  });
});
