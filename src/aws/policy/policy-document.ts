// The typed form of an IAM policy document, as parsePolicyDocument returns it. Every list is
// non-empty and every value already checked, so evaluation never has to doubt its input. Trust and
// session policies are distinct types: a trust policy names principals and no resources, a session
// policy the reverse, and the compiler keeps one from being evaluated as the other.

import type { ConditionOperator } from './condition-operators';

export type PolicyKind = 'trust' | 'session';

/** 2008-10-17 is what IAM assumes when Version is missing; it has no policy variables. */
export type PolicyVersion = '2012-10-17' | '2008-10-17';

export type Effect = 'Allow' | 'Deny';

/** Action or, when `negated`, NotAction: patterns with `*` and `?`, matched without regard to case. */
export interface ActionElement {
  readonly negated: boolean;
  readonly patterns: readonly string[];
}

/** `"Principal": "*"`, or the principals listed by type. */
export type PrincipalSet =
  | { readonly kind: 'anyone' }
  | {
      readonly kind: 'listed';
      readonly aws: readonly string[];
      readonly federated: readonly string[];
      readonly service: readonly string[];
    };

/** Principal or, when `negated`, NotPrincipal. */
export interface PrincipalElement {
  readonly negated: boolean;
  readonly principals: PrincipalSet;
}

/** Resource or, when `negated`, NotResource: "*" or ARN patterns. */
export interface ResourceElement {
  readonly negated: boolean;
  readonly patterns: readonly string[];
}

/** One operator applied to one context key; a statement's conditions all have to hold. */
export interface Condition {
  readonly operator: ConditionOperator;
  /** The context key as the policy spells it; keys are compared without regard to case. */
  readonly key: string;
  /** The policy's values, numbers and booleans written as strings; any one of them may match. */
  readonly values: readonly string[];
}

/** What trust and session statements share. */
export interface StatementCommon {
  readonly sid?: string;
  readonly effect: Effect;
  readonly action: ActionElement;
  readonly conditions: readonly Condition[];
}

export interface TrustStatement extends StatementCommon {
  readonly principal: PrincipalElement;
}

export interface SessionStatement extends StatementCommon {
  readonly resource: ResourceElement;
}

export interface TrustPolicyDocument {
  readonly kind: 'trust';
  readonly version: PolicyVersion;
  readonly id?: string;
  readonly statements: readonly TrustStatement[];
}

export interface SessionPolicyDocument {
  readonly kind: 'session';
  readonly version: PolicyVersion;
  readonly id?: string;
  readonly statements: readonly SessionStatement[];
}

export type PolicyDocument = TrustPolicyDocument | SessionPolicyDocument;
