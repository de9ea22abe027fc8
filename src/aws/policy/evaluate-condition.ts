// Whether one condition (an operator on a context key) holds for a request, with IAM's rules for
// a key the request lacks:
//   - a positive operator is false, a negated one (StringNotEquals, ArnNotLike…) true;
//   - …IfExists is true;
//   - ForAllValues: is true (nothing fails to match) and ForAnyValue: false (nothing matches);
//   - Null is true for "true" and false for "false".
// A value that is not of the operator's type (a number that isn't, a date without a zone) makes the
// condition false whatever the operator: a policy must not grant, or deny, by accident of a typo.

import { comparison } from './condition-operators';
import { contextValues, type ConditionContext } from './condition-context';
import { parseBool } from './condition-values';
import type { Condition } from './policy-document';
import type { VariableResolver } from './policy-variables';

export function conditionHolds(condition: Condition, context: ConditionContext, resolve: VariableResolver): boolean {
  const { operator } = condition;
  const requestValues = contextValues(context, condition.key);
  const present = requestValues.length > 0;
  if (operator.base === 'Null') {
    // Any one of the policy's values may hold; "true" means the key must be absent.
    return condition.values.some((value) => {
      const absent = parseBool(value);
      return absent !== undefined && absent !== present;
    });
  }

  const { negated, compile } = comparison(operator.base);
  const test = compile(condition.values, resolve);
  if (test === undefined) return false;
  if (!present) {
    if (operator.ifExists) return true;
    if (operator.set !== undefined) return operator.set === 'ForAllValues';
    return negated;
  }

  const matches: boolean[] = [];
  for (const value of requestValues) {
    const matched = test(value);
    if (matched === undefined) return false;
    matches.push(matched);
  }
  switch (operator.set) {
    // With a set prefix the negation applies to each request value on its own…
    case 'ForAllValues':
      return matches.every((matched) => matched !== negated);
    case 'ForAnyValue':
      return matches.some((matched) => matched !== negated);
    // …without one, to the whole: StringNotEquals holds when no request value equals any policy value.
    case undefined:
      return matches.includes(true) !== negated;
  }
}
