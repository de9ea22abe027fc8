import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addAwsRole, addSamlProvider, samlTrustPolicy } from '../../src/aws/aws-admin';
import { samlProviderArn } from '../../src/aws/arn';
import { CLIENT_FIXTURES_DIR } from '../support/fixtures';
import { postToSts } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { awsError, idpMetadata } from '../support/aws-sts';

// Requests captured from the AWS CLI v2 (aws-cli/2.9.19), replayed byte for byte: the body as the
// CLI encoded it, with its Content-Type and signing headers.

interface Capture {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

function readCapture(name: string): Capture {
  const raw = readFileSync(join(CLIENT_FIXTURES_DIR, `${name}.http`));
  const crlf = raw.indexOf('\r\n\r\n');
  const split = crlf >= 0 ? crlf : raw.indexOf('\n\n');
  const separator = crlf >= 0 ? 4 : 2;
  const lines = raw.subarray(0, split).toString('latin1').split(/\r?\n/).slice(1);
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
  return { headers, body: raw.subarray(split + separator) };
}

// The captured assertion's issuer and signing certificate (the capture carries it in KeyInfo; the
// test registers it as an administrator would from the IdP's metadata).
const CAPTURED_ISSUER = 'https://sts.example.com/adfs/services/trust';

describe('aws: AWS CLI v2 captures replayed (../shared/fixtures/clients/awscli2-*)', () => {
  let sts: TestSts;
  const send = (capture: Capture) =>
    postToSts(`${sts.baseUrl}/`, {
      ca: sts.tlsCertificatePem,
      headers: Object.fromEntries([...capture.headers].filter(([name]) => !['host', 'content-length'].includes(name))),
      body: capture.body,
    });

  before(async () => {
    sts = await startTestSts();
  });
  after(() => sts.stop());

  it('assume-role-with-saml for a role that does not exist here: AccessDenied (403), as AWS answers', async () => {
    const reply = await send(readCapture('awscli2-assume-role-with-saml-1'));
    assert.equal(reply.status, 403);
    const error = awsError(reply.body);
    assert.equal(error.code, 'AccessDenied');
    assert.equal(error.message, 'Not authorized to perform sts:AssumeRoleWithSAML');
    assert.equal(reply.headers['x-amzn-requestid'], error.requestId);
  });

  it('assume-role-with-saml once the provider is registered: the signature verifies, and the months-old assertion is refused as AWS refuses it', async () => {
    const capture = readCapture('awscli2-assume-role-with-saml-1');
    const params = new URLSearchParams(capture.body.toString('utf8'));
    assert.equal(params.get('Action'), 'AssumeRoleWithSAML');
    const xml = Buffer.from(params.get('SAMLAssertion') ?? '', 'base64').toString('utf8');
    const certificateBase64 = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(xml)?.[1] ?? '';
    const certificatePem = `-----BEGIN CERTIFICATE-----\n${certificateBase64.replace(/\s+/g, '')}\n-----END CERTIFICATE-----\n`;
    const store = sts.instance.store;
    await addSamlProvider(store, '123456789012', 'trustbridge', { name: 'TestIdP', metadataXml: idpMetadata(CAPTURED_ISSUER, certificatePem), replay: 'once-per-role' });
    await addAwsRole(store, '123456789012', { name: 'TestRole', trustPolicy: samlTrustPolicy(samlProviderArn('123456789012', 'TestIdP')) });

    const reply = await send(capture);
    assert.equal(reply.status, 400, reply.body);
    const error = awsError(reply.body);
    // Only an assertion whose signature verified against the registered certificate gets this far.
    assert.equal(error.code, 'ExpiredTokenException');
    assert.equal(error.message, 'Token must be redeemed within 5 minutes of issuance');
    assert.equal(error.type, 'Sender');
  });

  it('get-caller-identity signed with credentials this STS never issued: 403, InvalidClientTokenId or (once 15 minutes have passed) SignatureDoesNotMatch', async () => {
    const reply = await send(readCapture('awscli2-get-caller-identity-1'));
    assert.equal(reply.status, 403);
    const error = awsError(reply.body);
    assert.ok(['InvalidClientTokenId', 'SignatureDoesNotMatch'].includes(error.code), error.code);
    assert.ok(!reply.body.includes('21939f40d005181a9e2a574d39b6cf2a369ef3dc268d343c8400f63268332e54'), 'the signature is never echoed');
  });
});
