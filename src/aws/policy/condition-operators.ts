// IAM's condition operators: what each base operator compares, and how an operator's name reads
// (an optional ForAnyValue:/ForAllValues: set prefix, the base, an optional IfExists suffix).
// What a missing key or a set prefix does to the outcome is evaluate-condition's business.

import { parseBool, parseDate, parseNumber, splitArn } from './condition-values';
import { segmentsGlob, segmentsText, type VariableResolver } from './policy-variables';
import { globMatches, type Glob } from './wildcard';

export type SetOperator = 'ForAnyValue' | 'ForAllValues';

/**
 * Tests one request value against all of a condition's policy values: true when any of them
 * matches, undefined when the request value is not of the operator's type.
 */
export type ValueTest = (requestValue: string) => boolean | undefined;

/** Prepares a condition's policy values for testing; undefined when one of them is not of the operator's type. */
type Compile = (policyValues: readonly string[], resolve: VariableResolver) => ValueTest | undefined;

export interface Comparison {
  /** The Not operators hold where their positive twin does not. */
  readonly negated: boolean;
  readonly compile: Compile;
}

const asIs = (text: string): string => text;
const lowerCase = (text: string): string => text.toLowerCase();

function stringEquals(fold: (text: string) => string): Compile {
  return (policyValues, resolve) => {
    const expected = policyValues.map((value) => {
      const segments = resolve(value);
      return segments && fold(segmentsText(segments));
    });
    return (requestValue) => expected.includes(fold(requestValue));
  };
}

const stringLike: Compile = (policyValues, resolve) => {
  const patterns = policyValues.map((value) => {
    const segments = resolve(value);
    return segments && segmentsGlob(segments);
  });
  return (requestValue) => patterns.some((pattern) => pattern !== undefined && globMatches(pattern, requestValue));
};

/** Operators on a parsed type (numbers, dates, booleans); policy variables do not apply to them. */
function typed<T>(parse: (value: string) => T | undefined, holds: (request: T, policy: T) => boolean): Compile {
  return (policyValues) => {
    const expected: T[] = [];
    for (const value of policyValues) {
      const parsed = parse(value);
      if (parsed === undefined) return undefined;
      expected.push(parsed);
    }
    return (requestValue) => {
      const parsed = parse(requestValue);
      return parsed === undefined ? undefined : expected.some((policy) => holds(parsed, policy));
    };
  };
}

// ArnEquals and ArnLike are the same operator in IAM: each of the six components is matched on its
// own, with wildcards, so a `*` in the region cannot run on into the account.
const arnLike: Compile = (policyValues, resolve) => {
  // undefined entries hold a value whose variable could not be resolved: it matches nothing.
  const patterns: (Glob[] | undefined)[] = [];
  for (const value of policyValues) {
    const segments = resolve(value);
    const components = segments && splitArn(segmentsGlob(segments), (token) => token === ':');
    if (segments !== undefined && components === undefined) return undefined;
    patterns.push(components);
  }
  return (requestValue) => {
    const components = splitArn(Array.from(requestValue), (char) => char === ':')?.map((chars) => chars.join(''));
    if (components === undefined) return undefined;
    return patterns.some((pattern) => pattern?.every((glob, index) => globMatches(glob, components[index])) === true);
  };
};

const equal = <T>(request: T, policy: T): boolean => request === policy;
const numeric = (holds: (request: number, policy: number) => boolean): Compile => typed(parseNumber, holds);
const date = (holds: (request: number, policy: number) => boolean): Compile => typed(parseDate, holds);

const COMPARISONS = {
  StringEquals: { negated: false, compile: stringEquals(asIs) },
  StringNotEquals: { negated: true, compile: stringEquals(asIs) },
  StringEqualsIgnoreCase: { negated: false, compile: stringEquals(lowerCase) },
  StringNotEqualsIgnoreCase: { negated: true, compile: stringEquals(lowerCase) },
  StringLike: { negated: false, compile: stringLike },
  StringNotLike: { negated: true, compile: stringLike },
  NumericEquals: { negated: false, compile: numeric(equal) },
  NumericNotEquals: { negated: true, compile: numeric(equal) },
  NumericLessThan: { negated: false, compile: numeric((request, policy) => request < policy) },
  NumericLessThanEquals: { negated: false, compile: numeric((request, policy) => request <= policy) },
  NumericGreaterThan: { negated: false, compile: numeric((request, policy) => request > policy) },
  NumericGreaterThanEquals: { negated: false, compile: numeric((request, policy) => request >= policy) },
  DateEquals: { negated: false, compile: date(equal) },
  DateNotEquals: { negated: true, compile: date(equal) },
  DateLessThan: { negated: false, compile: date((request, policy) => request < policy) },
  DateLessThanEquals: { negated: false, compile: date((request, policy) => request <= policy) },
  DateGreaterThan: { negated: false, compile: date((request, policy) => request > policy) },
  DateGreaterThanEquals: { negated: false, compile: date((request, policy) => request >= policy) },
  Bool: { negated: false, compile: typed(parseBool, equal) },
  ArnEquals: { negated: false, compile: arnLike },
  ArnLike: { negated: false, compile: arnLike },
  ArnNotEquals: { negated: true, compile: arnLike },
  ArnNotLike: { negated: true, compile: arnLike },
} satisfies Record<string, Comparison>;

export type ComparisonOperator = keyof typeof COMPARISONS;

/** Null stands apart: it tests only whether the key is there, and takes no prefix or suffix. */
export type BaseOperator = ComparisonOperator | 'Null';

export interface ConditionOperator {
  /** As the policy spells it, e.g. 'ForAllValues:StringLikeIfExists'. */
  readonly name: string;
  readonly base: BaseOperator;
  readonly ifExists: boolean;
  readonly set: SetOperator | undefined;
}

const IF_EXISTS = 'IfExists';

function isComparison(name: string): name is ComparisonOperator {
  return Object.hasOwn(COMPARISONS, name);
}

/** Reads an operator name; undefined when IAM knows no such operator. Names are case-sensitive, as IAM's are. */
export function parseConditionOperator(name: string): ConditionOperator | undefined {
  const colon = name.indexOf(':');
  const prefix = colon < 0 ? undefined : name.slice(0, colon);
  if (prefix !== undefined && prefix !== 'ForAnyValue' && prefix !== 'ForAllValues') return undefined;
  const rest = name.slice(colon + 1);
  if (rest === 'Null') return prefix === undefined ? { name, base: 'Null', ifExists: false, set: undefined } : undefined;
  const ifExists = rest.endsWith(IF_EXISTS);
  const base = ifExists ? rest.slice(0, -IF_EXISTS.length) : rest;
  return isComparison(base) ? { name, base, ifExists, set: prefix } : undefined;
}

export function comparison(operator: ComparisonOperator): Comparison {
  return COMPARISONS[operator];
}
