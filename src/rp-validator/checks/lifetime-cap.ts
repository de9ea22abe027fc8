import type { SamlTokenView } from '../../saml/token-view';
import { problem, type Problem } from '../verdict';

/**
 * An assertion must end (a Golden SAML forgery often runs for years), and within the relying party's
 * cap when it has one: from NotBefore (else IssueInstant) to NotOnOrAfter.
 */
export function checkLifetimeCap(token: SamlTokenView, maxLifetimeSeconds: number | undefined): Problem[] {
  if (!token.notOnOrAfter) return [problem('lifetime-cap', 'the assertion has no NotOnOrAfter: its lifetime is unbounded')];
  if (maxLifetimeSeconds === undefined) return [];
  const seconds = (token.notOnOrAfter.getTime() - (token.notBefore ?? token.issueInstant).getTime()) / 1000;
  if (seconds <= maxLifetimeSeconds) return [];
  return [problem('lifetime-cap', `the assertion's lifetime is ${seconds} seconds, above the cap of ${maxLifetimeSeconds}`)];
}
