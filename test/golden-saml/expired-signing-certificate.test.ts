import { strict as assert } from 'node:assert';
import { exchange, expectAwsRefusal, PASSWORD, SELF_PROVIDER_ARN, startAwsTestSts, USER, type AwsTestSts } from '../support/aws-sts';
import type { Combo } from '../support/ext-trust';
import { expectOneAlert, idOf, statusOf, target, trustCall, withStoreDatabase } from '../support/golden-saml';

// A key whose certificate has expired signs nothing that counts, whatever its state says: the
// cached key list withholds it, and so must the check that reads the key from the store at check
// time (it once looked at the state alone, so an active key's expired certificate passed there).

const COMBO: Combo = { version: '1.3', soap: '1.2' };

describe('golden-saml: tokens of an active key whose certificate has expired', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;

  before(async () => {
    sts = await startAwsTestSts();
  });
  after(async () => {
    await sts?.stop();
  });

  it('refused on Validate and AssumeRoleWithSAML, each with a token-from-retired-key alert naming the state "active"', async () => {
    const key = sts.instance.signingKey.thumbprintSha256;
    const token = await sts.issueAwsToken();
    // The certificate's expiry as the store records it, a minute ago (no real certificate need age a year).
    withStoreDatabase(sts, (db) => db.prepare('UPDATE signing_keys SET not_after = ? WHERE thumbprint = ?').run(Date.now() - 60_000, key));
    assert.equal((await sts.instance.store.signingKeys.get(key))?.state, 'active');
    const expected = { alert: 'token-from-retired-key', severity: 'high' as const, tokenId: idOf(token), signingKeyThumbprint: key, facts: { signingKeyState: 'active' } };

    const sent = await trustCall(sts, COMBO, { user: USER, password: PASSWORD, op: 'Validate', rstBody: target('Validate', token) });
    const v = statusOf(sent, COMBO);
    assert.deepEqual({ valid: v.valid, reason: v.reason }, { valid: false, reason: 'the token is signed by a key of this STS whose certificate has expired' });
    await expectOneAlert(sts, sent.res.requestId, expected);

    const { requestId } = expectAwsRefusal(sts, await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }), {
      status: 400,
      code: 'InvalidIdentityToken',
      message: 'The SAML assertion is signed by a key this STS no longer signs with.',
    });
    await expectOneAlert(sts, requestId, expected);
  });
});
