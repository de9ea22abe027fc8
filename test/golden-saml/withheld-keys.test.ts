import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_SAML } from '../../src/core/aws-saml';
import {
  exchange,
  expectAwsRefusal,
  expectCredentials,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  USER,
  PASSWORD,
  type AwsTestSts,
} from '../support/aws-sts';
import type { Combo } from '../support/ext-trust';
import {
  alertLogLines,
  assertionTemplate,
  expectNotRecorded,
  expectOneAlert,
  idOf,
  pemBodyLines,
  signWithXmlsec1,
  statusOf,
  stealSigningKey,
  stsCli,
  target,
  trustCall,
  withStoreDatabase,
} from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText } from '../support/trust-messages';

// Our own keys that do not sign now: a pending key has signed nothing, so its signature is a
// forgery; a retired key's tokens are over; an emergency rotation revokes the old key and its tokens
// die at once, on every path, with no wait for a cache. And a genuine token that outlives its relying
// party's current policy is still valid, but a responder is told.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const NOT_SIGNING = 'The SAML assertion is signed by a key this STS no longer signs with.';

describe('golden-saml: tokens signed by keys that do not sign now', function () {
  this.timeout(120_000);
  let sts: AwsTestSts;
  let keyA: string;
  let keyB: string;
  let tokenOfA: string;

  const validate = async (token: string) => {
    const sent = await trustCall(sts, COMBO, { user: USER, password: PASSWORD, op: 'Validate', rstBody: target('Validate', token) });
    return { ...statusOf(sent, COMBO), requestId: sent.res.requestId };
  };
  const state = async (thumbprint: string) => (await sts.instance.store.signingKeys.get(thumbprint))?.state;

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD);
    keyA = sts.instance.signingKey.thumbprintSha256;
    tokenOfA = await sts.issueAwsToken();
  });
  after(async () => {
    await sts?.stop();
  });

  it('a token signed (by xmlsec1) with a pending key is a forgery: refused on Validate and AssumeRoleWithSAML with forged-token alerts', async () => {
    const rotate = await stsCli(['keys', 'rotate', '--home', sts.home]);
    assert.equal(rotate.status, 0, rotate.stderr);
    keyB = (/generated pending key ([0-9a-f]{64})/.exec(rotate.stdout) as RegExpExecArray)[1] as string;
    assert.equal(await state(keyB), 'pending');
    const stolen = await stealSigningKey(sts.instance, keyB);
    try {
      const now = new Date();
      const template = assertionTemplate({
        issuer: sts.instance.config.issuer,
        nameId: USER,
        issueInstant: now,
        notOnOrAfter: new Date(now.getTime() + 3600_000),
        audience: AWS_SAML.signinUrl,
        recipient: AWS_SAML.signinUrl,
        attributes: { [AWS_SAML.role]: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`], [AWS_SAML.roleSessionName]: [USER] },
      });
      const forged = await signWithXmlsec1(template.xml, stolen);
      const facts = { signingKeyState: 'pending', ledger: 'signed by a key that has not signed tokens yet' };

      const v = await validate(forged);
      assert.equal(v.valid, false);
      assert.equal(v.reason, 'the token is signed by a key of this STS that has not been promoted (it has signed nothing)');
      await expectOneAlert(sts, v.requestId, { alert: 'forged-token', severity: 'critical', tokenId: template.id, signingKeyThumbprint: keyB, facts });

      const { requestId } = expectAwsRefusal(sts, await exchange(sts, forged, { principalArn: SELF_PROVIDER_ARN }), {
        status: 400,
        code: 'InvalidIdentityToken',
        message: NOT_SIGNING,
      });
      await expectOneAlert(sts, requestId, { alert: 'forged-token', severity: 'critical', tokenId: template.id, signingKeyThumbprint: keyB, facts });
      assert.equal(await sts.instance.store.ledger.get(template.id), undefined);
      await expectNotRecorded(sts, pemBodyLines(stolen.privateKeyPem));
    } finally {
      stolen.discard();
    }
  });

  it('genuine tokens of a key moved to retired: refused on Validate and AssumeRoleWithSAML with token-from-retired-key alerts', async () => {
    const promote = await stsCli(['keys', 'promote', keyB, '--home', sts.home]);
    assert.equal(promote.status, 0, promote.stderr);
    assert.equal(await state(keyA), 'retiring');
    assert.equal((await validate(tokenOfA)).valid, true, 'a retiring key\'s tokens stay valid');
    // What the rollover task does once every token of the key has expired.
    assert.equal(await sts.instance.store.signingKeys.setState(keyA, ['retiring'], 'retired', new Date()), true);

    const id = idOf(tokenOfA);
    const expected = { alert: 'token-from-retired-key', severity: 'high' as const, tokenId: id, signingKeyThumbprint: keyA, facts: { signingKeyState: 'retired' } };
    const v = await validate(tokenOfA);
    assert.deepEqual({ valid: v.valid, reason: v.reason }, { valid: false, reason: 'the token is signed by a retired key of this STS' });
    await expectOneAlert(sts, v.requestId, expected);
    const { requestId } = expectAwsRefusal(sts, await exchange(sts, tokenOfA, { principalArn: SELF_PROVIDER_ARN }), {
      status: 400,
      code: 'InvalidIdentityToken',
      message: NOT_SIGNING,
    });
    await expectOneAlert(sts, requestId, expected);
  });

  it('sts keys rotate --emergency: the previous key\'s genuine tokens are refused at once (no wait) with token-from-revoked-key alerts', async () => {
    await sts.instance.signingKeys.refresh();
    assert.equal(sts.instance.signingKey.thumbprintSha256, keyB);
    const tokenOfB = await sts.issueAwsToken();
    const other = await sts.issueAwsToken();
    assert.equal((await validate(tokenOfB)).valid, true);
    expectCredentials(await exchange(sts, other, { principalArn: SELF_PROVIDER_ARN }));

    const rotate = await stsCli(['keys', 'rotate', '--emergency', '--home', sts.home]);
    assert.equal(rotate.status, 0, rotate.stderr);
    assert.match(rotate.stdout, new RegExp(`revoked ${keyB}`));
    assert.equal(await state(keyB), 'revoked');

    // At once: the very next requests, before any cache of the server could have been refreshed.
    const expected = (token: string) => ({
      alert: 'token-from-revoked-key',
      severity: 'critical' as const,
      tokenId: idOf(token),
      signingKeyThumbprint: keyB,
      facts: { signingKeyState: 'revoked' },
    });
    const v = await validate(tokenOfB);
    assert.deepEqual({ valid: v.valid, reason: v.reason }, { valid: false, reason: 'the token is signed by a revoked key of this STS' });
    const { requestId } = expectAwsRefusal(sts, await exchange(sts, other, { principalArn: SELF_PROVIDER_ARN, roleArn: OTHER_ROLE_ARN }), {
      status: 400,
      code: 'InvalidIdentityToken',
      message: NOT_SIGNING,
    });
    await expectOneAlert(sts, v.requestId, expected(tokenOfB));
    await expectOneAlert(sts, requestId, expected(other));
  });
});

describe('golden-saml: a key generated moments ago, while the verifier\'s key list is warm', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;

  // A server each: the re-read after an unknown signer happens at most once a second per server.
  beforeEach(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
  });
  afterEach(async () => {
    await sts?.stop();
  });

  it('AssumeRoleWithSAML (the first path to see it) still recognises a forgery with the new pending key and raises forged-token', async () => {
    // Warm the server's cached list of its own keys, then generate a key it does not know yet.
    expectCredentials(await exchange(sts, await sts.issueAwsToken(), { principalArn: SELF_PROVIDER_ARN }));
    const rotate = await stsCli(['keys', 'rotate', '--home', sts.home]);
    assert.equal(rotate.status, 0, rotate.stderr);
    const pending = (/generated pending key ([0-9a-f]{64})/.exec(rotate.stdout) as RegExpExecArray)[1] as string;
    const stolen = await stealSigningKey(sts.instance, pending);
    try {
      const now = new Date();
      const template = assertionTemplate({
        issuer: sts.instance.config.issuer,
        nameId: USER,
        issueInstant: now,
        notOnOrAfter: new Date(now.getTime() + 3600_000),
        audience: AWS_SAML.signinUrl,
        recipient: AWS_SAML.signinUrl,
        attributes: { [AWS_SAML.role]: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`], [AWS_SAML.roleSessionName]: [USER] },
      });
      const forged = await signWithXmlsec1(template.xml, stolen);
      const { requestId } = expectAwsRefusal(sts, await exchange(sts, forged, { principalArn: SELF_PROVIDER_ARN }), {
        status: 400,
        code: 'InvalidIdentityToken',
        message: NOT_SIGNING,
      });
      await expectOneAlert(sts, requestId, {
        alert: 'forged-token',
        severity: 'critical',
        tokenId: template.id,
        signingKeyThumbprint: pending,
        facts: { signingKeyState: 'pending' },
      });
    } finally {
      stolen.discard();
    }
  });

  it('AssumeRoleWithSAML accepts a genuine token signed by a key promoted moments ago', async () => {
    expectCredentials(await exchange(sts, await sts.issueAwsToken(), { principalArn: SELF_PROVIDER_ARN }));
    const rotate = await stsCli(['keys', 'rotate', '--now', '--home', sts.home]);
    assert.equal(rotate.status, 0, rotate.stderr);
    const promoted = (/promoted ([0-9a-f]{64})/.exec(rotate.stdout) as RegExpExecArray)[1] as string;
    await sts.instance.signingKeys.refresh();
    assert.equal(sts.instance.signingKey.thumbprintSha256, promoted, 'the signer uses the new key');
    const token = await sts.issueAwsToken();
    const res = await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN });
    expectCredentials(res);
    assert.deepEqual(alertLogLines(sts.logs, String(res.headers['x-amzn-requestid'])), []);
  });
});

