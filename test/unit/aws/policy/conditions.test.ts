import { strict as assert } from 'node:assert';
import { conditionContext } from '../../../../src/aws/policy/condition-context';
import { evaluateTrustPolicy } from '../../../../src/aws/policy/evaluate-trust-policy';
import { parsePolicyDocument } from '../../../../src/aws/policy/parse-policy';

const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/trustbridge';
type Context = Record<string, string | string[]>;

/** Whether a statement with this Condition element applies, judged through the public parse and evaluate. */
function holds(condition: Record<string, Record<string, unknown>>, context: Context, version = '2012-10-17'): boolean {
  const policy = parsePolicyDocument(
    JSON.stringify({ Version: version, Statement: [{ Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithSAML', Condition: condition }] }),
    'trust',
  );
  const decision = evaluateTrustPolicy(policy, { principal: { federated: PROVIDER }, actions: ['sts:AssumeRoleWithSAML'], context: conditionContext(context) });
  return decision.effect === 'allow';
}

type Case = readonly [description: string, context: Context, expected: boolean];

/** One `it` per case: the operator on `key` with `policyValue`, tested against each context. */
function cases(operator: string, key: string, policyValue: unknown, table: readonly Case[]): void {
  describe(`${operator} ${JSON.stringify({ [key]: policyValue })}`, () => {
    for (const [description, context, expected] of table) {
      it(`is ${expected} ${description}`, () => assert.equal(holds({ [operator]: { [key]: policyValue } }, context), expected));
    }
  });
}

const AUD = 'https://signin.aws.amazon.com/saml';
const MISSING: Context = {};

describe('aws/policy conditions', () => {
  describe('string operators', () => {
    cases('StringEquals', 'SAML:aud', AUD, [
      ['for the same value', { 'SAML:aud': AUD }, true],
      ['for another value', { 'SAML:aud': 'https://example.com/saml' }, false],
      ['for the value in another case (values are case-sensitive)', { 'SAML:aud': AUD.toUpperCase() }, false],
      ['when the key is missing', MISSING, false],
      ['for a key spelt in another case (key names are not case-sensitive)', { 'saml:AUD': AUD }, true],
    ]);
    cases('StringEquals', 'SAML:sub_type', ['persistent', 'transient'], [
      ['when the value is any one of the policy values', { 'SAML:sub_type': 'transient' }, true],
      ['when it is none of them', { 'SAML:sub_type': 'unspecified' }, false],
    ]);
    cases('StringNotEquals', 'SAML:sub_type', ['persistent', 'transient'], [
      ['when the value is none of the policy values', { 'SAML:sub_type': 'unspecified' }, true],
      ['when it is one of them', { 'SAML:sub_type': 'persistent' }, false],
      ['when the key is missing', MISSING, true],
    ]);
    cases('StringEqualsIgnoreCase', 'SAML:namequalifier', 'AbC123', [
      ['for the value in another case', { 'SAML:namequalifier': 'aBc123' }, true],
      ['for another value', { 'SAML:namequalifier': 'abc124' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('StringNotEqualsIgnoreCase', 'SAML:namequalifier', 'AbC123', [
      ['for the value in another case', { 'SAML:namequalifier': 'ABC123' }, false],
      ['for another value', { 'SAML:namequalifier': 'abc124' }, true],
      ['when the key is missing', MISSING, true],
    ]);
    cases('StringLike', 'SAML:sub', '*@example.com', [
      ['for a value the `*` pattern covers', { 'SAML:sub': 'alice@example.com' }, true],
      ['for the bare suffix (`*` matches nothing too)', { 'SAML:sub': '@example.com' }, true],
      ['for a value it does not cover', { 'SAML:sub': 'alice@example.com.evil' }, false],
      ['for the suffix in another case', { 'SAML:sub': 'alice@EXAMPLE.com' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('StringLike', 'sts:RoleSessionName', 'b?b', [
      ['when `?` stands for one character', { 'sts:RoleSessionName': 'bob' }, true],
      ['when there would be two', { 'sts:RoleSessionName': 'boob' }, false],
      ['when there would be none', { 'sts:RoleSessionName': 'bb' }, false],
    ]);
    cases('StringNotLike', 'SAML:sub', ['*@example.com', 'admin*'], [
      ['for a value no pattern covers', { 'SAML:sub': 'alice@example.org' }, true],
      ['for a value one pattern covers', { 'SAML:sub': 'administrator' }, false],
      ['when the key is missing', MISSING, true],
    ]);
  });

  describe('numeric operators', () => {
    cases('NumericEquals', 'n:count', 10, [
      ['for the same number', { 'n:count': '10' }, true],
      ['for the same number written otherwise', { 'n:count': '1.0e1' }, true],
      ['for another number', { 'n:count': '11' }, false],
      ['for a value that is not a number', { 'n:count': 'ten' }, false],
      ['for a hexadecimal value (not IAM notation)', { 'n:count': '0xA' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('NumericNotEquals', 'n:count', '10', [
      ['for another number', { 'n:count': '11' }, true],
      ['for the same number', { 'n:count': '10' }, false],
      ['when the key is missing', MISSING, true],
      ['for a value that is not a number (never true on garbage)', { 'n:count': 'ten' }, false],
    ]);
    cases('NumericLessThan', 'n:count', 10, [
      ['below', { 'n:count': '9.5' }, true],
      ['equal', { 'n:count': '10' }, false],
      ['above', { 'n:count': '11' }, false],
    ]);
    cases('NumericLessThanEquals', 'n:count', 10, [
      ['equal', { 'n:count': '10' }, true],
      ['above', { 'n:count': '10.001' }, false],
    ]);
    cases('NumericGreaterThan', 'n:count', -1, [
      ['above', { 'n:count': '0' }, true],
      ['equal', { 'n:count': '-1' }, false],
    ]);
    cases('NumericGreaterThanEquals', 'n:count', 10, [
      ['equal', { 'n:count': '10' }, true],
      ['below', { 'n:count': '9' }, false],
    ]);
    cases('NumericLessThan', 'n:count', 'lots', [['when the policy value is not a number', { 'n:count': '1' }, false]]);
    cases('NumericNotEquals', 'n:count', 'lots', [['when the policy value is not a number, even with the key missing', MISSING, false]]);
  });

  describe('date operators, with ISO 8601 and epoch seconds on either side', () => {
    // 2020-01-01T00:00:00Z is epoch second 1577836800.
    cases('DateGreaterThan', 'aws:CurrentTime', '2020-01-01T00:00:00Z', [
      ['for a later ISO time', { 'aws:CurrentTime': '2020-06-01T00:00:00Z' }, true],
      ['for an earlier ISO time', { 'aws:CurrentTime': '2019-12-31T23:59:59Z' }, false],
      ['for the same instant', { 'aws:CurrentTime': '2020-01-01T00:00:00Z' }, false],
      ['for a later time in epoch seconds', { 'aws:CurrentTime': '1577836801' }, true],
      ['for a later time with a zone offset', { 'aws:CurrentTime': '2020-01-01T00:30:00-01:00' }, true],
      ['for the same instant in another zone', { 'aws:CurrentTime': '2020-01-01T01:00:00+01:00' }, false],
      ['for a time without a zone (not read in local time)', { 'aws:CurrentTime': '2021-01-01T00:00:00' }, false],
      ['for an impossible date', { 'aws:CurrentTime': '2021-02-30T00:00:00Z' }, false],
      ['for a value that is not a date', { 'aws:CurrentTime': 'tomorrow' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('DateLessThan', 'aws:EpochTime', '1577836800', [
      ['for an earlier epoch time', { 'aws:EpochTime': '1577836799' }, true],
      ['for the same epoch time', { 'aws:EpochTime': '1577836800' }, false],
      ['for an earlier ISO time', { 'aws:EpochTime': '2019-12-31T23:59:59.999Z' }, true],
    ]);
    cases('DateLessThanEquals', 'aws:CurrentTime', '2020-01-01', [
      ['for midnight UTC of that date', { 'aws:CurrentTime': '1577836800' }, true],
      ['for one second later', { 'aws:CurrentTime': '2020-01-01T00:00:01Z' }, false],
    ]);
    cases('DateGreaterThanEquals', 'aws:CurrentTime', 1577836800, [
      ['for the same instant', { 'aws:CurrentTime': '2020-01-01T00:00:00.000Z' }, true],
      ['for one millisecond earlier', { 'aws:CurrentTime': '2019-12-31T23:59:59.999Z' }, false],
    ]);
    cases('DateEquals', 'aws:CurrentTime', '2020-01-01T00:00:00Z', [
      ['for the same instant in epoch seconds', { 'aws:CurrentTime': '1577836800' }, true],
      ['for the date alone', { 'aws:CurrentTime': '2020-01-01' }, true],
      ['for another instant', { 'aws:CurrentTime': '1577836801' }, false],
    ]);
    cases('DateNotEquals', 'aws:CurrentTime', '2020-01-01T00:00:00Z', [
      ['for another instant', { 'aws:CurrentTime': '1577836801' }, true],
      ['for the same instant', { 'aws:CurrentTime': '1577836800' }, false],
      ['when the key is missing', MISSING, true],
    ]);
    cases('DateLessThan', 'aws:CurrentTime', 'end of year', [['when the policy value is not a date', { 'aws:CurrentTime': '1577836800' }, false]]);
  });

  describe('Bool', () => {
    cases('Bool', 'aws:SecureTransport', 'true', [
      ['for "true"', { 'aws:SecureTransport': 'true' }, true],
      ['for "TRUE" (not case-sensitive)', { 'aws:SecureTransport': 'TRUE' }, true],
      ['for "false"', { 'aws:SecureTransport': 'false' }, false],
      ['for a value that is not a boolean', { 'aws:SecureTransport': 'yes' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('Bool', 'aws:SecureTransport', false, [
      ['for "false" against a JSON false', { 'aws:SecureTransport': 'false' }, true],
      ['for "true" against a JSON false', { 'aws:SecureTransport': 'true' }, false],
    ]);
  });

  describe('Null', () => {
    cases('Null', 'SAML:sub', 'true', [
      ['when the key is missing', MISSING, true],
      ['when the key has no values', { 'SAML:sub': [] }, true],
      ['when the key is there', { 'SAML:sub': 'alice' }, false],
      ['when the key is there, even empty', { 'SAML:sub': '' }, false],
    ]);
    cases('Null', 'SAML:sub', false, [
      ['when the key is there', { 'SAML:sub': 'alice' }, true],
      ['when the key is missing', MISSING, false],
    ]);
    cases('Null', 'SAML:sub', 'maybe', [
      ['for a value that is neither true nor false, key missing', MISSING, false],
      ['for a value that is neither true nor false, key there', { 'SAML:sub': 'alice' }, false],
    ]);
  });

  describe('ARN operators', () => {
    const ROLE = 'arn:aws:iam::123456789012:role/Admin';
    cases('ArnEquals', 'aws:PrincipalArn', ROLE, [
      ['for the same ARN', { 'aws:PrincipalArn': ROLE }, true],
      ['for another ARN', { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/Admins' }, false],
      ['for the ARN in another case (ARNs are case-sensitive)', { 'aws:PrincipalArn': ROLE.replace('Admin', 'admin') }, false],
      ['for a value that is not an ARN', { 'aws:PrincipalArn': 'Admin' }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:role/Admin*', [
      ['for an ARN the wildcards cover', { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/AdminTeam' }, true],
      ['for another resource', { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/Admin' }, false],
      ['for another service', { 'aws:PrincipalArn': 'arn:aws:sts::123456789012:role/Admin' }, false],
    ]);
    cases('ArnLike', 'aws:PrincipalArn', 'arn:aws:iam:*::role/Admin', [
      ['when `*` in the region would have to run on into the account', { 'aws:PrincipalArn': ROLE }, false],
      ['for an ARN with an empty account', { 'aws:PrincipalArn': 'arn:aws:iam:any-region::role/Admin' }, true],
    ]);
    cases('ArnLike', 'aws:SourceArn', 'arn:aws:logs:us-east-1:123456789012:log-group:app:*', [
      ['for a resource that itself contains colons', { 'aws:SourceArn': 'arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:x' }, true],
    ]);
    cases('ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*', [['when the policy value is not a whole ARN', { 'aws:PrincipalArn': ROLE }, false]]);
    cases('ArnNotEquals', 'aws:PrincipalArn', ROLE, [
      ['for another ARN', { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/Other' }, true],
      ['for the same ARN', { 'aws:PrincipalArn': ROLE }, false],
      ['when the key is missing', MISSING, true],
      ['for a value that is not an ARN (never true on garbage)', { 'aws:PrincipalArn': 'Other' }, false],
    ]);
    cases('ArnNotLike', 'aws:PrincipalArn', 'arn:aws:iam::*:role/Admin*', [
      ['for an ARN the pattern does not cover', { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/Dev' }, true],
      ['for an ARN it covers', { 'aws:PrincipalArn': ROLE }, false],
      ['when the key is missing', MISSING, true],
    ]);
  });

  describe('…IfExists', () => {
    cases('StringEqualsIfExists', 'SAML:aud', AUD, [
      ['when the key is missing', MISSING, true],
      ['for the same value', { 'SAML:aud': AUD }, true],
      ['for another value', { 'SAML:aud': 'https://example.com' }, false],
    ]);
    cases('StringNotLikeIfExists', 'SAML:sub', 'admin*', [
      ['when the key is missing', MISSING, true],
      ['for a value the pattern covers', { 'SAML:sub': 'admin1' }, false],
    ]);
    cases('NumericLessThanIfExists', 'n:count', 10, [
      ['when the key is missing', MISSING, true],
      ['for a value that is not a number', { 'n:count': 'ten' }, false],
      ['below', { 'n:count': '9' }, true],
    ]);
    cases('BoolIfExists', 'aws:SecureTransport', 'true', [
      ['when the key is missing', MISSING, true],
      ['for "false"', { 'aws:SecureTransport': 'false' }, false],
    ]);
    cases('DateLessThanIfExists', 'aws:CurrentTime', '2020-01-01T00:00:00Z', [['when the key is missing', MISSING, true]]);
    cases('ArnLikeIfExists', 'aws:PrincipalArn', 'arn:aws:iam::*:role/*', [['when the key is missing', MISSING, true]]);
  });

  describe('multivalued keys and the set prefixes', () => {
    const TAGS = 'aws:TagKeys';
    cases('ForAllValues:StringEquals', TAGS, ['Dept', 'Team'], [
      ['when every request value is allowed', { [TAGS]: ['Team', 'Dept'] }, true],
      ['when one request value is allowed', { [TAGS]: ['Dept'] }, true],
      ['when one request value is not', { [TAGS]: ['Dept', 'Cost'] }, false],
      ['when the key is missing (nothing fails to match)', MISSING, true],
      ['when the key has no values', { [TAGS]: [] }, true],
    ]);
    cases('ForAnyValue:StringEquals', TAGS, ['Dept', 'Team'], [
      ['when one request value matches', { [TAGS]: ['Cost', 'Team'] }, true],
      ['when none does', { [TAGS]: ['Cost', 'Owner'] }, false],
      ['when the key is missing (nothing matches)', MISSING, false],
      ['when the key has no values', { [TAGS]: [] }, false],
    ]);
    // IAM's documented example: deny when any tag key lacks the key1 prefix.
    cases('ForAllValues:StringNotLike', TAGS, 'key1*', [
      ['when no value has the prefix', { [TAGS]: ['key2:audit'] }, true],
      ['when every value has it', { [TAGS]: ['key1:hr', 'key1:personnel'] }, false],
      ['when some values have it', { [TAGS]: ['key1:hr', 'key2:audit'] }, false],
      ['when the key is missing', MISSING, true],
    ]);
    cases('ForAnyValue:StringNotEquals', TAGS, 'Dept', [
      ['when some value differs', { [TAGS]: ['Dept', 'Team'] }, true],
      ['when none does', { [TAGS]: ['Dept'] }, false],
      ['when the key is missing', MISSING, false],
    ]);
    cases('ForAnyValue:StringLikeIfExists', TAGS, 'D*', [
      ['when the key is missing', MISSING, true],
      ['when no value matches', { [TAGS]: ['Team'] }, false],
    ]);
    cases('ForAllValues:StringEqualsIgnoreCase', 'SAML:edupersonaffiliation', ['member', 'staff'], [
      ['for values in another case', { 'SAML:edupersonaffiliation': ['Member', 'STAFF'] }, true],
      ['with one value outside the set', { 'SAML:edupersonaffiliation': ['member', 'student'] }, false],
    ]);
    cases('ForAnyValue:NumericGreaterThan', 'n:levels', 5, [
      ['when one value is above', { 'n:levels': ['1', '6'] }, true],
      ['when a value is not a number', { 'n:levels': ['6', 'x'] }, false],
    ]);
    // Without a prefix IAM tests whether any value matches; a Not operator negates the whole.
    cases('StringEquals', 'SAML:edupersonaffiliation', 'staff', [
      ['for a multivalued key that has the value', { 'SAML:edupersonaffiliation': ['member', 'staff'] }, true],
      ['for one that lacks it', { 'SAML:edupersonaffiliation': ['member', 'student'] }, false],
    ]);
    cases('StringNotEquals', 'SAML:edupersonaffiliation', 'staff', [
      ['for a multivalued key that has the value', { 'SAML:edupersonaffiliation': ['member', 'staff'] }, false],
      ['for one that lacks it', { 'SAML:edupersonaffiliation': ['member', 'student'] }, true],
    ]);
  });

  describe('several conditions', () => {
    const condition = {
      StringEquals: { 'SAML:aud': AUD, 'SAML:iss': 'https://idp.example/' },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    const all = { 'SAML:aud': AUD, 'SAML:iss': 'https://idp.example/', 'aws:SecureTransport': 'true' };
    it('hold together when every operator and every key holds', () => assert.equal(holds(condition, all), true));
    it('fail when one key of one operator fails', () => assert.equal(holds(condition, { ...all, 'SAML:iss': 'https://other.example/' }), false));
    it('fail when another operator fails', () => assert.equal(holds(condition, { ...all, 'aws:SecureTransport': 'false' }), false));
  });

  describe('policy variables', () => {
    const sameAsSubject = { StringEquals: { 'sts:RoleSessionName': '${SAML:sub}' } };
    it('stand for the request value of the key they name, in any case', () => {
      assert.equal(holds(sameAsSubject, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'alice' }), true);
      assert.equal(holds({ StringEquals: { 'sts:RoleSessionName': '${saml:SUB}' } }, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'alice' }), true);
      assert.equal(holds(sameAsSubject, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'bob' }), false);
    });
    it('match nothing when the key they name is missing or multivalued', () => {
      assert.equal(holds(sameAsSubject, { 'sts:RoleSessionName': '${SAML:sub}' }), false);
      assert.equal(holds(sameAsSubject, { 'SAML:sub': ['alice', 'bob'], 'sts:RoleSessionName': 'alice' }), false);
      assert.equal(holds({ StringNotEquals: { 'sts:RoleSessionName': '${SAML:sub}' } }, { 'sts:RoleSessionName': 'alice' }), true);
    });
    it('take their fallback when the key is missing', () => {
      const withFallback = { StringEquals: { 'sts:RoleSessionName': "${SAML:sub, 'nobody'}" } };
      assert.equal(holds(withFallback, { 'sts:RoleSessionName': 'nobody' }), true);
      assert.equal(holds(withFallback, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'nobody' }), false);
    });
    it('are literal text in StringLike, where the rest of the pattern keeps its wildcards', () => {
      const prefixed = { StringLike: { 'sts:RoleSessionName': '${SAML:sub}-*' } };
      assert.equal(holds(prefixed, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'alice-laptop' }), true);
      assert.equal(holds(prefixed, { 'SAML:sub': '*', 'sts:RoleSessionName': 'alice-laptop' }), false);
      assert.equal(holds(prefixed, { 'SAML:sub': '*', 'sts:RoleSessionName': '*-laptop' }), true);
    });
    it('${*}, ${?} and ${$} are those characters taken literally', () => {
      const literal = { StringLike: { 's:k': 'a${*}b${?}c${$}' } };
      assert.equal(holds(literal, { 's:k': 'a*b?c$' }), true);
      assert.equal(holds(literal, { 's:k': 'axxbyc$' }), false);
    });
    it('work in ARN operators', () => {
      const ownRole = { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::${aws:PrincipalAccount}:role/*' } };
      assert.equal(holds(ownRole, { 'aws:PrincipalAccount': '123456789012', 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/x' }), true);
      assert.equal(holds(ownRole, { 'aws:PrincipalAccount': '999999999999', 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/x' }), false);
    });
    it('are ordinary text when unterminated', () => {
      assert.equal(holds({ StringEquals: { 's:k': 'a${b' } }, { 's:k': 'a${b' }), true);
    });
    it('are ordinary text in a 2008-10-17 policy', () => {
      assert.equal(holds(sameAsSubject, { 'SAML:sub': 'alice', 'sts:RoleSessionName': 'alice' }, '2008-10-17'), false);
      assert.equal(holds(sameAsSubject, { 'SAML:sub': 'alice', 'sts:RoleSessionName': '${SAML:sub}' }, '2008-10-17'), true);
    });
  });
});
