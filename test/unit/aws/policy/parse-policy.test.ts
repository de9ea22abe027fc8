import { strict as assert } from 'node:assert';
import { AwsError } from '../../../../src/aws/aws-error';
import { parsePolicyDocument } from '../../../../src/aws/policy/parse-policy';
import type { PolicyKind } from '../../../../src/aws/policy/policy-document';

const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/trustbridge';
const TRUST_STATEMENT = { Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithSAML' };
const SESSION_STATEMENT = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' };

/** Expects parsing to fail with MalformedPolicyDocument, and the message to match. */
function refused(document: unknown, kind: PolicyKind, message: RegExp): void {
  const json = typeof document === 'string' ? document : JSON.stringify(document);
  assert.throws(
    () => parsePolicyDocument(json, kind),
    (err: unknown) => {
      assert.ok(err instanceof AwsError, 'expected an AwsError');
      assert.equal(err.code, 'MalformedPolicyDocument');
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      return true;
    },
  );
}

const withStatement = (statement: Record<string, unknown>) => ({ Version: '2012-10-17', Statement: [statement] });
const without = (object: Record<string, unknown>, field: string) => Object.fromEntries(Object.entries(object).filter(([key]) => key !== field));

describe('aws/policy/parse-policy', () => {
  describe('reads', () => {
    it('the realistic SAML trust policy into its typed form', () => {
      const policy = parsePolicyDocument(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/trustbridge"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}',
        'trust',
      );
      assert.deepEqual(policy, {
        kind: 'trust',
        version: '2012-10-17',
        statements: [
          {
            effect: 'Allow',
            principal: { negated: false, principals: { kind: 'listed', aws: [], federated: [PROVIDER], service: [] } },
            action: { negated: false, patterns: ['sts:AssumeRoleWithSAML', 'sts:TagSession'] },
            conditions: [
              {
                operator: { name: 'StringEquals', base: 'StringEquals', ifExists: false, set: undefined },
                key: 'SAML:aud',
                values: ['https://signin.aws.amazon.com/saml'],
              },
            ],
          },
        ],
      });
    });

    it('a single statement object, an Id, a Sid, Principal "*" and NotAction', () => {
      const policy = parsePolicyDocument(
        JSON.stringify({ Version: '2012-10-17', Id: 'trust-1', Statement: { Sid: 'Everyone', Effect: 'Allow', Principal: '*', NotAction: 'sts:TagSession' } }),
        'trust',
      );
      assert.equal(policy.id, 'trust-1');
      assert.equal(policy.statements.length, 1);
      assert.equal(policy.statements[0]!.sid, 'Everyone');
      assert.deepEqual(policy.statements[0]!.principal, { negated: false, principals: { kind: 'anyone' } });
      assert.deepEqual(policy.statements[0]!.action, { negated: true, patterns: ['sts:TagSession'] });
      assert.deepEqual(policy.statements[0]!.conditions, []);
    });

    it('a missing Version as 2008-10-17, as IAM does', () => {
      assert.equal(parsePolicyDocument(JSON.stringify({ Statement: [TRUST_STATEMENT] }), 'trust').version, '2008-10-17');
      assert.equal(parsePolicyDocument(JSON.stringify({ Version: '2008-10-17', Statement: [TRUST_STATEMENT] }), 'trust').version, '2008-10-17');
    });

    it('every principal type, as a string or a list', () => {
      const policy = parsePolicyDocument(
        JSON.stringify(withStatement({ ...TRUST_STATEMENT, Principal: { AWS: ['123456789012', '*'], Federated: PROVIDER, Service: 'ec2.amazonaws.com' } })),
        'trust',
      );
      assert.deepEqual(policy.statements[0]!.principal.principals, {
        kind: 'listed',
        aws: ['123456789012', '*'],
        federated: [PROVIDER],
        service: ['ec2.amazonaws.com'],
      });
    });

    it('NotPrincipal with Deny', () => {
      const policy = parsePolicyDocument(JSON.stringify(withStatement({ Effect: 'Deny', NotPrincipal: { Federated: PROVIDER }, Action: 'sts:*' })), 'trust');
      assert.equal(policy.statements[0]!.principal.negated, true);
    });

    it('condition values of every JSON scalar type, as strings', () => {
      const policy = parsePolicyDocument(
        JSON.stringify(withStatement({ ...TRUST_STATEMENT, Condition: { NumericLessThan: { 'n:a': 10, 'n:b': [1.5, '2'] }, Bool: { 'aws:SecureTransport': true } } })),
        'trust',
      );
      assert.deepEqual(
        policy.statements[0]!.conditions.map((c) => [c.operator.name, c.key, c.values]),
        [
          ['NumericLessThan', 'n:a', ['10']],
          ['NumericLessThan', 'n:b', ['1.5', '2']],
          ['Bool', 'aws:SecureTransport', ['true']],
        ],
      );
    });

    it('every operator with its set prefixes and IfExists suffix', () => {
      const policy = parsePolicyDocument(
        JSON.stringify(
          withStatement({
            ...TRUST_STATEMENT,
            Condition: {
              'ForAllValues:StringLikeIfExists': { 'aws:TagKeys': 'a*' },
              'ForAnyValue:ArnNotEquals': { 'aws:PrincipalArn': 'arn:aws:iam::1:role/x' },
              DateGreaterThanIfExists: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' },
              Null: { 'SAML:sub': 'false' },
            },
          }),
        ),
        'trust',
      );
      assert.deepEqual(
        policy.statements[0]!.conditions.map((c) => c.operator),
        [
          { name: 'ForAllValues:StringLikeIfExists', base: 'StringLike', ifExists: true, set: 'ForAllValues' },
          { name: 'ForAnyValue:ArnNotEquals', base: 'ArnNotEquals', ifExists: false, set: 'ForAnyValue' },
          { name: 'DateGreaterThanIfExists', base: 'DateGreaterThan', ifExists: true, set: undefined },
          { name: 'Null', base: 'Null', ifExists: false, set: undefined },
        ],
      );
    });

    it('a session policy with Resource or NotResource', () => {
      const policy = parsePolicyDocument(JSON.stringify(withStatement(SESSION_STATEMENT)), 'session');
      assert.equal(policy.kind, 'session');
      assert.deepEqual(policy.statements[0]!.resource, { negated: false, patterns: ['arn:aws:s3:::bucket/*'] });
      const not = parsePolicyDocument(JSON.stringify(withStatement({ ...without(SESSION_STATEMENT, 'Resource'), NotResource: ['*'] })), 'session');
      assert.deepEqual(not.statements[0]!.resource, { negated: true, patterns: ['*'] });
    });
  });

  describe('refuses with MalformedPolicyDocument', () => {
    it('text that is not JSON', () => refused('{"Version":', 'trust', /^Syntax errors in policy\.$/));
    it('JSON that is not an object', () => {
      refused('[]', 'trust', /must be a JSON object/);
      refused('"policy"', 'trust', /must be a JSON object/);
      refused('null', 'session', /must be a JSON object/);
    });
    it('an unknown top-level field', () => refused({ Version: '2012-10-17', Statement: [TRUST_STATEMENT], Statements: [] }, 'trust', /unknown field "Statements"/));
    it('an unsupported, misspelt or non-string Version', () => {
      refused({ Version: '2012-10-18', Statement: [TRUST_STATEMENT] }, 'trust', /Version must be "2012-10-17" or "2008-10-17"/);
      refused({ Version: 20121017, Statement: [TRUST_STATEMENT] }, 'trust', /Version must be/);
      refused({ Version: null, Statement: [TRUST_STATEMENT] }, 'trust', /Version must be/);
    });
    it('a non-string Id', () => refused({ Id: 1, Statement: [TRUST_STATEMENT] }, 'trust', /Id must be a string/));
    it('a missing, empty or non-object Statement', () => {
      refused({ Version: '2012-10-17' }, 'trust', /Missing required field Statement/);
      refused({ Version: '2012-10-17', Statement: [] }, 'trust', /Statement must not be an empty list/);
      refused({ Version: '2012-10-17', Statement: 'Allow' }, 'trust', /Statement 1 must be an object/);
      refused({ Version: '2012-10-17', Statement: [TRUST_STATEMENT, 7] }, 'trust', /Statement 2 must be an object/);
    });
    it('an unknown statement field, naming it and the statement', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Condtion: {} }), 'trust', /^Statement 1 has an unknown field "Condtion"\.$/);
      refused(withStatement({ ...TRUST_STATEMENT, effect: 'Allow' }), 'trust', /unknown field "effect"/);
    });
    it('a non-string Sid, and a Sid used twice', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Sid: 1 }), 'trust', /Statement 1: Sid must be a string/);
      refused({ Statement: [{ ...TRUST_STATEMENT, Sid: 'A' }, { ...TRUST_STATEMENT, Sid: 'A' }] }, 'trust', /Statement 2: Sid "A" is used by an earlier statement/);
    });
    it('a missing or unknown Effect', () => {
      refused(withStatement(without(TRUST_STATEMENT, 'Effect')), 'trust', /Statement 1: missing required field Effect/);
      refused(withStatement({ ...TRUST_STATEMENT, Effect: 'allow' }), 'trust', /Effect must be "Allow" or "Deny"/);
    });
    it('neither or both of Action and NotAction', () => {
      refused(withStatement(without(TRUST_STATEMENT, 'Action')), 'trust', /missing required field Action \(or NotAction\)/);
      refused(withStatement({ ...TRUST_STATEMENT, NotAction: 'sts:TagSession' }), 'trust', /either Action or NotAction, not both/);
    });
    it('an empty, non-string or malformed action', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Action: [] }), 'trust', /Action must not be an empty list/);
      refused(withStatement({ ...TRUST_STATEMENT, Action: ['sts:AssumeRoleWithSAML', 3] }), 'trust', /Action must be a non-empty string or a list of them/);
      refused(withStatement({ ...TRUST_STATEMENT, Action: '' }), 'trust', /Action must be a non-empty string/);
      refused(withStatement({ ...TRUST_STATEMENT, Action: 'AssumeRoleWithSAML' }), 'trust', /Action "AssumeRoleWithSAML" must be "\*" or a service prefix and an action/);
      refused(withStatement({ ...without(TRUST_STATEMENT, 'Action'), NotAction: 'sts:' }), 'trust', /NotAction "sts:" must be/);
    });
    it('a trust statement with neither or both of Principal and NotPrincipal', () => {
      refused(withStatement(without(TRUST_STATEMENT, 'Principal')), 'trust', /missing required field Principal \(or NotPrincipal\)/);
      refused(withStatement({ ...TRUST_STATEMENT, Effect: 'Deny', NotPrincipal: '*' }), 'trust', /either Principal or NotPrincipal, not both/);
    });
    it('NotPrincipal with Allow', () => {
      refused(withStatement({ ...without(TRUST_STATEMENT, 'Principal'), NotPrincipal: { Federated: PROVIDER } }), 'trust', /NotPrincipal can only be used with "Effect": "Deny"/);
    });
    it('a malformed principal', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Principal: PROVIDER }), 'trust', /Principal must be "\*" or an object/);
      refused(withStatement({ ...TRUST_STATEMENT, Principal: {} }), 'trust', /Principal must be "\*" or an object/);
      refused(withStatement({ ...TRUST_STATEMENT, Principal: { CanonicalUser: 'abc' } }), 'trust', /unknown principal type "CanonicalUser"/);
      refused(withStatement({ ...TRUST_STATEMENT, Principal: { Federated: [] } }), 'trust', /Principal: Federated must not be an empty list/);
      refused(withStatement({ ...TRUST_STATEMENT, Principal: { AWS: [1] } }), 'trust', /Principal: AWS must be a non-empty string/);
    });
    it('Resource or NotResource in a trust policy', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Resource: '*' }), 'trust', /Statement 1: has prohibited field Resource/);
      refused(withStatement({ ...TRUST_STATEMENT, NotResource: '*' }), 'trust', /has prohibited field NotResource/);
    });
    it('Principal or NotPrincipal in a session policy', () => {
      refused(withStatement({ ...SESSION_STATEMENT, Principal: '*' }), 'session', /has prohibited field Principal/);
      refused(withStatement({ ...SESSION_STATEMENT, Effect: 'Deny', NotPrincipal: '*' }), 'session', /has prohibited field NotPrincipal/);
    });
    it('a session statement with neither or both of Resource and NotResource, or a malformed resource', () => {
      refused(withStatement(without(SESSION_STATEMENT, 'Resource')), 'session', /missing required field Resource \(or NotResource\)/);
      refused(withStatement({ ...SESSION_STATEMENT, NotResource: '*' }), 'session', /either Resource or NotResource, not both/);
      refused(withStatement({ ...SESSION_STATEMENT, Resource: 'bucket/*' }), 'session', /Resource "bucket\/\*" must be "\*" or an ARN/);
      refused(withStatement({ ...SESSION_STATEMENT, Resource: 'arn:aws:s3' }), 'session', /must be "\*" or an ARN/);
    });
    it('a Condition that is not an object of operators', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Condition: [] }), 'trust', /Condition must be an object of condition operators/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: 'StringEquals' }), 'trust', /Condition must be an object/);
    });
    it('an unknown condition operator, when the policy is read', () => {
      for (const name of ['StringEqual', 'stringequals', 'StringEqualsIfExist', 'ForSomeValues:StringEquals', 'ForAnyValue:Null', 'NullIfExists', 'IpAddress', 'ForAllValues:', 'IfExists']) {
        refused(withStatement({ ...TRUST_STATEMENT, Condition: { [name]: { 'SAML:aud': 'x' } } }), 'trust', new RegExp(`unknown condition operator ${JSON.stringify(name)}`));
      }
    });
    it('an operator with no keys, an empty key, or values of the wrong shape', () => {
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: {} } }), 'trust', /"StringEquals" must map at least one context key/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: 'SAML:aud' } }), 'trust', /"StringEquals" must map at least one context key/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: { '': 'x' } } }), 'trust', /has an empty context key/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: { 'SAML:aud': [] } } }), 'trust', /condition "StringEquals" on "SAML:aud" has no values/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: { 'SAML:aud': null } } }), 'trust', /a value must be a string, a number or a boolean/);
      refused(withStatement({ ...TRUST_STATEMENT, Condition: { StringEquals: { 'SAML:aud': [{ a: 1 }] } } }), 'trust', /a value must be a string, a number or a boolean/);
    });
    it('with a short, escaped quotation of a long or odd name', () => {
      refused(withStatement({ ...TRUST_STATEMENT, ['x'.repeat(500) + '\n']: 1 }), 'trust', /^Statement 1 has an unknown field "x{64}…"\.$/);
    });
  });
});