describe('golden-saml: a genuine token longer-lived than its relying party now allows', function () {
  this.timeout(120_000);
  const RP = 'https://rp.lifetime.golden-saml.example/';
  const USER_L = 'lifetime@golden-saml.example';
  const PASSWORD_L = 'Lifetime-Golden-Secret-5';
  let home: string;
  let sts: TestSts;

  before(async () => {
    recordPassword(PASSWORD_L);
    home = mkdtempSync(join(tmpdir(), 'trustbridge-golden-lifetime-'));
    sts = await startTestSts({ home });
  });
  after(async () => {
    await sts?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('Validate says valid AND raises token-lifetime-exceeds-policy once the policy is shortened (restarted, so no cache hides it)', async () => {
    await sts.addUser({ name: USER_L, password: PASSWORD_L, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [], tokenLifetimeSeconds: 3600 });
    const issued = await trustCall(sts, COMBO, { user: USER_L, password: PASSWORD_L, op: 'Issue', rstBody: appliesTo(RP) });
    assert.equal(issued.res.status, 200, issued.res.body.slice(0, 500));
    const token = assertionText(issued.res.body);
    const before = await trustCall(sts, COMBO, { user: USER_L, password: PASSWORD_L, op: 'Validate', rstBody: target('Validate', token) });
    assert.deepEqual(statusOf(before, COMBO), { valid: true, reason: 'the token is valid' });
    assert.deepEqual(alertLogLines(sts.logs, before.res.requestId), [], 'within policy: no alert');
    await sts.stop();

    withStoreDatabase(sts, (db) => {
      assert.equal(db.prepare('UPDATE relying_parties SET token_lifetime_seconds = 600 WHERE applies_to = ?').run(RP).changes, 1);
    });
    sts = await startTestSts({ home });
    recordLogs(sts.logs);

    const sent = await trustCall(sts, COMBO, { user: USER_L, password: PASSWORD_L, op: 'Validate', rstBody: target('Validate', token) });
    assert.deepEqual(statusOf(sent, COMBO), { valid: true, reason: 'the token is valid' });
    await expectOneAlert(sts, sent.res.requestId, {
      alert: 'token-lifetime-exceeds-policy',
      severity: 'high',
      tokenId: idOf(token),
      signingKeyThumbprint: sts.instance.signingKey.thumbprintSha256,
      facts: { policyLifetimeSeconds: 600, tokenLifetimeSeconds: 3600 },
    });
  });
});
