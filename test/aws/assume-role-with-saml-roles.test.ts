import { strict as assert } from 'node:assert';
import { addAwsRole } from '../../src/aws/aws-admin';
import { roleArn, samlProviderArn } from '../../src/aws/arn';
import { AWS_SAML } from '../../src/core/aws-saml';
import type { SamlAttribute } from '../../src/saml/assertion-content';
import { recordLogs } from '../support/observed-traffic';
import {
  ACCOUNT,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_PROVIDER_ARN,
  mintAssertion,
  mintEditedAssertion,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  type AwsTestSts,
  type MintOptions,
} from '../support/aws-sts';

// Which role, whether its trust policy lets this assertion in, for how long, and with which session
// policy: every refusal, with the positive controls that show each check is the one refusing.

const denied = { status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithSAML' };
const validation = (message: string | RegExp) => ({ status: 400, code: 'ValidationError', message });
const ASSUME = ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'];
const allowExternal = (extra: Record<string, unknown> = {}, action: string | string[] = ASSUME) => ({
  Effect: 'Allow',
  Principal: { Federated: EXTERNAL_PROVIDER_ARN },
  Action: action,
  ...extra,
});
const policy = (...statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const pair = (name: string) => `${roleArn(ACCOUNT, name)},${EXTERNAL_PROVIDER_ARN}`;
const DEPARTMENT = 'https://idp.partner.example/attributes/department';
const MAIL_OID = 'urn:oid:0.9.2342.19200300.100.1.3';
const tag = (key: string, value: string): SamlAttribute => ({ name: `${AWS_SAML.principalTagPrefix}${key}`, values: [value] });

describe('aws: AssumeRoleWithSAML refuses the wrong role, a trust policy that says no, and bad durations and policies', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    const store = sts.instance.store;
    const add = (name: string, trustPolicy: string, maxSessionDurationSeconds?: number) =>
      addAwsRole(store, ACCOUNT, { name, trustPolicy, ...(maxSessionDurationSeconds ? { maxSessionDurationSeconds } : {}) });
    await add('SubIsBob', policy(allowExternal({ Condition: { StringEquals: { 'SAML:sub': 'bob' } } })));
    await add('DenyAlice', policy(allowExternal(), { Effect: 'Deny', Principal: { Federated: EXTERNAL_PROVIDER_ARN }, Action: 'sts:AssumeRoleWithSAML', Condition: { StringEquals: { 'SAML:sub': 'alice' } } }));
    await add('NoTagSession', policy(allowExternal({}, 'sts:AssumeRoleWithSAML')));
    await add('Engineering', policy(allowExternal({ Condition: { StringEquals: { [`SAML:${DEPARTMENT}`]: 'engineering', 'SAML:mail': 'alice@partner.example' } } })));
    await add('SelfOnly', policy({ Effect: 'Allow', Principal: { Federated: SELF_PROVIDER_ARN }, Action: ASSUME }));
    await add('Long', policy(allowExternal()), 43200);
  });
  after(async () => {
    await sts?.stop();
  });

  const mint = (o: Omit<MintOptions, 'key'> = {}) => mintAssertion({ key: sts.externalKey, ...o });

  describe('the role', () => {
    it('a RoleArn the assertion\'s Role attribute does not name is AccessDenied; the named role still works with it', async () => {
      const g = mint({ roles: [`${ROLE_ARN},${EXTERNAL_PROVIDER_ARN}`] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: OTHER_ROLE_ARN }), denied);
      assert.match(String(log['detail']), /Role attribute does not pair this RoleArn with this PrincipalArn/);
      expectCredentials(await exchange(sts, g.xml));
    });

    it('a Role attribute pairing the role with another provider is AccessDenied', async () => {
      const g = mint({ roles: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`, `${OTHER_ROLE_ARN},${samlProviderArn(ACCOUNT, 'SomeoneElse')}`] });
      expectAwsRefusal(sts, await exchange(sts, g.xml), denied);
      expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: OTHER_ROLE_ARN }), denied);
    });

    it('a Role attribute whose pairs are malformed names no role: AccessDenied', async () => {
      const g = mint({ roles: [ROLE_ARN, `${ROLE_ARN},${EXTERNAL_PROVIDER_ARN},extra`, `${ROLE_ARN};${EXTERNAL_PROVIDER_ARN}`] });
      expectAwsRefusal(sts, await exchange(sts, g.xml), denied);
    });

    it('an unknown role ARN is AccessDenied (before the assertion is read)', async () => {
      const g = mint({ roles: [pair('Nobody')] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'Nobody') }), denied);
      assert.equal(log['assertionId'], undefined);
      assert.match(String(log['detail']), /no role arn:aws:iam::123456789012:role\/Nobody in account 123456789012/);
    });

    it('a RoleArn in another account is AccessDenied', async () => {
      const other = roleArn('210987654321', 'Developers');
      const g = mint({ roles: [`${other},${EXTERNAL_PROVIDER_ARN}`] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: other }), denied);
      assert.match(String(log['detail']), new RegExp(`no role ${other} in account ${ACCOUNT}`));
    });

    for (const bad of [`arn:aws:iam::${ACCOUNT}:user/Developers`, 'not-an-arn-at-all-but-long', `arn:aws:iam::${ACCOUNT}:role/`, `arn:aws:iam::12345:role/Developers`]) {
      it(`a malformed RoleArn (${bad}) is ValidationError`, async () => {
        expectAwsRefusal(sts, await exchange(sts, mint().xml, { roleArn: bad }), validation('RoleArn is not a valid IAM role ARN.'));
      });
    }

    it('a RoleArn under 20 characters is ValidationError with AWS\'s constraint wording', async () => {
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { roleArn: 'arn:aws:iam::1:r/x' }),
        validation("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
      );
    });

    it('a malformed PrincipalArn (a role ARN) is ValidationError', async () => {
      expectAwsRefusal(sts, await exchange(sts, mint().xml, { principalArn: OTHER_ROLE_ARN }), validation('PrincipalArn is not a valid IAM SAML provider ARN.'));
    });

    it('an unknown provider, in this account or another, is InvalidIdentityToken', async () => {
      for (const arn of [samlProviderArn(ACCOUNT, 'NoSuchIdP'), samlProviderArn('210987654321', 'PartnerIdP')]) {
        expectAwsRefusal(sts, await exchange(sts, mint({ roles: [`${ROLE_ARN},${arn}`] }).xml, { principalArn: arn }), {
          status: 400,
          code: 'InvalidIdentityToken',
          message: 'The SAML provider named by PrincipalArn does not exist in this account.',
        });
      }
    });
  });

  describe('the trust policy', () => {
    it('a Condition that is false (StringEquals SAML:sub bob, for alice) is AccessDenied', async () => {
      const g = mint({ roles: [pair('SubIsBob')] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'SubIsBob') }), denied);
      assert.equal(log['detail'], 'the trust policy of SubIsBob does not allow sts:AssumeRoleWithSAML');
      expectCredentials(await exchange(sts, mint({ nameId: 'bob', roles: [pair('SubIsBob')] }).xml, { roleArn: roleArn(ACCOUNT, 'SubIsBob') }));
    });

    it('an explicit Deny (SAML:sub alice) wins over a matching Allow: AccessDenied; bob is let in', async () => {
      const g = mint({ roles: [pair('DenyAlice')] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'DenyAlice') }), denied);
      assert.equal(log['detail'], 'explicitly denied by the trust policy of DenyAlice for sts:AssumeRoleWithSAML');
      expectCredentials(await exchange(sts, mint({ nameId: 'bob', roles: [pair('DenyAlice')] }).xml, { roleArn: roleArn(ACCOUNT, 'DenyAlice') }));
    });

    it('PrincipalTag attributes without sts:TagSession in the trust policy are AccessDenied; without tags it is allowed', async () => {
      const arn = roleArn(ACCOUNT, 'NoTagSession');
      const tagged = mint({ roles: [pair('NoTagSession')], extraAttributes: [tag('Dept', 'eng')] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, tagged.xml, { roleArn: arn }), denied);
      assert.equal(log['detail'], 'the trust policy of NoTagSession does not allow sts:TagSession');
      expectCredentials(await exchange(sts, mint({ roles: [pair('NoTagSession')] }).xml, { roleArn: arn }));
    });

    it('a SourceIdentity without sts:SetSourceIdentity in the trust policy is AccessDenied', async () => {
      const g = mint({ roles: [pair('NoTagSession')], extraAttributes: [{ name: AWS_SAML.sourceIdentity, values: ['alice'] }] });
      const { log } = expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'NoTagSession') }), denied);
      assert.equal(log['detail'], 'the trust policy of NoTagSession does not allow sts:SetSourceIdentity');
    });

    it('a trust policy that names only Trustbridge as principal refuses the external provider: AccessDenied', async () => {
      const g = mint({ roles: [pair('SelfOnly')] });
      expectAwsRefusal(sts, await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'SelfOnly') }), denied);
    });

    it('positive control: conditions on a SAML attribute (by its Name) and on an OID attribute (SAML:mail) that hold let the assertion in', async () => {
      const arn = roleArn(ACCOUNT, 'Engineering');
      const attributes = (department: string) => [
        { name: DEPARTMENT, values: [department] },
        { name: MAIL_OID, values: ['alice@partner.example'] },
      ];
      expectCredentials(await exchange(sts, mint({ roles: [pair('Engineering')], extraAttributes: attributes('engineering') }).xml, { roleArn: arn }));
      expectAwsRefusal(sts, await exchange(sts, mint({ roles: [pair('Engineering')], extraAttributes: attributes('sales') }).xml, { roleArn: arn }), denied);
    });
  });

  describe('DurationSeconds and the session length', () => {
    const expiresIn = (expiration: Date, started: number) => Math.round((expiration.getTime() - started) / 1000);
    /** Expiration is written in whole seconds (up to 1 s early) and counted from the server's now (after `started`). */
    const lastsAbout = (expiration: Date, started: number, seconds: number) => {
      const actual = expiresIn(expiration, started);
      assert.ok(actual >= seconds - 1 && actual <= seconds + 10, `expires in ${actual} s, expected about ${seconds} s`);
    };

    for (const [value, constraint] of [
      ['899', 'greater than or equal to 900'],
      ['43201', 'less than or equal to 43200'],
    ] as const) {
      it(`DurationSeconds ${value} is ValidationError; the same assertion then works with a valid one`, async () => {
        const g = mint();
        expectAwsRefusal(
          sts,
          await exchange(sts, g.xml, { extra: { DurationSeconds: value } }),
          validation(`1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value ${constraint}`),
        );
        expectCredentials(await exchange(sts, g.xml, { extra: { DurationSeconds: '900' } }));
      });
    }

    it('DurationSeconds that is not an integer is InvalidParameterValue', async () => {
      expectAwsRefusal(sts, await exchange(sts, mint().xml, { extra: { DurationSeconds: '1e3' } }), {
        status: 400,
        code: 'InvalidParameterValue',
        message: 'The value of DurationSeconds must be an integer.',
      });
    });

    it('DurationSeconds over the role\'s MaxSessionDuration is ValidationError; the same assertion then gets its maximum', async () => {
      const g = mint();
      expectAwsRefusal(
        sts,
        await exchange(sts, g.xml, { extra: { DurationSeconds: '7201' } }),
        validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'),
      );
      const started = Date.now();
      const c = expectCredentials(await exchange(sts, g.xml, { extra: { DurationSeconds: '7200' } }));
      lastsAbout(c.expiration, started, 7200);
    });

    it('the default MaxSessionDuration is one hour: 3601 is refused for a role created without one', async () => {
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { roleArn: OTHER_ROLE_ARN, extra: { DurationSeconds: '3601' } }),
        validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'),
      );
    });

    it('without DurationSeconds the session lasts one hour', async () => {
      const started = Date.now();
      const c = expectCredentials(await exchange(sts, mint().xml));
      lastsAbout(c.expiration, started, 3600);
    });

    it('a SessionDuration attribute shorter than DurationSeconds shortens the session to it', async () => {
      const started = Date.now();
      const g = mint({ extraAttributes: [{ name: AWS_SAML.sessionDuration, values: ['1200'] }] });
      const c = expectCredentials(await exchange(sts, g.xml, { extra: { DurationSeconds: '3600' } }));
      lastsAbout(c.expiration, started, 1200);
    });

    it('a SessionDuration attribute longer than DurationSeconds does not lengthen it', async () => {
      const started = Date.now();
      const g = mint({ roles: [pair('Long')], extraAttributes: [{ name: AWS_SAML.sessionDuration, values: ['43200'] }] });
      const c = expectCredentials(await exchange(sts, g.xml, { roleArn: roleArn(ACCOUNT, 'Long'), extra: { DurationSeconds: '1000' } }));
      lastsAbout(c.expiration, started, 1000);
    });

    it('AuthnStatement SessionNotOnOrAfter shortens the session to it', async () => {
      const started = Date.now();
      const end = new Date(started + 1000_000);
      const g = mintEditedAssertion({ key: sts.externalKey }, (c) => ({
        ...c,
        afterSignature: c.afterSignature.replace(/(<AuthnStatement AuthnInstant="[^"]+" SessionIndex="[^"]+")/, `$1 SessionNotOnOrAfter="${end.toISOString()}"`),
      }));
      const c = expectCredentials(await exchange(sts, g.xml, { extra: { DurationSeconds: '3600' } }));
      assert.ok(Math.abs(c.expiration.getTime() - end.getTime()) <= 2000, `expires ${c.expiration.toISOString()}, session ends ${end.toISOString()}`);
    });
  });

  describe('the Policy and PolicyArns parameters', () => {
    const SESSION_POLICY = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/*' }],
    });

    it('malformed JSON is MalformedPolicyDocument; the same assertion then works without it', async () => {
      const g = mint();
      expectAwsRefusal(sts, await exchange(sts, g.xml, { extra: { Policy: '{"Version": "2012-10-17", ' } }), {
        status: 400,
        code: 'MalformedPolicyDocument',
        message: 'Syntax errors in policy.',
      });
      expectCredentials(await exchange(sts, g.xml));
    });

    it('a session policy with a Principal is MalformedPolicyDocument naming the field', async () => {
      const withPrincipal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' }] });
      expectAwsRefusal(sts, await exchange(sts, mint().xml, { extra: { Policy: withPrincipal } }), {
        status: 400,
        code: 'MalformedPolicyDocument',
        message: 'Statement 1: has prohibited field Principal.',
      });
    });

    it('a Policy over 2048 characters is ValidationError', async () => {
      const long = JSON.stringify({ Version: '2012-10-17', Id: 'x'.repeat(2100), Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { extra: { Policy: long } }),
        validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"),
      );
    });

    it('an empty Policy is ValidationError (at least 1 character)', async () => {
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { extra: { Policy: '' } }),
        validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1"),
      );
    });

    it('a Policy with a character outside U+0009–U+00FF is ValidationError', async () => {
      const policyText = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Ω', Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { extra: { Policy: policyText } }),
        validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"),
      );
    });

    it('session tags over the packed size are PackedPolicyTooLarge with the percentage', async () => {
      // 50 tags of a 128-character key and a 256-character value: 19200 of 2048 → 938 %.
      const tags = Array.from({ length: 50 }, (_, i) => tag(`${String(i).padStart(2, '0')}${'k'.repeat(126)}`, 'v'.repeat(256)));
      const g = mint({ extraAttributes: tags });
      expectAwsRefusal(sts, await exchange(sts, g.xml), { status: 400, code: 'PackedPolicyTooLarge', message: 'Packed size of session tags consumes 938% of allotted space.' });
    });

    it('a valid Policy is accepted and PackedPolicySize reports its packed size (whitespace does not count)', async () => {
      // The minified policy is 117 characters: ceil(100 × 117 / 2048) = 6.
      const pretty = JSON.stringify(JSON.parse(SESSION_POLICY), null, 4);
      const c = expectCredentials(await exchange(sts, mint().xml, { extra: { Policy: pretty } }));
      assert.equal(c.fields['PackedPolicySize'], '6');
    });

    it('a PolicyArns member that is not a managed policy ARN is InvalidParameterValue', async () => {
      expectAwsRefusal(sts, await exchange(sts, mint().xml, { extra: { 'PolicyArns.member.1.arn': 'arn:aws:s3:::bucket' } }), {
        status: 400,
        code: 'InvalidParameterValue',
        message: 'Each PolicyArns member must be an IAM managed policy ARN.',
      });
    });

    it('PolicyArns members with a gap are InvalidParameterValue', async () => {
      expectAwsRefusal(
        sts,
        await exchange(sts, mint().xml, { extra: { 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess', 'PolicyArns.member.3.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess' } }),
        { status: 400, code: 'InvalidParameterValue', message: 'The members of PolicyArns must be numbered from 1 without gaps.' },
      );
    });
  });
});
