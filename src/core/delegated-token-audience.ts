import { addressedTo, type SamlTokenView } from '../saml/token-view';
import { TrustFailedAuthenticationError } from './errors';

const NOT_ADDRESSED = 'The delegated token is not addressed to this STS (its Audience).';
// A token may carry any number of audiences; the log line names enough of them to tell whom it was for.
const LOGGED_CHARS = 1000;

/**
 * A partner's token buys tokens here (OnBehalfOf, ActAs) only when that partner addressed it to this
 * STS, as AD FS and WIF require of claims-provider and ActAs tokens. Otherwise a token the partner issued
 * to some other relying party, forwarded by that party or captured from it, would buy tokens for its
 * subject here: the token-forwarding hole.
 *
 * Every restriction must name one of `ours` on its own (SAML core 2.5.1.4; SAML 1.1's
 * AudienceRestrictionCondition the same). A token with no restriction at all is refused too: SAML
 * makes an unrestricted token valid for any audience, which is exactly what forwarding abuses.
 * Audiences compare as exact strings, as SAML compares URIs (core 1.3.2: no normalisation): a partner
 * writes our identifier as we publish it, and a near miss (case, trailing slash) is someone else's.
 */
export function checkDelegatedTokenAudience(token: SamlTokenView, ours: readonly string[]): void {
  if (addressedTo(token, ours)) return;
  throw new TrustFailedAuthenticationError(NOT_ADDRESSED, `partner token ${token.id} of ${token.issuer} is addressed to ${describe(token.audienceRestrictions)}`);
}

/** The restrictions as the log shows them: one JSON list per restriction, cut short past LOGGED_CHARS. */
function describe(restrictions: readonly (readonly string[])[]): string {
  if (restrictions.length === 0) return 'no one (it carries no audience restriction)';
  const all = JSON.stringify(restrictions);
  if (all.length <= LOGGED_CHARS) return all;
  return `${all.slice(0, LOGGED_CHARS)}… (${restrictions.flat().length} audiences in ${restrictions.length} restrictions)`;
}
