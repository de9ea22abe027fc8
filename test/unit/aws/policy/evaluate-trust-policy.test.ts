import { strict as assert } from 'node:assert';
import { conditionContext } from '../../../../src/aws/policy/condition-context';
import { evaluateTrustPolicy, type TrustPolicyDecision, type TrustPolicyRequest } from '../../../../src/aws/policy/evaluate-trust-policy';
import { parsePolicyDocument } from '../../../../src/aws/policy/parse-policy';

const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/trustbridge';
const OTHER_PROVIDER = 'arn:aws:iam::123456789012:saml-provider/other';
const AUD = 'https://signin.aws.amazon.com/saml';
const ASSUME = 'sts:AssumeRoleWithSAML';
const TAG = 'sts:TagSession';
const SOURCE = 'sts:SetSourceIdentity';

const REALISTIC =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/trustbridge"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}';

function request(overrides: Partial<TrustPolicyRequest> = {}): TrustPolicyRequest {
  return { principal: { federated: PROVIDER }, actions: [ASSUME], context: conditionContext({ 'SAML:aud': AUD }), ...overrides };
}

function decide(statements: readonly object[], req: TrustPolicyRequest = request()): TrustPolicyDecision {
  return evaluateTrustPolicy(parsePolicyDocument(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'trust'), req);
}

const allow = (extra: object = {}) => ({ Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: ASSUME, ...extra });

