import { strict as assert } from 'node:assert';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  b64,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_PROVIDER_ARN,
  mintAssertion,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  type IssuedCredentials,
} from '../../support/aws-sts';
import { documentRefused, FORM_CONTENT_TYPE, startAwsAttackSts, type AwsAttackSts } from '../../support/attacks/aws-attack-sts';
import {
  billionLaughs,
  externalDtd,
  externalEntity,
  gzipBomb,
  many,
  nested,
  padding,
  utf16WithDoctype,
  withDoctype,
} from '../../support/attacks/hostile-documents';
import { startOutboundListener, type OutboundListener } from '../../support/attacks/outbound-listener';
import type { PostResult } from '../../support/sts-post';

// The AWS Query API (POST / with a form body, GET / with a query) fed what no AWS client sends:
// SAMLAssertion values that are not base64, or decode to something other than one safe XML document
// (a DTD, XXE, billion laughs, two roots, a UTF-16 DOCTYPE, nesting and breadth over the limits);
// bodies that are not form encoding (other content types, truncated or invalid percent escapes, a
// gzip bomb); parameter pollution (a name twice, also through percent-encoding); parameters and bodies
// over the limits; actions carrying NULs or CRLF; and presigned URLs and Authorization headers whose
// SigV4 parts are malformed. Each gets AWS's error code and HTTP status, and consumes nothing.

const enc = encodeURIComponent;
const INVALID_BASE64 = 'SAMLAssertion is not valid base64.';
const NOT_FORM = 'The request body must be application/x-www-form-urlencoded (the AWS Query protocol).';
const BAD_ESCAPE = 'The request body is not valid form encoding (a malformed percent escape).';

/** An AssumeRoleWithSAML form body, SAMLAssertion given as it goes on the wire (already base64). */
const formBody = (samlAssertion: string, extra = ''): string =>
  `Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=${enc(ROLE_ARN)}&PrincipalArn=${enc(EXTERNAL_PROVIDER_ARN)}&SAMLAssertion=${enc(samlAssertion)}${extra}`;

