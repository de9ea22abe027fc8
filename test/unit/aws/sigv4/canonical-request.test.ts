import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { AwsError, awsErrors } from '../../../../src/aws/aws-error';
import { canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, stringToSign } from '../../../../src/aws/sigv4/canonical-request';
import { parseAuthorizationHeader } from '../../../../src/aws/sigv4/parse-authorization';
import { uriEncode } from '../../../../src/aws/sigv4/uri-encode';
import { SigV4Verifier, type SigV4Request } from '../../../../src/aws/sigv4/verify-sigv4';

// A GetCallerIdentity request as the AWS CLI sent it (captured against a local endpoint). Its secret
// is not known, so what can be checked is the parse and the canonical request built from it.
const CLI_AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID0001/20261122/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=21939f40d005181a9e2a574d39b6cf2a369ef3dc268d343c8400f63268332e54';
const CLI_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const CLI_BODY_SHA256 = 'ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843';
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=';
const CLI_REQUEST: SigV4Request = {
  method: 'POST',
  path: '/',
  query: '',
  headers: {
    host: ['127.0.0.1:18482'],
    'accept-encoding': ['identity'],
    'content-type': ['application/x-www-form-urlencoded; charset=utf-8'],
    'user-agent': ['aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6 cfg/retry-mode#standard md/command#sts.get-caller-identity'],
    'x-amz-date': ['20261122T001233Z'],
    'x-amz-security-token': [TOKEN],
    authorization: [CLI_AUTHORIZATION],
    'content-length': ['43'],
  },
  body: Buffer.from(CLI_BODY),
};

