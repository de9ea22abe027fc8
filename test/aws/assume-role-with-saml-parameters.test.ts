import { strict as assert } from 'node:assert';
import { recordLogs } from '../support/observed-traffic';
import { postToSts, type PostResult } from '../support/sts-post';
import { httpsRequest } from '../support/https-client';
import {
  b64,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_PROVIDER_ARN,
  mintAssertion,
  ROLE_ARN,
  startAwsTestSts,
  type AwsTestSts,
} from '../support/aws-sts';

// The Query protocol around AssumeRoleWithSAML: missing and malformed parameters, encodings, bodies
// that are too big or hostile, and actions and versions that do not exist.

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">&lol9;</Assertion>';

describe('aws: the Query API refuses malformed AssumeRoleWithSAML requests', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
  });
  after(async () => {
    await sts?.stop();
  });

  const mint = () => mintAssertion({ key: sts.externalKey });
  const raw = (body: string | Buffer, contentType = FORM, extra: { chunked?: boolean } = {}): Promise<PostResult> =>
    postToSts(`${sts.baseUrl}/`, { ca: sts.tlsCertificatePem, headers: { 'Content-Type': contentType }, body, ...extra });
  const complete = (xml: string): Record<string, string> => ({
    Action: 'AssumeRoleWithSAML',
    RoleArn: ROLE_ARN,
    PrincipalArn: EXTERNAL_PROVIDER_ARN,
    SAMLAssertion: b64(xml),
  });
  const invalidValue = (message: string | RegExp) => ({ status: 400, code: 'InvalidParameterValue', message });

  describe('parameters', () => {
    for (const name of ['RoleArn', 'PrincipalArn', 'SAMLAssertion']) {
      it(`a missing ${name} is MissingParameter, and so is an empty one`, async () => {
        const params = complete(mint().xml);
        delete params[name];
        expectAwsRefusal(sts, await sts.query(params), { status: 400, code: 'MissingParameter', message: `The request must contain the parameter ${name}` });
        expectAwsRefusal(sts, await sts.query({ ...params, [name]: '' }), {
          status: 400,
          code: 'MissingParameter',
          message: `The request must contain the parameter ${name}`,
        });
      });
    }

    it('a SAMLAssertion that is not base64 is InvalidIdentityToken', async () => {
      const res = await sts.query({ ...complete(mint().xml), SAMLAssertion: '<Assertion>not base64</Assertion>' });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: 'SAMLAssertion is not valid base64.' });
    });

    it('a SAMLAssertion in base64url (- and _) is InvalidIdentityToken, not silently decoded', async () => {
      let g = mint();
      while (!/[+/]/.test(b64(g.xml))) g = mint();
      const url = b64(g.xml).replace(/\+/g, '-').replace(/\//g, '_');
      expectAwsRefusal(sts, await sts.query({ ...complete(g.xml), SAMLAssertion: url }), {
        status: 400,
        code: 'InvalidIdentityToken',
        message: 'SAMLAssertion is not valid base64.',
      });
      expectCredentials(await exchange(sts, g.xml));
    });

    it('a SAMLAssertion over 100000 characters is ValidationError', async () => {
      const res = await sts.query({ ...complete(mint().xml), SAMLAssertion: 'A'.repeat(100_004) });
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'ValidationError',
        message: "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000",
      });
    });

    it('a SAMLAssertion that is base64 of text that is not XML is InvalidIdentityToken', async () => {
      const res = await sts.query({ ...complete(mint().xml), SAMLAssertion: b64('hello, this is not XML at all') });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: /^The SAML document was refused: / });
    });

    it('a SAMLAssertion with a DOCTYPE (billion laughs) is InvalidIdentityToken within 1 s, and the server stays up', async () => {
      const res = await sts.query({ ...complete(mint().xml), SAMLAssertion: b64(BILLION_LAUGHS) });
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: 'The SAML document was refused: a DOCTYPE or entity declaration is not allowed.',
      });
      assert.ok(res.elapsedMs < 1000, `answered in ${res.elapsedMs} ms`);
      expectCredentials(await exchange(sts, mint().xml));
    });

    it('a repeated parameter is InvalidParameterValue, and the assertion is still usable afterwards', async () => {
      const g = mint();
      const body = `${new URLSearchParams({ Version: '2011-06-15', ...complete(g.xml) }).toString()}&RoleArn=${encodeURIComponent(ROLE_ARN)}`;
      expectAwsRefusal(sts, await raw(body), invalidValue('The parameter RoleArn appears more than once.'));
      expectCredentials(await exchange(sts, g.xml));
    });

    it('a repeated parameter with a hostile name does not echo the name', async () => {
      const res = await raw('Action=AssumeRoleWithSAML&%3Cscript%3E=1&%3Cscript%3E=2');
      expectAwsRefusal(sts, res, invalidValue('The parameter (an unrecognised name) appears more than once.'));
      assert.doesNotMatch(res.body, /script/);
    });

    it('a malformed percent escape is InvalidParameterValue', async () => {
      const res = await raw(`Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=%E0%A4%A&PrincipalArn=x`);
      expectAwsRefusal(sts, res, invalidValue('The request body is not valid form encoding (a malformed percent escape).'));
    });

    it('more than 200 parameters are InvalidParameterValue', async () => {
      const body = ['Action=AssumeRoleWithSAML', ...Array.from({ length: 200 }, (_, i) => `P${i}=1`)].join('&');
      expectAwsRefusal(sts, await raw(body), invalidValue('A request may carry at most 200 parameters.'));
    });
  });

  describe('the body and the envelope', () => {
    for (const contentType of ['text/xml', 'application/json', 'multipart/form-data; boundary=x', '']) {
      it(`a body sent as "${contentType || '(no content type)'}" is InvalidParameterValue`, async () => {
        const body = new URLSearchParams({ Version: '2011-06-15', ...complete(mint().xml) }).toString();
        expectAwsRefusal(
          sts,
          await raw(body, contentType),
          invalidValue('The request body must be application/x-www-form-urlencoded (the AWS Query protocol).'),
        );
      });
    }

    it('a body over the size limit is refused with an ErrorResponse (Content-Length)', async () => {
      const limit = sts.instance.config.limits.maxBodyBytes;
      const res = await raw(`Action=AssumeRoleWithSAML&Pad=${'A'.repeat(limit)}`);
      expectAwsRefusal(sts, res, invalidValue(`The request was refused: the request body is larger than ${limit} bytes.`));
      assert.equal(res.headers['connection'], 'close');
    });

    it('a chunked body over the size limit is refused with an ErrorResponse', async () => {
      const limit = sts.instance.config.limits.maxBodyBytes;
      const res = await raw(`Action=AssumeRoleWithSAML&Pad=${'A'.repeat(limit + 1000)}`, FORM, { chunked: true });
      expectAwsRefusal(sts, res, invalidValue(`The request was refused: the request body is larger than ${limit} bytes.`));
    });

    it('no Action is MissingAction', async () => {
      const params = complete(mint().xml);
      delete params['Action'];
      expectAwsRefusal(sts, await sts.query(params), { status: 400, code: 'MissingAction', message: 'Missing Action' });
      expectAwsRefusal(sts, await raw(''), { status: 400, code: 'MissingAction', message: 'Missing Action' });
    });

    it('an unknown Action is InvalidAction naming it', async () => {
      const res = await sts.query({ ...complete(mint().xml), Action: 'AssumeRoleWithWebIdentity' });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidAction', message: 'Could not find operation AssumeRoleWithWebIdentity for version 2011-06-15' });
    });

    it('an Action that is not a plain name is InvalidAction without echoing it', async () => {
      const res = await sts.query({ Action: '<img src=x>' });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidAction', message: 'Could not find operation (unknown) for version 2011-06-15' });
      assert.doesNotMatch(res.body, /img/);
    });

    it('a wrong Version is InvalidAction', async () => {
      const res = await sts.query({ ...complete(mint().xml), Version: '2010-05-08' });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidAction', message: 'Could not find operation AssumeRoleWithSAML for version 2011-06-15' });
    });

    it('another method on / is 405, and unknown paths are 404', async () => {
      const put = await httpsRequest(`${sts.baseUrl}/`, { method: 'PUT', body: 'Action=GetCallerIdentity', ca: sts.tlsCertificatePem });
      assert.equal(put.status, 405);
      const other = await httpsRequest(`${sts.baseUrl}/sts`, { method: 'POST', body: 'Action=GetCallerIdentity', ca: sts.tlsCertificatePem });
      assert.equal(other.status, 404);
    });
  });
});
