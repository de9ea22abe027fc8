import { awsErrors } from '../aws-error';
import type { QueryParams } from './query-params';

// AWS answers a parameter outside its model's constraints with a ValidationError worded this way;
// the value itself is not echoed (it may be an assertion or a policy).
const violation = (member: string, constraint: string) =>
  awsErrors.validationError(`1 validation error detected: Value at '${member}' failed to satisfy constraint: ${constraint}`);

/** A required string parameter with the model's length bounds. */
export function requiredString(params: QueryParams, name: string, min: number, max: number): string {
  const value = params.get(name);
  if (value === undefined || value === '') throw awsErrors.missingParameter(name);
  return checkLength(value, name, min, max);
}

export function optionalInteger(params: QueryParams, name: string, min: number, max: number): number | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,12}$/.test(text)) throw awsErrors.invalidParameterValue(`The value of ${name} must be an integer.`);
  const value = Number(text);
  const member = memberName(name);
  if (value < min) throw violation(member, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw violation(member, `Member must have value less than or equal to ${max}`);
  return value;
}

/** A Query-protocol list, `Name.member.1.field`, `Name.member.2.field`, … with no gaps. */
export function memberList(params: QueryParams, name: string, field: string, maxItems: number): string[] {
  const items: string[] = [];
  for (let i = 1; ; i++) {
    const value = params.get(`${name}.member.${i}${field === '' ? '' : `.${field}`}`);
    if (value === undefined) break;
    items.push(value);
  }
  const prefix = `${name}.member.`;
  const count = [...params.keys()].filter((k) => k.startsWith(prefix)).length;
  if (count !== items.length) throw awsErrors.invalidParameterValue(`The members of ${name} must be numbered from 1 without gaps.`);
  if (items.length > maxItems) throw violation(memberName(name), `Member must have length less than or equal to ${maxItems}`);
  return items;
}

function checkLength(value: string, name: string, min: number, max: number): string {
  const member = memberName(name);
  if (value.length < min) throw violation(member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw violation(member, `Member must have length less than or equal to ${max}`);
  return value;
}

// The AWS model's member names are the parameter names with a lower-case first letter (roleArn, sAMLAssertion).
const memberName = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
