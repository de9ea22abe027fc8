import type { SamlTokenView } from '../../saml/token-view';
import { problem, type Problem } from '../verdict';

/** Conditions' window (NotBefore, else IssueInstant, to NotOnOrAfter), widened by the clock skew. */
export function checkTimeWindow(token: SamlTokenView, now: Date, clockSkewMs: number): Problem[] {
  const t = now.getTime();
  const start = token.notBefore ?? token.issueInstant;
  if (t + clockSkewMs < start.getTime()) {
    return [problem('not-yet-valid', `the assertion is valid from ${start.toISOString()}; it is ${now.toISOString()}`)];
  }
  if (token.notOnOrAfter && t - clockSkewMs >= token.notOnOrAfter.getTime()) {
    return [problem('expired', `the assertion expired at ${token.notOnOrAfter.toISOString()}; it is ${now.toISOString()}`)];
  }
  return [];
}
