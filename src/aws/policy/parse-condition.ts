// The Condition element: { operator: { context key: value or values } }. Operators are checked here,
// when the policy is read, so a misspelt operator is refused up front instead of quietly never
// matching at evaluation time.

import { awsErrors } from '../aws-error';
import { parseConditionOperator } from './condition-operators';
import { isJsonObject, quoted } from './json-checks';
import type { Condition } from './policy-document';

export function parseConditionElement(element: unknown, where: string): Condition[] {
  if (!isJsonObject(element)) {
    throw awsErrors.malformedPolicyDocument(`${where}: Condition must be an object of condition operators.`);
  }
  const conditions: Condition[] = [];
  for (const [name, block] of Object.entries(element)) {
    const operator = parseConditionOperator(name);
    if (operator === undefined) throw awsErrors.malformedPolicyDocument(`${where}: unknown condition operator ${quoted(name)}.`);
    if (!isJsonObject(block) || Object.keys(block).length === 0) {
      throw awsErrors.malformedPolicyDocument(`${where}: condition operator ${quoted(name)} must map at least one context key to its values.`);
    }
    for (const [key, values] of Object.entries(block)) {
      if (key.length === 0) throw awsErrors.malformedPolicyDocument(`${where}: condition operator ${quoted(name)} has an empty context key.`);
      conditions.push({ operator, key, values: conditionValues(values, `${where}: condition ${quoted(name)} on ${quoted(key)}`) });
    }
  }
  return conditions;
}

function conditionValues(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw awsErrors.malformedPolicyDocument(`${where} has no values.`);
  return list.map((value: unknown) => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw awsErrors.malformedPolicyDocument(`${where}: a value must be a string, a number or a boolean.`);
  });
}
