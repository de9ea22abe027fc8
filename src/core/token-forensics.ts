// What a token signed with one of our keys tells a responder when it is not what we issued. A valid
// signature proves only that someone holds the key; the issuance ledger says what we really issued.

import { ALERTS, type AlertName } from '../audit/alerts';
import type { PinRefusal } from '../keys/pin-policy';
import type { SamlTokenView } from '../saml/token-view';
import type { LedgerEntry, SigningKeyState } from '../store/store';

export interface TokenAlert {
  readonly name: AlertName;
  /** Everything a responder needs to act on it: the token's identity, times, key, and what differs. */
  readonly facts: Readonly<Record<string, unknown>>;
}

/** The token as the alert describes it: never the token itself, only what identifies and dates it. */
export function tokenFacts(token: SamlTokenView, keyThumbprint: string, digest: string | undefined): Record<string, unknown> {
  const lifetimeSeconds =
    token.notOnOrAfter === undefined ? undefined : Math.round((token.notOnOrAfter.getTime() - (token.notBefore ?? token.issueInstant).getTime()) / 1000);
  return {
    tokenId: token.id,
    tokenIssuer: token.issuer,
    tokenSubject: token.nameId,
    tokenAudiences: token.audiences,
    tokenIssueInstant: token.issueInstant.toISOString(),
    tokenNotBefore: token.notBefore?.toISOString(),
    tokenNotOnOrAfter: token.notOnOrAfter?.toISOString(),
    tokenLifetimeSeconds: lifetimeSeconds,
    signingKeyThumbprint: keyThumbprint,
    signedDigest: digest,
  };
}

/**
 * The alert for a token that verified against our key but is not what the ledger holds (the caller
 * has found the entry's digest differs, or no entry): no entry is a forgery; an entry whose digest
 * differs means the signed content was changed or re-minted under a real token's ID, and the fields
 * that differ are named.
 * `issuedAudience` is the Audience the entry's relying party writes, when it is not its AppliesTo.
 */
export function ledgerDiscrepancy(
  token: SamlTokenView,
  keyThumbprint: string,
  digest: string | undefined,
  entry: LedgerEntry | undefined,
  issuedAudience?: string,
): TokenAlert {
  const facts = tokenFacts(token, keyThumbprint, digest);
  if (!entry) return { name: ALERTS.forgedToken, facts: { ...facts, ledger: 'no entry with this token ID' } };
  const differs: string[] = [];
  if (entry.subject !== token.nameId) differs.push('subject');
  // The ledger records the relying party's AppliesTo; the token's Audience is the relying party's own
  // audience when it has one (AWS: the sign-in URL), which the caller passes as issuedAudience.
  if (!token.audiences.includes(issuedAudience ?? entry.audience)) differs.push('audience');
  if (token.notBefore !== undefined && entry.notBefore.getTime() !== token.notBefore.getTime()) differs.push('notBefore');
  if (token.notOnOrAfter !== undefined && entry.notOnOrAfter.getTime() !== token.notOnOrAfter.getTime()) differs.push('notOnOrAfter');
  if (entry.keyThumbprint !== keyThumbprint) differs.push('signingKey');
  if (differs.length === 0) differs.push('signed content (claims or attributes)');
  return {
    name: ALERTS.tokenClaimsMismatch,
    facts: {
      ...facts,
      ledgerSubject: entry.subject,
      ledgerAudience: entry.audience,
      ledgerNotOnOrAfter: entry.notOnOrAfter.toISOString(),
      ledgerKeyThumbprint: entry.keyThumbprint,
      differs,
    },
  };
}

/** A token of ours living longer than its relying party allows (a forged lifetime, or a policy shortened since). */
export function lifetimeAlert(token: SamlTokenView, keyThumbprint: string, digest: string, policySeconds: number, skewMs: number): TokenAlert | undefined {
  if (token.notOnOrAfter === undefined) return undefined;
  const start = (token.notBefore ?? token.issueInstant).getTime();
  if (token.notOnOrAfter.getTime() - start <= policySeconds * 1000 + skewMs) return undefined;
  return { name: ALERTS.tokenLifetimeExceedsPolicy, facts: { ...tokenFacts(token, keyThumbprint, digest), policyLifetimeSeconds: policySeconds } };
}

/**
 * A signature by one of our keys whose signatures do not count now. A pending key has signed nothing
 * of ours, so its signature is a forgery; an active or retiring key is withheld only once its
 * certificate has expired, which is a retired key in all but name.
 */
export function withheldKeyAlert(token: SamlTokenView, keyThumbprint: string, digest: string, state: SigningKeyState): TokenAlert {
  const facts = { ...tokenFacts(token, keyThumbprint, digest), signingKeyState: state };
  if (state === 'revoked') return { name: ALERTS.tokenFromRevokedKey, facts };
  if (state === 'pending') return { name: ALERTS.forgedToken, facts: { ...facts, ledger: 'signed by a key that has not signed tokens yet' } };
  return { name: ALERTS.tokenFromRetiredKey, facts };
}

/**
 * What a partner's signature by a certificate pinned for it, refused by its pin's lifecycle, raises:
 * an alert when the pin is revoked or retired, since whoever signs with a revoked certificate still
 * holds a key the partner gave up (the Golden SAML case on their side). Other refusals (pending, an
 * expired or not yet valid certificate) are a partner's mistake, not a sign of a stolen key, and
 * raise none (undefined). The one place this rule is written, for every caller of pinVerdictAt.
 */
export function partnerKeyAlert(
  token: SamlTokenView,
  keyThumbprint: string,
  refusal: PinRefusal,
  partner: Readonly<Record<string, string>>,
): TokenAlert | undefined {
  if (refusal.reason !== 'revoked' && refusal.reason !== 'retired') return undefined;
  const facts = { ...tokenFacts(token, keyThumbprint, undefined), signingKeyState: refusal.reason, ...partner };
  return { name: refusal.reason === 'revoked' ? ALERTS.tokenFromRevokedKey : ALERTS.tokenFromRetiredKey, facts };
}
