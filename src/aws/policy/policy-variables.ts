// Policy variables in condition values: `${saml:sub}` stands for the request's value of that context
// key, `${key, 'fallback'}` for the fallback when the key is absent, and `${*}`, `${?}`, `${$}` for
// those characters taken literally. Version 2008-10-17 has no variables, so its values are kept as
// written. Substituted text is always literal: a `*` in someone's SAML subject must not become a
// wildcard in a StringLike pattern.

import { contextValues, type ConditionContext } from './condition-context';
import type { PolicyVersion } from './policy-document';
import { globOf, literalGlob, type GlobToken } from './wildcard';

/** A stretch of a resolved value: written in the policy (where `*` and `?` are wildcards) or not. */
export interface ValueSegment {
  readonly text: string;
  readonly fromPolicy: boolean;
}

/** A value's segments, or undefined when a variable cannot be resolved: such a value matches nothing. */
export type VariableResolver = (value: string) => readonly ValueSegment[] | undefined;

const LITERAL_ESCAPES = new Set(['*', '?', '$']);
const WITH_FALLBACK = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/;

export function variableResolver(version: PolicyVersion, context: ConditionContext): VariableResolver {
  if (version === '2008-10-17') return (value) => [{ text: value, fromPolicy: true }];
  return (value) => resolve(value, context);
}

function resolve(value: string, context: ConditionContext): ValueSegment[] | undefined {
  const segments: ValueSegment[] = [];
  let rest = value;
  for (let start = rest.indexOf('${'); start >= 0; start = rest.indexOf('${')) {
    const end = rest.indexOf('}', start + 2);
    if (end < 0) break; // an unterminated `${` is ordinary text
    const substituted = substitute(rest.slice(start + 2, end), context);
    if (substituted === undefined) return undefined;
    segments.push({ text: rest.slice(0, start), fromPolicy: true }, { text: substituted, fromPolicy: false });
    rest = rest.slice(end + 1);
  }
  segments.push({ text: rest, fromPolicy: true });
  return segments;
}

function substitute(inner: string, context: ConditionContext): string | undefined {
  if (LITERAL_ESCAPES.has(inner)) return inner;
  const fallback = WITH_FALLBACK.exec(inner);
  const values = contextValues(context, fallback?.[1] ?? inner.trim());
  if (values.length === 0) return fallback?.[2];
  // IAM does not substitute multivalued keys; such a value matches nothing.
  return values.length === 1 ? values[0] : undefined;
}

export function segmentsText(segments: readonly ValueSegment[]): string {
  return segments.map((segment) => segment.text).join('');
}

export function segmentsGlob(segments: readonly ValueSegment[]): GlobToken[] {
  return segments.flatMap((segment) => (segment.fromPolicy ? globOf(segment.text) : literalGlob(segment.text)));
}
