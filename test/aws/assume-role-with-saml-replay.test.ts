import { strict as assert } from 'node:assert';
import { DOMParser } from '@xmldom/xmldom';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import {
  exchange,
  expectAwsRefusal,
  expectCredentials,
  inResponse,
  mintAssertion,
  OTHER_ROLE_ARN,
  PASSWORD,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  USER,
  type AwsTestSts,
} from '../support/aws-sts';

// One assertion, how many sessions: the providers' replay rules (once-per-role, once, off), and
// Trustbridge's own assertions, which must be in its issuance ledger (a Golden SAML forgery is not).

const ALREADY_FOR_ROLE = 'This SAML assertion has already been exchanged for credentials for this role.';
const ALREADY = 'This SAML assertion has already been exchanged for credentials.';
const invalid = (message: string) => ({ status: 400, code: 'InvalidIdentityToken', message });
const assertionIdOf = (xml: string): string =>
  new DOMParser().parseFromString(xml, 'text/xml').documentElement?.getAttribute('ID') ?? '';

describe('aws: AssumeRoleWithSAML replay rules and forged Trustbridge assertions', function () {
  this.timeout(60_000);

  describe('external provider, replay once-per-role (the default)', () => {
    let sts: AwsTestSts;
    before(async () => {
      sts = await startAwsTestSts();
      recordLogs(sts.logs);
    });
    after(async () => {
      await sts?.stop();
    });

    it('the same assertion for the same role twice: the second is InvalidIdentityToken, logged as a replay', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      expectCredentials(await exchange(sts, g.xml));
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml), invalid(ALREADY_FOR_ROLE));
      assert.equal(log['replay'], true);
      assert.equal(log['assertionId'], g.id);
      const record = sts.logs.find((r) => r.fields['replay'] === true && r.fields['assertionId'] === g.id);
      assert.equal(record?.level, 'warn');
    });

    it('the same assertion for the other role it names is exchanged', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      expectCredentials(await exchange(sts, g.xml));
      const other = expectCredentials(await exchange(sts, g.xml, { roleArn: OTHER_ROLE_ARN }));
      assert.match(other.assumedRoleArn, /:assumed-role\/Auditors\/alice$/);
      expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: OTHER_ROLE_ARN }), invalid(ALREADY_FOR_ROLE));
    });

    it('the same assertion bare and then inside a samlp:Response is a replay', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      expectCredentials(await exchange(sts, g.xml));
      expectAwsRefusal(sts, await exchange(sts, inResponse(g.xml)), invalid(ALREADY_FOR_ROLE));
    });

    it('two exchanges of one assertion for one role at the same moment: exactly one gets credentials', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      const results = await Promise.all([exchange(sts, g.xml), exchange(sts, g.xml), exchange(sts, g.xml)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400]);
      for (const r of results.filter((x) => x.status === 400)) expectAwsRefusal(sts, r, invalid(ALREADY_FOR_ROLE));
    });
  });

  describe('external provider, replay once', () => {
    let sts: AwsTestSts;
    before(async () => {
      sts = await startAwsTestSts({ externalReplay: 'once' });
      recordLogs(sts.logs);
    });
    after(async () => {
      await sts?.stop();
    });

    it('a second exchange of the assertion is refused for any role', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      expectCredentials(await exchange(sts, g.xml));
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: OTHER_ROLE_ARN }), invalid(ALREADY));
      assert.equal(log['replay'], true);
      expectAwsRefusal(sts, await exchange(sts, g.xml), invalid(ALREADY));
    });

    it('a refusal after verification (DurationSeconds over the role maximum) does not use up the single exchange', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      expectAwsRefusal(sts, await exchange(sts, g.xml, { extra: { DurationSeconds: '7201' } }), {
        status: 400,
        code: 'ValidationError',
        message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      });
      expectCredentials(await exchange(sts, g.xml));
    });
  });

  describe('external provider, replay off (as AWS)', () => {
    let sts: AwsTestSts;
    before(async () => {
      sts = await startAwsTestSts({ externalReplay: 'off' });
      recordLogs(sts.logs);
    });
    after(async () => {
      await sts?.stop();
    });

    it('the same assertion for the same role twice: both are exchanged, with different keys', async () => {
      const g = mintAssertion({ key: sts.externalKey });
      const first = expectCredentials(await exchange(sts, g.xml));
      const second = expectCredentials(await exchange(sts, g.xml));
      assert.notEqual(first.accessKeyId, second.accessKeyId);
      assert.ok(!sts.logs.some((r) => r.fields['replay'] === true));
    });
  });

  describe('Trustbridge\'s own assertions and the issuance ledger', () => {
    let sts: AwsTestSts;
    before(async () => {
      sts = await startAwsTestSts();
      recordLogs(sts.logs);
      recordPassword(PASSWORD);
    });
    after(async () => {
      await sts?.stop();
    });

    const forge = (id?: string) =>
      mintAssertion({
        key: sts.instance.signingKey,
        issuer: sts.instance.config.issuer,
        nameId: USER,
        roleSessionName: USER,
        roles: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`, `${OTHER_ROLE_ARN},${SELF_PROVIDER_ARN}`],
        ...(id === undefined ? {} : { id }),
      });

    it('positive control: an assertion Trustbridge issued over WS-Trust is exchanged', async () => {
      const token = await sts.issueAwsToken();
      const c = expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }));
      assert.equal(c.fields['Issuer'], sts.instance.config.issuer);
    });

    it('an assertion signed with Trustbridge\'s own key but never issued (Golden SAML) is refused and raises a forged-token alert', async () => {
      const forged = forge();
      const { log, requestId } = expectAwsRefusal(sts, await exchange(sts, forged.xml, { principalArn: SELF_PROVIDER_ARN }), invalid('The SAML assertion was not issued by this STS.'));
      assert.equal(log['alert'], 'forged-token');
      assert.equal(log['assertionId'], forged.id);
      assert.equal(log['keyThumbprint'], sts.instance.signingKey.thumbprintSha256);
      const record = sts.logs.find((r) => r.fields['requestId'] === requestId);
      assert.equal(record?.level, 'error');
      assert.equal(await sts.instance.store.ledger.get(forged.id), undefined, 'the forgery is not added to the ledger');
    });

    it('a forgery that reuses the ID of an issued assertion (different content) is refused with a claims-mismatch alert, and the real one still works', async () => {
      const token = await sts.issueAwsToken();
      const id = assertionIdOf(token);
      assert.ok((await sts.instance.store.ledger.get(id)) !== undefined, 'the issued token is in the ledger');
      const forged = forge(id);
      const { log } = expectAwsRefusal(sts, await exchange(sts, forged.xml, { principalArn: SELF_PROVIDER_ARN }), invalid('The SAML assertion was not issued by this STS.'));
      // A real ID with other signed content: the alert says the claims differ from the ledger's.
      assert.equal(log['alert'], 'token-claims-mismatch');
      expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }));
    });

    it('an issued assertion that was then cancelled is refused', async () => {
      const token = await sts.issueAwsToken();
      assert.equal(await sts.instance.store.ledger.cancel(assertionIdOf(token), new Date()), true);
      const { log } = expectAwsRefusal(sts, await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }), invalid('The SAML assertion was cancelled.'));
      assert.equal(log['alert'], undefined);
    });

    it('Trustbridge\'s own assertions follow its replay rule (once-per-role): the same role twice is refused', async () => {
      const token = await sts.issueAwsToken();
      expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }));
      expectAwsRefusal(sts, await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }), invalid(ALREADY_FOR_ROLE));
      expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN, roleArn: OTHER_ROLE_ARN }));
    });
  });
});