describe('attacks: malformed input on the AWS Query API (AssumeRoleWithSAML, GetCallerIdentity, presigned GET)', function () {
  this.timeout(60_000);
  let sts: AwsAttackSts;
  let outbound: OutboundListener;
  let credentials: IssuedCredentials;

  before(async () => {
    sts = await startAwsAttackSts();
    outbound = await startOutboundListener();
    credentials = expectCredentials(await exchange(sts, mintAssertion({ key: sts.externalKey }).xml, { roleArn: OTHER_ROLE_ARN }));
  });
  afterEach(() => {
    assert.equal(outbound.connections(), 0, 'the server connected to a URL named in the document');
  });
  after(async () => {
    await outbound?.close();
    await sts?.stop();
  });

  const genuine = (): string => mintAssertion({ key: sts.externalKey }).xml;
  const refused = async (send: () => Promise<PostResult>, status: number, code: string, message: string | RegExp): Promise<void> => {
    expectAwsRefusal(sts, await sts.attack(send), { status, code, message });
  };
  const invalidToken = (send: () => Promise<PostResult>, message: string): Promise<void> => refused(send, 400, 'InvalidIdentityToken', message);
  const withAssertion = (xml: string | Buffer): (() => Promise<PostResult>) => () =>
    sts.postRaw(formBody(Buffer.isBuffer(xml) ? xml.toString('base64') : b64(xml)));

  describe('SAMLAssertion that is not base64', () => {
    for (const [name, value] of [
      ['malformed base64 (punctuation)', '!!!!not-base64!!!!'],
      ['base64 with junk appended', `${b64('<x/>')}$$$$`],
      ['base64 with junk inside (Node\'s decoder would skip it)', `${b64('<Assertion/>').slice(0, 4)}@@@@${b64('<Assertion/>').slice(4)}`],
      ['base64url (- and _) of a genuine assertion', 'PD94_-_-'],
      ['base64 without its padding', 'PHgvP'],
    ] as const) {
      it(`${name} on AssumeRoleWithSAML → InvalidIdentityToken 400`, () => invalidToken(() => sts.postRaw(formBody(value)), INVALID_BASE64));
    }
  });

  describe('SAMLAssertion that decodes to something other than one safe XML document', () => {
    it('base64 of text that is not XML → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion('just some text, no markup'), documentRefused('the XML is not well-formed')));

    it('base64 of binary data (a PNG header) → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')), documentRefused('the XML holds a character XML does not allow')));

    it('base64 of white space only → InvalidIdentityToken 400', () => invalidToken(withAssertion('    \n  '), documentRefused('the XML has no root element')));

    it('billion laughs around a genuine assertion → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(withDoctype(genuine(), billionLaughs('Assertion'), { at: '>alice<', ref: '>&lol9;<' })), documentRefused('a DOCTYPE or entity declaration is not allowed')));

    it('XXE: an external entity naming file:///etc/passwd in the NameID → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(withDoctype(genuine(), externalEntity('Assertion', 'file:///etc/passwd'), { at: '>alice<', ref: '>&xxe;<' })), documentRefused('a DOCTYPE or entity declaration is not allowed')));

    it('an external DTD on a loopback URL → InvalidIdentityToken 400, never fetched', () =>
      invalidToken(withAssertion(withDoctype(genuine(), externalDtd('Assertion', outbound.url))), documentRefused('a DOCTYPE or entity declaration is not allowed')));

    it('a DOCTYPE hidden by UTF-16 → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(utf16WithDoctype(`<?xml version="1.0" encoding="utf-8"?>${genuine()}`, billionLaughs('Assertion'))), documentRefused('the XML holds a character XML does not allow')));

    it('a character reference to U+0000 in the NameID → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(genuine().replace('>alice<', '>alice&#0;<')), documentRefused('the XML is not well-formed')));

    it('an ISO-8859-1 encoding declaration → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(`<?xml version="1.0" encoding="ISO-8859-1"?>${genuine()}`), documentRefused('only UTF-8 is accepted, not iso-8859-1')));

    it('two root elements (a second, evil assertion after the genuine one) → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(genuine() + genuine().replace(/>alice</g, '>admin<')), documentRefused('the XML has more than one root element')));

    it('nesting beyond limits.maxDepth inside the assertion → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(genuine().replace('</Subject>', `${nested(sts.instance.config.limits.maxDepth)}</Subject>`)), documentRefused('the XML is nested deeper than 48 levels')));

    it('more elements than limits.maxElements inside the assertion → InvalidIdentityToken 400', () =>
      invalidToken(withAssertion(genuine().replace('</Subject>', `${many(sts.instance.config.limits.maxElements)}</Subject>`)), documentRefused('the XML has more than 4000 elements')));
  });

  describe('bodies that are not form encoding', () => {
    for (const [name, contentType] of [
      ['a JSON body (application/json)', 'application/json'],
      ['a SOAP body (text/xml)', 'text/xml; charset=utf-8'],
      ['a multipart/form-data body', 'multipart/form-data; boundary=x'],
      ['a form content type prefix trick (application/x-www-form-urlencodedx)', 'application/x-www-form-urlencodedx'],
    ] as const) {
      it(`${name} on POST / → InvalidParameterValue 400`, () =>
        refused(() => sts.postRaw(formBody(b64(genuine())), { headers: { 'Content-Type': contentType } }), 400, 'InvalidParameterValue', NOT_FORM));
    }

    it('no Content-Type on POST / → InvalidParameterValue 400', () => refused(() => sts.postRaw(formBody(b64(genuine())), { headers: {} }), 400, 'InvalidParameterValue', NOT_FORM));

    it('a truncated percent escape at the end of the body ("%") → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(`${formBody(b64(genuine()))}%`), 400, 'InvalidParameterValue', BAD_ESCAPE));

    it('a truncated percent escape in a value ("%4") → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(formBody(b64(genuine())).replace('Version=2011-06-15', 'Version=2011-06-15%4')), 400, 'InvalidParameterValue', BAD_ESCAPE));

    it('a percent escape that is not hex ("%G1") → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(`${formBody(b64(genuine()))}&Extra=%G1`), 400, 'InvalidParameterValue', BAD_ESCAPE));

    it('percent-encoded invalid UTF-8 (an overlong "/", %C0%AF) → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(`${formBody(b64(genuine()))}&Extra=%C0%AF`), 400, 'InvalidParameterValue', BAD_ESCAPE));

    it('a gzip bomb (Content-Encoding: gzip, 8 MiB inflated) is never inflated → MissingAction 400', () =>
      refused(() => sts.postRaw(gzipBomb(8), { headers: { 'Content-Type': FORM_CONTENT_TYPE, 'Content-Encoding': 'gzip' } }), 400, 'MissingAction', 'Missing Action'));
  });

  describe('parameter pollution and sizes', () => {
    it('RoleArn twice (two roles) → InvalidParameterValue 400, neither is used', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), `&RoleArn=${enc(OTHER_ROLE_ARN)}`)), 400, 'InvalidParameterValue', 'The parameter RoleArn appears more than once.'));

    it('RoleArn twice, the second spelled with a percent escape ("Role%41rn") → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), `&Role%41rn=${enc(OTHER_ROLE_ARN)}`)), 400, 'InvalidParameterValue', 'The parameter RoleArn appears more than once.'));

    it('Action twice (AssumeRoleWithSAML and GetCallerIdentity) → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), '&Action=GetCallerIdentity')), 400, 'InvalidParameterValue', 'The parameter Action appears more than once.'));

    it('SAMLAssertion twice (a genuine one and an evil one) → InvalidParameterValue 400, the genuine one not consumed', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), `&SAMLAssertion=${enc(b64(genuine().replace(/>alice</g, '>admin<')))}`)), 400, 'InvalidParameterValue', 'The parameter SAMLAssertion appears more than once.'));

    it('a huge parameter (SAMLAssertion of 100,001 characters) → ValidationError 400', () =>
      refused(
        () => sts.postRaw(formBody('A'.repeat(100_001))),
        400,
        'ValidationError',
        "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000",
      ));

    it('201 parameters → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), Array.from({ length: 196 }, (_, i) => `&P${i}=x`).join(''))), 400, 'InvalidParameterValue', 'A request may carry at most 200 parameters.'));

    it('an oversized body announced by Content-Length → InvalidParameterValue 400', () =>
      refused(() => sts.postRaw(formBody(b64(genuine()), `&Pad=${padding(sts.instance.config.limits.maxBodyBytes)}`)), 400, 'InvalidParameterValue', 'The request was refused: the request body is larger than 262144 bytes.'));

    it('an oversized body sent chunked → InvalidParameterValue 400', () =>
      refused(
        () => sts.postRaw(formBody(b64(genuine()), `&Pad=${padding(sts.instance.config.limits.maxBodyBytes)}`), { headers: { 'Content-Type': FORM_CONTENT_TYPE }, chunked: true }),
        400,
        'InvalidParameterValue',
        'The request was refused: the request body is larger than 262144 bytes.',
      ));

    it('an Action carrying a NUL ("AssumeRoleWithSAML%00") → InvalidAction 400, the name not echoed', () =>
      refused(() => sts.postRaw(formBody(b64(genuine())).replace('Action=AssumeRoleWithSAML', 'Action=AssumeRoleWithSAML%00')), 400, 'InvalidAction', 'Could not find operation (unknown) for version 2011-06-15'));

    it('an Action carrying CRLF and a header ("…%0D%0AX-Evil:%201") → InvalidAction 400, no header injected', async () => {
      const res = await sts.attack(() => sts.postRaw('Action=GetCallerIdentity%0D%0AX-Evil:%201&Version=2011-06-15'));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidAction', message: 'Could not find operation (unknown) for version 2011-06-15' });
      assert.equal(res.headers['x-evil'], undefined);
    });
  });

  describe('GET / and SigV4', () => {
    const host = (): string => `localhost:${sts.port}`;
    const presigned = async (): Promise<string> => {
      const signer = new SignatureV4({
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
        region: 'us-east-1',
        service: 'sts',
        sha256: Hash.bind(null, 'sha256'),
      });
      const signed = await signer.presign(
        new HttpRequest({ method: 'GET', protocol: 'https:', hostname: 'localhost', port: sts.port, path: '/', headers: { host: host() }, query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } }),
        { expiresIn: 300 },
      );
      return Object.entries(signed.query ?? {})
        .map(([k, v]) => `${enc(k)}=${enc(String(v))}`)
        .join('&');
    };
    const swap = (query: string, name: string, value: string): string => query.replace(new RegExp(`(^|&)${name}=[^&]*`), `$1${name}=${value}`);

    it('positive control: the presigned GET is served', async () => {
      const res = await sts.getQuery(await presigned(), { host: host() });
      assert.equal(res.status, 200, res.body.slice(0, 400));
    });

    it('a malformed percent escape in the query of GET / → InvalidParameterValue 400', () =>
      refused(() => sts.getQuery('Action=GetCallerIdentity&Version=2011-06-15&X=%ZZ'), 400, 'InvalidParameterValue', BAD_ESCAPE));

    it('a parameter twice in the query of GET / → InvalidParameterValue 400', () =>
      refused(() => sts.getQuery('Action=GetCallerIdentity&Action=AssumeRoleWithSAML&Version=2011-06-15'), 400, 'InvalidParameterValue', 'The parameter Action appears more than once.'));

    it('a SAMLAssertion with a DOCTYPE in the query of GET / → InvalidIdentityToken 400', () =>
      invalidToken(
        () => sts.getQuery(formBody(b64(withDoctype(genuine(), externalDtd('Assertion', outbound.url))))),
        documentRefused('a DOCTYPE or entity declaration is not allowed'),
      ));

    it('a presigned GET with X-Amz-Credential of junk → IncompleteSignature 400', async () => {
      const query = swap(await presigned(), 'X-Amz-Credential', 'junk');
      await refused(() => sts.getQuery(query, { host: host() }), 400, 'IncompleteSignature', 'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.');
    });

    it('a presigned GET with X-Amz-Date of junk → IncompleteSignature 400', async () => {
      const query = swap(await presigned(), 'X-Amz-Date', 'yesterday');
      await refused(() => sts.getQuery(query, { host: host() }), 400, 'IncompleteSignature', "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601");
    });

    it('a presigned GET with X-Amz-Expires that is not a number → IncompleteSignature 400', async () => {
      const query = swap(await presigned(), 'X-Amz-Expires', '1e9');
      await refused(() => sts.getQuery(query, { host: host() }), 400, 'IncompleteSignature', 'X-Amz-Expires should be a number');
    });

    it('a presigned GET with X-Amz-Signature that is not hex → SignatureDoesNotMatch 403', async () => {
      const query = swap(await presigned(), 'X-Amz-Signature', 'Z'.repeat(64));
      await refused(() => sts.getQuery(query, { host: host() }), 403, 'SignatureDoesNotMatch', /signature we calculated does not match/);
    });

    it('a presigned GET with X-Amz-Algorithm AWS4-HMAC-SHA1 (downgrade) → IncompleteSignature 400', async () => {
      const query = swap(await presigned(), 'X-Amz-Algorithm', 'AWS4-HMAC-SHA1');
      await refused(() => sts.getQuery(query, { host: host() }), 400, 'IncompleteSignature', "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'");
    });

    // As AWS does, the Authorization header is named by its hash, never echoed.
    it('GetCallerIdentity with an Authorization header of junk → IncompleteSignature 400, the header not echoed', () =>
      refused(
        () => sts.postRaw('Action=GetCallerIdentity&Version=2011-06-15', { headers: { 'Content-Type': FORM_CONTENT_TYPE, Authorization: 'AWS4-HMAC-SHA256 junk' } }),
        400,
        'IncompleteSignature',
        /^Invalid key=value pair \(missing equal-sign\) in Authorization header \(hashed with SHA-256 and encoded with Base64\): '[A-Za-z0-9+/]{43}='\.$/,
      ));

    it('GetCallerIdentity with an Authorization of another scheme (Basic admin:admin) → IncompleteSignature 400, the credentials not echoed', async () => {
      const basic = Buffer.from('admin:admin').toString('base64');
      const res = await sts.attack(() => sts.postRaw('Action=GetCallerIdentity&Version=2011-06-15', { headers: { 'Content-Type': FORM_CONTENT_TYPE, Authorization: `Basic ${basic}` } }));
      expectAwsRefusal(sts, res, { status: 400, code: 'IncompleteSignature', message: /^Authorization header requires 'Credential' parameter\. .*\(hashed with SHA-256 and encoded with Base64\)$/ });
      assert.ok(!res.body.includes(basic), 'the Basic credentials are not echoed');
    });
  });
});
