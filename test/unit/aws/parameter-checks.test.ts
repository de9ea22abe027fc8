import { strict as assert } from 'node:assert';
import { AwsError } from '../../../src/aws/aws-error';
import { memberList, optionalInteger, requiredString } from '../../../src/aws/query/parameter-checks';

const params = (entries: Record<string, string>): ReadonlyMap<string, string> => new Map(Object.entries(entries));
const awsError = (code: string, message: string, status = 400) => (err: unknown) => {
  assert.ok(err instanceof AwsError, String(err));
  assert.deepEqual({ code: err.code, status: err.status, message: err.message }, { code, status, message });
  return true;
};
const violation = (member: string, constraint: string) =>
  awsError('ValidationError', `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${constraint}`);

describe('aws/query parameter checks', () => {
  describe('requiredString', () => {
    it('returns a value within its bounds (both bounds inclusive)', () => {
      assert.equal(requiredString(params({ RoleArn: 'x'.repeat(20) }), 'RoleArn', 20, 2048), 'x'.repeat(20));
      assert.equal(requiredString(params({ RoleArn: 'x'.repeat(2048) }), 'RoleArn', 20, 2048), 'x'.repeat(2048));
    });

    it('missing or empty is MissingParameter naming it', () => {
      assert.throws(() => requiredString(params({}), 'RoleArn', 20, 2048), awsError('MissingParameter', 'The request must contain the parameter RoleArn'));
      assert.throws(() => requiredString(params({ RoleArn: '' }), 'RoleArn', 20, 2048), awsError('MissingParameter', 'The request must contain the parameter RoleArn'));
    });

    it('too short or too long is ValidationError with the model\'s member name, not the value', () => {
      assert.throws(() => requiredString(params({ RoleArn: 'short-secret' }), 'RoleArn', 20, 2048), (err: unknown) => {
        violation('roleArn', 'Member must have length greater than or equal to 20')(err);
        assert.doesNotMatch((err as Error).message, /short-secret/);
        return true;
      });
      assert.throws(
        () => requiredString(params({ SAMLAssertion: 'A'.repeat(100_001) }), 'SAMLAssertion', 4, 100_000),
        violation('sAMLAssertion', 'Member must have length less than or equal to 100000'),
      );
    });
  });

  describe('optionalInteger', () => {
    it('absent is undefined; a whole number within bounds is returned', () => {
      assert.equal(optionalInteger(params({}), 'DurationSeconds', 900, 43200), undefined);
      assert.equal(optionalInteger(params({ DurationSeconds: '900' }), 'DurationSeconds', 900, 43200), 900);
      assert.equal(optionalInteger(params({ DurationSeconds: '43200' }), 'DurationSeconds', 900, 43200), 43200);
    });

    it('out of bounds is ValidationError saying which bound', () => {
      assert.throws(() => optionalInteger(params({ DurationSeconds: '899' }), 'DurationSeconds', 900, 43200), violation('durationSeconds', 'Member must have value greater than or equal to 900'));
      assert.throws(() => optionalInteger(params({ DurationSeconds: '-5' }), 'DurationSeconds', 900, 43200), violation('durationSeconds', 'Member must have value greater than or equal to 900'));
      assert.throws(() => optionalInteger(params({ DurationSeconds: '43201' }), 'DurationSeconds', 900, 43200), violation('durationSeconds', 'Member must have value less than or equal to 43200'));
    });

    for (const text of ['', '1.5', '1e3', ' 900', '900 ', '0x10', '+900', '1234567890123']) {
      it(`"${text}" is InvalidParameterValue (not an integer)`, () => {
        assert.throws(
          () => optionalInteger(params({ DurationSeconds: text }), 'DurationSeconds', 900, 43200),
          awsError('InvalidParameterValue', 'The value of DurationSeconds must be an integer.'),
        );
      });
    }
  });

  describe('memberList', () => {
    it('no members is an empty list; members are read in number order', () => {
      assert.deepEqual(memberList(params({}), 'PolicyArns', 'arn', 10), []);
      const p = params({ 'PolicyArns.member.2.arn': 'b', 'PolicyArns.member.1.arn': 'a', 'PolicyArns.member.3.arn': 'c' });
      assert.deepEqual(memberList(p, 'PolicyArns', 'arn', 10), ['a', 'b', 'c']);
    });

    it('a list without a field name reads Name.member.N', () => {
      assert.deepEqual(memberList(params({ 'Keys.member.1': 'x', 'Keys.member.2': 'y' }), 'Keys', '', 5), ['x', 'y']);
    });

    it('a gap, or a member key of another shape, is InvalidParameterValue', () => {
      const gap = awsError('InvalidParameterValue', 'The members of PolicyArns must be numbered from 1 without gaps.');
      assert.throws(() => memberList(params({ 'PolicyArns.member.2.arn': 'b' }), 'PolicyArns', 'arn', 10), gap);
      assert.throws(() => memberList(params({ 'PolicyArns.member.1.arn': 'a', 'PolicyArns.member.3.arn': 'c' }), 'PolicyArns', 'arn', 10), gap);
      assert.throws(() => memberList(params({ 'PolicyArns.member.1.arn': 'a', 'PolicyArns.member.1.Arn': 'A' }), 'PolicyArns', 'arn', 10), gap);
    });

    it('more than maxItems is ValidationError', () => {
      const p = params(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`PolicyArns.member.${i + 1}.arn`, `a${i}`])));
      assert.throws(() => memberList(p, 'PolicyArns', 'arn', 10), violation('policyArns', 'Member must have length less than or equal to 10'));
      assert.equal(memberList(p, 'PolicyArns', 'arn', 11).length, 11);
    });
  });
});
