import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { b64, expectAwsRefusal, expectCredentials, EXTERNAL_ISSUER, EXTERNAL_PROVIDER, EXTERNAL_PROVIDER_ARN, idpMetadata, mintAssertion, ROLE_ARN } from '../support/aws-sts';
import { startSharedStoreCluster, type SharedStoreCluster, type StsNode } from '../support/multinode';
import { testSigningKey, type TestSigningKey } from '../support/stolen-key';
import { postToSts, type PostResult } from '../support/sts-post';

// Two `sts serve` processes on one PostgreSQL: an external SAML provider's certificate revoked with
// the CLI against one node's directory is refused by the other node at its next request, though
// both nodes had the provider (and that certificate) in their 5-second cache a moment before.

function exchange(node: StsNode, key: TestSigningKey): Promise<PostResult> {
  return postToSts(`${node.baseUrl}/`, {
    ca: node.tlsCertificatePem,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({
      Version: '2011-06-15',
      Action: 'AssumeRoleWithSAML',
      RoleArn: ROLE_ARN,
      PrincipalArn: EXTERNAL_PROVIDER_ARN,
      SAMLAssertion: b64(mintAssertion({ key }).xml),
    }).toString(),
  });
}

/** Waits for a node's log line about `requestId` (logs arrive over a pipe, just after the reply). */
async function waitForLog(node: StsNode, requestId: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!node.logs.some((r) => r.fields['requestId'] === requestId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

describe('multinode: an AWS SAML provider\'s certificate revoked on one node is refused on the other at once', function () {
  this.timeout(180_000);
  let cluster: SharedStoreCluster;
  let a: StsNode;
  let b: StsNode;
  let partner: TestSigningKey;

  before(async () => {
    cluster = await startSharedStoreCluster(2);
    [a, b] = cluster.nodes as [StsNode, StsNode];
    const pair = generateSelfSignedCertificate({ commonName: 'multinode-partner', validDays: 2 });
    partner = testSigningKey(pair.privateKeyPem, pair.certificatePem);
    const metadata = join(a.home, 'partner-metadata.xml');
    writeFileSync(metadata, idpMetadata(EXTERNAL_ISSUER, pair.certificatePem));
    const added = await cluster.sts(a, ['aws', 'provider', 'add', EXTERNAL_PROVIDER, '--metadata', metadata]);
    assert.equal(added.status, 0, added.stderr);
  });
  after(async () => {
    await cluster?.close();
  });

  it('accepted on both nodes; `sts aws provider cert revoke` at A; refused on B (and A) at the next request', async () => {
    expectCredentials(await exchange(a, partner));
    expectCredentials(await exchange(b, partner));
    const revoked = await cluster.sts(a, ['aws', 'provider', 'cert', 'revoke', EXTERNAL_PROVIDER, partner.thumbprintSha256]);
    assert.equal(revoked.status, 0, revoked.stderr);
    for (const node of [b, a]) {
      const res = await exchange(node, partner);
      await waitForLog(node, String(res.headers['x-amzn-requestid']));
      expectAwsRefusal(node, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: `The signing certificate of SAML provider ${EXTERNAL_PROVIDER} is revoked.`,
      });
    }
    assert.equal((await cluster.store.samlProviders.getCertificate(EXTERNAL_PROVIDER, partner.thumbprintSha256))?.state, 'revoked');
  });
});
