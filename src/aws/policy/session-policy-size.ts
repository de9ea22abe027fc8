// AWS's two size limits on what a session carries. The Policy parameter itself is checked as the
// STS API declares it (1 to 2,048 characters of tab, line feed, carriage return and U+0020–U+00FF),
// with the ValidationError wording of AWS's parameter checks but without echoing the policy back.
// Then the policy and the session tags together must fit the packed space, reported to the caller
// as PackedPolicySize, a percentage.

import { awsErrors } from '../aws-error';

export const MAX_SESSION_POLICY_LENGTH = 2048;
/** The packed space that policy and tags share; PackedPolicySize is a percentage of it. */
export const PACKED_POLICY_LIMIT = 2048;

const POLICY_CHARACTERS = /^[\t\n\r\u0020-\u00FF]*$/;
const CONSTRAINT = "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must";

export interface SessionTag {
  readonly key: string;
  readonly value: string;
}

/** Refuses a Policy parameter that breaks the STS API's constraints on it, with a ValidationError. */
export function checkSessionPolicyParameter(policy: string): void {
  if (policy.length < 1) throw awsErrors.validationError(`${CONSTRAINT} have length greater than or equal to 1`);
  if (policy.length > MAX_SESSION_POLICY_LENGTH) {
    throw awsErrors.validationError(`${CONSTRAINT} have length less than or equal to ${MAX_SESSION_POLICY_LENGTH}`);
  }
  if (!POLICY_CHARACTERS.test(policy)) {
    throw awsErrors.validationError(`${CONSTRAINT} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+`);
  }
}

/**
 * PackedPolicySize: the minified policy's length plus every tag's key and value, as a percentage
 * of the packed space, rounded up. Over 100 is refused with PackedPolicyTooLarge in AWS's words.
 */
export function packedPolicySizePercent(policyJson: string | undefined, sessionTags: readonly SessionTag[]): number {
  const policyLength = policyJson === undefined ? 0 : minifiedLength(policyJson);
  const tagsLength = sessionTags.reduce((sum, tag) => sum + characters(tag.key) + characters(tag.value), 0);
  const percent = Math.ceil((100 * (policyLength + tagsLength)) / PACKED_POLICY_LIMIT);
  if (percent > 100) {
    throw awsErrors.packedPolicyTooLarge(
      policyJson === undefined
        ? `Packed size of session tags consumes ${percent}% of allotted space.`
        : `Packed policy consumes ${percent}% of allotted space, please use smaller policy.`,
    );
  }
  return percent;
}

// The policy as JSON without insignificant whitespace: the layout the caller chose costs nothing.
function minifiedLength(policyJson: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyJson);
  } catch {
    throw awsErrors.malformedPolicyDocument('Syntax errors in policy.');
  }
  return characters(JSON.stringify(parsed));
}

// Characters as people count them (code points), not UTF-16 units: an emoji in a tag is one.
function characters(text: string): number {
  return [...text].length;
}
