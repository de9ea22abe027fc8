import { strict as assert } from 'node:assert';
import { AwsError } from '../../../../src/aws/aws-error';
import {
  checkSessionPolicyParameter,
  MAX_SESSION_POLICY_LENGTH,
  packedPolicySizePercent,
} from '../../../../src/aws/policy/session-policy-size';

function refusal(fn: () => unknown, code: string): AwsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AwsError, 'expected an AwsError');
  assert.equal(caught.code, code);
  assert.equal(caught.status, 400);
  return caught;
}

/** A policy whose minified JSON is exactly `length` characters long. */
function policyOfLength(length: number): string {
  const skeleton = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::' }] });
  const padding = length - skeleton.length;
  assert.ok(padding >= 0);
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(padding)}` }] });
}

describe('aws/policy/session-policy-size', () => {
  describe('checkSessionPolicyParameter', () => {
    it('accepts a policy of 1 to 2,048 characters, line breaks and Latin-1 included', () => {
      checkSessionPolicyParameter('{}');
      checkSessionPolicyParameter(`{\r\n\t"Id": "café"}`);
      checkSessionPolicyParameter('x'.repeat(MAX_SESSION_POLICY_LENGTH));
    });

    it('refuses 2,049 characters with AWS\'s ValidationError, without echoing the policy', () => {
      const policy = `{"Id":"${'s'.repeat(MAX_SESSION_POLICY_LENGTH)}"}`;
      const err = refusal(() => checkSessionPolicyParameter(policy), 'ValidationError');
      assert.equal(
        err.message,
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048",
      );
      assert.ok(!err.message.includes('sss'));
    });

    it('refuses an empty policy', () => {
      const err = refusal(() => checkSessionPolicyParameter(''), 'ValidationError');
      assert.match(err.message, /Member must have length greater than or equal to 1$/);
    });

    it('refuses characters outside the parameter\'s pattern', () => {
      for (const policy of ['{"Id":"€"}', '{"Id":"\u0000"}', '{"Id":"中"}']) {
        const err = refusal(() => checkSessionPolicyParameter(policy), 'ValidationError');
        assert.match(err.message, /Member must satisfy regular expression pattern: \[\\u0009\\u000A\\u000D\\u0020-\\u00FF\]\+$/);
      }
    });
  });

  describe('packedPolicySizePercent', () => {
    it('is 0 with neither policy nor tags', () => {
      assert.equal(packedPolicySizePercent(undefined, []), 0);
    });

    it('counts the minified policy, not its layout', () => {
      const minified = policyOfLength(1024);
      const pretty = JSON.stringify(JSON.parse(minified), null, 4);
      assert.ok(pretty.length > minified.length);
      assert.equal(packedPolicySizePercent(minified, []), 50);
      assert.equal(packedPolicySizePercent(pretty, []), 50);
    });

    it('rounds up', () => {
      assert.equal(packedPolicySizePercent(policyOfLength(1025), []), 51);
      assert.equal(packedPolicySizePercent(undefined, [{ key: 'k', value: '' }]), 1);
    });

    it('adds every tag key and value, counting characters', () => {
      // 1,024 + 512 + 512 = the whole space.
      const tags = [
        { key: 'Dept', value: 'x'.repeat(508) },
        { key: '𝄞'.repeat(100), value: 'y'.repeat(412) },
      ];
      assert.equal(packedPolicySizePercent(policyOfLength(1024), tags), 100);
    });

    it('refuses over 100% with PackedPolicyTooLarge in AWS\'s words for a policy', () => {
      const err = refusal(() => packedPolicySizePercent(policyOfLength(2048), [{ key: 'a', value: '' }]), 'PackedPolicyTooLarge');
      assert.equal(err.message, 'Packed policy consumes 101% of allotted space, please use smaller policy.');
    });

    it('and in AWS\'s words for tags when there is no policy', () => {
      const tags = Array.from({ length: 10 }, (_, i) => ({ key: `key${i}`.padEnd(128, 'k'), value: 'v'.repeat(256) }));
      const err = refusal(() => packedPolicySizePercent(undefined, tags), 'PackedPolicyTooLarge');
      assert.equal(err.message, 'Packed size of session tags consumes 188% of allotted space.');
    });

    it('refuses a policy that is not JSON with MalformedPolicyDocument', () => {
      refusal(() => packedPolicySizePercent('{"Version":', []), 'MalformedPolicyDocument');
    });
  });
});
