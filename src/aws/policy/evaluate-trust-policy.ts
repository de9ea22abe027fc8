// Whether a role's trust policy lets a federated principal take the role, with IAM's logic: a
// statement applies when its principal, its action and all its conditions match; an applicable
// Deny wins over everything; otherwise every action the call needs must have an applicable Allow.

import { normaliseContext, type ConditionContext } from './condition-context';
import { conditionHolds } from './evaluate-condition';
import type { ActionElement, PrincipalElement, TrustPolicyDocument, TrustStatement } from './policy-document';
import { variableResolver } from './policy-variables';
import { wildcardMatches } from './wildcard';

export interface TrustPolicyRequest {
  /** The principal asking, e.g. { federated: 'arn:aws:iam::123456789012:saml-provider/Name' }. */
  readonly principal: { readonly federated: string };
  /** Every action the call needs, each of which must be allowed: 'sts:AssumeRoleWithSAML', plus 'sts:TagSession' or 'sts:SetSourceIdentity' when used. */
  readonly actions: readonly string[];
  /** Context key → its values. Keys are matched without regard to case, however they are spelt here. */
  readonly context: ConditionContext;
}

export type TrustPolicyDecision =
  | { readonly effect: 'allow' }
  | { readonly effect: 'explicit-deny'; readonly action: string; readonly sid?: string }
  | { readonly effect: 'implicit-deny'; readonly action: string };

export function evaluateTrustPolicy(policy: TrustPolicyDocument, request: TrustPolicyRequest): TrustPolicyDecision {
  // An empty list would be allowed by default; that is a caller's bug, never a request to grant.
  if (request.actions.length === 0) throw new TypeError('evaluateTrustPolicy needs at least one action');
  const context = normaliseContext(request.context);
  const resolve = variableResolver(policy.version, context);
  const applies = (statement: TrustStatement, action: string): boolean =>
    principalMatches(statement.principal, request.principal.federated) &&
    actionMatches(statement.action, action) &&
    statement.conditions.every((condition) => conditionHolds(condition, context, resolve));

  for (const action of request.actions) {
    const deny = policy.statements.find((statement) => statement.effect === 'Deny' && applies(statement, action));
    if (deny) return { effect: 'explicit-deny', action, ...(deny.sid === undefined ? {} : { sid: deny.sid }) };
  }
  const notAllowed = request.actions.find(
    (action) => !policy.statements.some((statement) => statement.effect === 'Allow' && applies(statement, action)),
  );
  return notAllowed === undefined ? { effect: 'allow' } : { effect: 'implicit-deny', action: notAllowed };
}

// A federated caller is named only by its provider's ARN. "*" and {"AWS": "*"} both stand for
// everyone, as in IAM; Service and other AWS entries never name a federated caller.
function principalMatches(element: PrincipalElement, federated: string): boolean {
  const { principals } = element;
  const named =
    principals.kind === 'anyone' || principals.aws.includes('*') || principals.federated.includes(federated);
  return named !== element.negated;
}

// Action names are not case-sensitive in IAM.
function actionMatches(element: ActionElement, action: string): boolean {
  const lower = action.toLowerCase();
  const named = element.patterns.some((pattern) => wildcardMatches(pattern.toLowerCase(), lower));
  return named !== element.negated;
}
