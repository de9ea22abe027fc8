import type { RelyingPartyPin } from '../relying-party-pin';
import { problem, type Problem } from '../verdict';

/** A pin vouches for its own issuer only; the caller may also insist on one issuer. */
export function checkIssuer(issuer: string, pin: RelyingPartyPin, expectedIssuer: string | undefined): Problem[] {
  const problems: Problem[] = [];
  if (issuer !== pin.issuer) {
    problems.push(problem('issuer-mismatch', `the assertion names issuer "${issuer}", but its signing certificate is pinned for "${pin.issuer}"`));
  }
  if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
    problems.push(problem('issuer-mismatch', `the assertion names issuer "${issuer}", not the expected "${expectedIssuer}"`));
  }
  return problems;
}