describe('aws/policy/evaluate-trust-policy', () => {
  describe('the realistic SAML trust policy', () => {
    const policy = parsePolicyDocument(REALISTIC, 'trust');

    it('allows AssumeRoleWithSAML for the provider and the AWS audience', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request()), { effect: 'allow' });
    });
    it('allows it with TagSession too', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request({ actions: [ASSUME, TAG] })), { effect: 'allow' });
    });
    it('denies SetSourceIdentity, which it does not grant, naming that action', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request({ actions: [ASSUME, TAG, SOURCE] })), { effect: 'implicit-deny', action: SOURCE });
    });
    it('denies another provider', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request({ principal: { federated: OTHER_PROVIDER } })), { effect: 'implicit-deny', action: ASSUME });
    });
    it('denies another audience, and a missing one', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request({ context: conditionContext({ 'SAML:aud': 'https://evil.example/saml' }) })), {
        effect: 'implicit-deny',
        action: ASSUME,
      });
      assert.deepEqual(evaluateTrustPolicy(policy, request({ context: new Map() })), { effect: 'implicit-deny', action: ASSUME });
    });
    it('reads context keys in any case, even from a Map built by hand', () => {
      assert.deepEqual(evaluateTrustPolicy(policy, request({ context: new Map([['saml:AUD', [AUD]]]) })), { effect: 'allow' });
    });
  });

  describe('principals', () => {
    it('"*" matches any federated provider', () => {
      assert.deepEqual(decide([allow({ Principal: '*' })], request({ principal: { federated: OTHER_PROVIDER } })), { effect: 'allow' });
    });
    it('{"AWS": "*"} matches everyone too, as IAM treats it', () => {
      assert.deepEqual(decide([allow({ Principal: { AWS: '*' } })], request({ principal: { federated: OTHER_PROVIDER } })), { effect: 'allow' });
    });
    it('Federated matches only the exact provider ARN', () => {
      assert.deepEqual(decide([allow({ Principal: { Federated: [OTHER_PROVIDER, PROVIDER] } })]), { effect: 'allow' });
      assert.deepEqual(decide([allow({ Principal: { Federated: PROVIDER.toUpperCase() } })]), { effect: 'implicit-deny', action: ASSUME });
      assert.deepEqual(decide([allow({ Principal: { Federated: 'arn:aws:iam::123456789012:saml-provider/*' } })]), { effect: 'implicit-deny', action: ASSUME });
    });
    it('an AWS account or a Service never names a federated caller', () => {
      assert.deepEqual(decide([allow({ Principal: { AWS: '123456789012', Service: 'ec2.amazonaws.com' } })]), { effect: 'implicit-deny', action: ASSUME });
    });
    it('NotPrincipal denies everyone but the providers it lists', () => {
      const statements = [allow({ Principal: '*' }), { Sid: 'OnlyOurs', Effect: 'Deny', NotPrincipal: { Federated: PROVIDER }, Action: 'sts:*' }];
      assert.deepEqual(decide(statements), { effect: 'allow' });
      assert.deepEqual(decide(statements, request({ principal: { federated: OTHER_PROVIDER } })), { effect: 'explicit-deny', action: ASSUME, sid: 'OnlyOurs' });
    });
  });

  describe('actions', () => {
    for (const pattern of ['sts:*', 'sts:AssumeRole*', 'STS:assumerolewithsaml', 'sts:AssumeRoleWith????', '*']) {
      it(`"${pattern}" covers AssumeRoleWithSAML`, () => assert.deepEqual(decide([allow({ Action: pattern })]), { effect: 'allow' }));
    }
    for (const pattern of ['sts:AssumeRole', 'sts:AssumeRoleWithWebIdentity', 'sts:AssumeRoleWith?', 'iam:*']) {
      it(`"${pattern}" does not`, () => assert.deepEqual(decide([allow({ Action: pattern })]), { effect: 'implicit-deny', action: ASSUME }));
    }
    it('request action names are not case-sensitive either', () => {
      assert.deepEqual(decide([allow()], request({ actions: ['STS:ASSUMEROLEWITHSAML'] })), { effect: 'allow' });
    });
    it('NotAction covers every action it does not list', () => {
      const statements = [allow({ Action: undefined, NotAction: TAG })];
      assert.deepEqual(decide(statements, request({ actions: [ASSUME, SOURCE] })), { effect: 'allow' });
      assert.deepEqual(decide(statements, request({ actions: [ASSUME, TAG] })), { effect: 'implicit-deny', action: TAG });
    });
    it('every action needs an Allow: TagSession without one is denied, named', () => {
      assert.deepEqual(decide([allow()], request({ actions: [ASSUME, TAG] })), { effect: 'implicit-deny', action: TAG });
    });
    it('names the first action that is not allowed', () => {
      assert.deepEqual(decide([allow({ Action: SOURCE })], request({ actions: [ASSUME, TAG, SOURCE] })), { effect: 'implicit-deny', action: ASSUME });
    });
    it('actions may be allowed by different statements', () => {
      assert.deepEqual(decide([allow(), allow({ Action: TAG })], request({ actions: [ASSUME, TAG] })), { effect: 'allow' });
    });
    it('refuses to judge an empty list of actions rather than allow it', () => {
      assert.throws(() => decide([allow()], request({ actions: [] })), /at least one action/);
    });
  });

  describe('Deny', () => {
    it('overrides an Allow, naming the action and the statement', () => {
      const decision = decide([allow({ Action: 'sts:*' }), { Sid: 'NoTags', Effect: 'Deny', Principal: '*', Action: TAG }], request({ actions: [ASSUME, TAG] }));
      assert.deepEqual(decision, { effect: 'explicit-deny', action: TAG, sid: 'NoTags' });
    });
    it('wins even over an action that has no Allow at all', () => {
      const decision = decide([{ Effect: 'Deny', Principal: '*', Action: TAG }], request({ actions: [ASSUME, TAG] }));
      assert.deepEqual(decision, { effect: 'explicit-deny', action: TAG });
    });
    it('applies only when its conditions hold', () => {
      const statements = [
        allow(),
        { Sid: 'PlainHttp', Effect: 'Deny', Principal: '*', Action: '*', Condition: { BoolIfExists: { 'aws:SecureTransport': 'false' } } },
      ];
      const denied = { effect: 'explicit-deny', action: ASSUME, sid: 'PlainHttp' };
      assert.deepEqual(decide(statements, request({ context: conditionContext({ 'aws:SecureTransport': 'true' }) })), { effect: 'allow' });
      assert.deepEqual(decide(statements, request({ context: conditionContext({ 'aws:SecureTransport': 'false' }) })), denied);
      // IfExists holds when the key is absent, so in a Deny it denies requests that lack the key.
      assert.deepEqual(decide(statements, request({ context: conditionContext({}) })), denied);
    });
    it('applies only to the principal it names', () => {
      const statements = [allow({ Principal: '*' }), { Effect: 'Deny', Principal: { Federated: OTHER_PROVIDER }, Action: '*' }];
      assert.deepEqual(decide(statements), { effect: 'allow' });
      assert.deepEqual(decide(statements, request({ principal: { federated: OTHER_PROVIDER } })), { effect: 'explicit-deny', action: ASSUME });
    });
  });

  it('a realistic policy with tags restricted by ForAllValues and session names tied to the subject', () => {
    const policy = parsePolicyDocument(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'Assume', Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: ASSUME, Condition: { StringEquals: { 'SAML:aud': AUD }, StringLike: { 'sts:RoleSessionName': '${SAML:sub}' } } },
          { Sid: 'Tags', Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: TAG, Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['Dept', 'CostCenter'] }, StringLike: { 'aws:RequestTag/Dept': 'eng-*' } } },
        ],
      }),
      'trust',
    );
    const context = { 'SAML:aud': AUD, 'SAML:sub': 'alice', 'sts:RoleSessionName': 'alice', 'aws:TagKeys': ['Dept'], 'aws:RequestTag/Dept': 'eng-web' };
    const judge = (overrides: Record<string, string | string[]>) =>
      evaluateTrustPolicy(policy, request({ actions: [ASSUME, TAG], context: conditionContext({ ...context, ...overrides }) }));
    assert.deepEqual(judge({}), { effect: 'allow' });
    assert.deepEqual(judge({ 'sts:RoleSessionName': 'bob' }), { effect: 'implicit-deny', action: ASSUME });
    assert.deepEqual(judge({ 'aws:TagKeys': ['Dept', 'Admin'] }), { effect: 'implicit-deny', action: TAG });
    assert.deepEqual(judge({ 'aws:RequestTag/Dept': 'sales' }), { effect: 'implicit-deny', action: TAG });
  });
});