describe('aws/sigv4 the AWS CLI capture', () => {
  it('parses the Authorization header', () => {
    const auth = parseAuthorizationHeader(CLI_AUTHORIZATION, true);
    assert.deepEqual(auth.credential, {
      accessKeyId: 'ASIAEXAMPLEKEYID0001',
      scope: '20261122/us-east-1/sts/aws4_request',
      date: '20261122',
      region: 'us-east-1',
      service: 'sts',
      terminator: 'aws4_request',
    });
    assert.equal(auth.signedHeaders, 'content-type;host;x-amz-date;x-amz-security-token');
    assert.deepEqual(auth.signedHeaderNames, ['content-type', 'host', 'x-amz-date', 'x-amz-security-token']);
    assert.equal(auth.signature, '21939f40d005181a9e2a574d39b6cf2a369ef3dc268d343c8400f63268332e54');
  });

  it('rebuilds the canonical request and string to sign from the signed headers only', () => {
    const auth = parseAuthorizationHeader(CLI_AUTHORIZATION, true);
    assert.equal(createHash('sha256').update(CLI_BODY).digest('hex'), CLI_BODY_SHA256);
    const canonical = canonicalRequest({
      method: 'POST',
      path: '/',
      params: new URLSearchParams(''),
      presigned: false,
      headers: CLI_REQUEST.headers,
      signedHeaders: auth.signedHeaders,
      signedHeaderNames: auth.signedHeaderNames,
      payloadHash: CLI_BODY_SHA256,
    });
    assert.equal(
      canonical,
      [
        'POST',
        '/',
        '',
        'content-type:application/x-www-form-urlencoded; charset=utf-8',
        'host:127.0.0.1:18482',
        'x-amz-date:20261122T001233Z',
        `x-amz-security-token:${TOKEN}`,
        '',
        'content-type;host;x-amz-date;x-amz-security-token',
        CLI_BODY_SHA256,
      ].join('\n'),
    );
    const toSign = stringToSign('20261122T001233Z', auth.credential.scope, canonical as string);
    assert.equal(
      toSign,
      `AWS4-HMAC-SHA256\n20261122T001233Z\n20261122/us-east-1/sts/aws4_request\n${createHash('sha256').update(canonical as string).digest('hex')}`,
    );
  });

  it('passes every check before the credentials, then stops at them (no such key here) or at the HMAC (a wrong secret)', () => {
    const now = new Date('2026-11-22T00:15:00Z');
    const seen: [string, string | undefined][] = [];
    const unknown = new SigV4Verifier({
      resolveCredentials: (accessKeyId, sessionToken) => {
        seen.push([accessKeyId, sessionToken]);
        throw awsErrors.invalidClientTokenId();
      },
    });
    assert.throws(() => unknown.verify(CLI_REQUEST, now), (e: unknown) => e instanceof AwsError && e.code === 'InvalidClientTokenId');
    assert.deepEqual(seen, [['ASIAEXAMPLEKEYID0001', TOKEN]]);
    const guessed = new SigV4Verifier({
      resolveCredentials: () => ({ secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', expiration: new Date('2026-11-22T01:00:00Z') }),
    });
    assert.throws(() => guessed.verify(CLI_REQUEST, now), (e: unknown) => e instanceof AwsError && e.code === 'SignatureDoesNotMatch');
  });
});

describe('aws/sigv4 canonicalUri (non-S3: normalised, then encoded once more)', () => {
  const cases: [string, string][] = [
    ['', '/'],
    ['/', '/'],
    ['//', '/'],
    ['/a//b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/./', '/'],
    ['/a/b/../c', '/a/c'],
    ['/../../a', '/a'],
    ['/a/b/..', '/a'],
    ['/a/b/', '/a/b/'],
    ['/a%20b', '/a%2520b'],
    ['/a%2Fb', '/a%252Fb'],
    ['/%2E%2E/a', '/%252E%252E/a'],
    ['/example space/', '/example%20space/'],
    ['/ሴ', '/%E1%88%B4'],
    ["/a*b!c'd(e)f~g", '/a%2Ab%21c%27d%28e%29f~g'],
    ['/a+b=c;d', '/a%2Bb%3Dc%3Bd'],
  ];
  for (const [path, expected] of cases) {
    it(`${JSON.stringify(path)} → ${expected}`, () => assert.equal(canonicalUri(path), expected));
  }

  it('has no canonical form for a path that is not well-formed UTF-16', () => {
    assert.equal(canonicalUri('/a/\uD800'), undefined);
  });
});

describe('aws/sigv4 canonicalQuery', () => {
  const q = (query: string, presigned = false): string | undefined => canonicalQuery(new URLSearchParams(query), presigned);

  it('sorts by name in code-point order (upper case first), then by value', () => {
    assert.equal(q('Param2=value2&Param1=value1'), 'Param1=value1&Param2=value2');
    assert.equal(q('b=1&B=2&a=3'), 'B=2&a=3&b=1');
    assert.equal(q('Param=Value2&Param=Value1&Param-3=Value3'), 'Param=Value1&Param=Value2&Param-3=Value3');
    // By name first: 'a' sorts before 'a-b' although 'a=' sorts after 'a-'.
    assert.equal(q('a-b=1&a=2'), 'a=2&a-b=1');
  });

  it('keeps repeated parameters, and gives a bare name an empty value', () => {
    assert.equal(q('a=2&a=1&a=2&b'), 'a=1&a=2&a=2&b=');
    assert.equal(q(''), '');
    assert.equal(q('&&a=1&&'), 'a=1');
  });

  it('decodes the wire form and encodes per RFC 3986 (upper-case hex, only unreserved left as is)', () => {
    assert.equal(q('k=%7e%2a%20+'), 'k=~%2A%20%20');
    assert.equal(q('k=a%2Fb%3Dc'), 'k=a%2Fb%3Dc');
    assert.equal(q("k=!'()*"), 'k=%21%27%28%29%2A');
    assert.equal(q('k%C3%A9=%E2%9C%93'), 'k%C3%A9=%E2%9C%93');
    assert.equal(q('X-Amz-Credential=AKID%2F20261122%2Fus-east-1%2Fsts%2Faws4_request'), 'X-Amz-Credential=AKID%2F20261122%2Fus-east-1%2Fsts%2Faws4_request');
  });

  it('leaves out X-Amz-Signature for a presigned request only', () => {
    const query = 'Action=GetCallerIdentity&X-Amz-Signature=abc&X-Amz-Date=20261122T001233Z';
    assert.equal(q(query, true), 'Action=GetCallerIdentity&X-Amz-Date=20261122T001233Z');
    assert.equal(q(query, false), 'Action=GetCallerIdentity&X-Amz-Date=20261122T001233Z&X-Amz-Signature=abc');
  });
});

describe('aws/sigv4 canonicalHeaders', () => {
  it('writes the signed headers in the order listed, values trimmed and runs of spaces made one', () => {
    const headers = { host: ['h:1'], 'x-a': ['  one   two\t three  '], 'x-b': ['b'], 'x-unsigned': ['u'] };
    assert.equal(canonicalHeaders(headers, ['host', 'x-a', 'x-b']), 'host:h:1\nx-a:one two three\nx-b:b\n');
  });

  it('joins repeated headers with commas, each value trimmed', () => {
    assert.equal(canonicalHeaders({ 'x-a': [' 1 ', '2', '3  3'] }, ['x-a']), 'x-a:1,2,3 3\n');
    assert.equal(canonicalHeaders({ 'x-a': 'single' }, ['x-a']), 'x-a:single\n');
  });

  it('keeps other Unicode spaces, as the SDKs do', () => {
    assert.equal(canonicalHeaders({ 'x-a': ['\u00a0a\u00a0'] }, ['x-a']), 'x-a:\u00a0a\u00a0\n');
  });

  it('has no canonical form when a signed header is absent', () => {
    assert.equal(canonicalHeaders({ host: ['h'] }, ['host', 'x-a']), undefined);
    assert.equal(canonicalHeaders({ host: ['h'], 'x-a': [] }, ['host', 'x-a']), undefined);
  });
});

describe('aws/sigv4 uriEncode', () => {
  it('leaves the unreserved characters and encodes everything else as upper-case UTF-8 escapes', () => {
    assert.equal(uriEncode('AZaz09-._~'), 'AZaz09-._~');
    assert.equal(uriEncode(" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}"), '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D');
    assert.equal(uriEncode('é✓😀'), '%C3%A9%E2%9C%93%F0%9F%98%80');
    assert.equal(uriEncode(''), '');
  });

  it('has no encoding for a lone surrogate', () => {
    assert.equal(uriEncode('a\uDC00'), undefined);
  });
});
