import type { AuthenticatedSubject } from '../identity/subject';
import { pinVerdictAt } from '../keys/pin-policy';
import { trustedKeyFromCertificate } from '../keys/trusted-key';
import type { SamlTokenView } from '../saml/token-view';
import { isTokenRejection, verifySamlToken } from '../saml/verify-token';
import type { Store, TrustedIssuerPin } from '../store/store';
import { SignatureRejectedError } from '../xml/verify-signature';
import { checkDelegatedTokenAudience } from './delegated-token-audience';
import { RequestFailedError, TrustFailedAuthenticationError } from './errors';
import type { OwnTokenValidator } from './own-token-validator';
import { partnerKeyAlert, type TokenAlert } from './token-forensics';
import { subjectOfToken } from './subject-of-token';


const NOT_PINNED = 'The delegated token is signed by a certificate not pinned for its issuer.';

export interface DelegationOptions {
  readonly store: Store;
  readonly validator: OwnTokenValidator;
  readonly clockSkewMs: number;
  readonly now: () => Date;
  /**
   * What a partner's token must be addressed to (its Audience) to be used here: this STS's issuer
   * identifier and its WS-Trust endpoints' URLs as clients address them. A function: the base URL is
   * known only once the listener is bound.
   */
  readonly ownAudiences: () => readonly string[];
}

/**
 * OnBehalfOf and ActAs: the caller must be allowed to delegate for the relying party, and the token
 * it presents must be one of ours that is still good, or one signed by a certificate pinned for the
 * issuer that token names and addressed to this STS. Our own tokens keep their audience (the
 * front-end relying party, in AD FS's delegation pattern): only partner tokens are held to ours.
 */
export class Delegation {
  constructor(private readonly options: DelegationOptions) {}

  authorise(caller: string, delegates: readonly string[], appliesTo: string): void {
    if (!delegates.includes(caller)) {
      throw new RequestFailedError(`The caller may not request tokens for others for "${appliesTo}".`, `delegation refused for ${caller}`);
    }
  }

  async subjectOf(token: Element, raiseAlert: (alert: TokenAlert) => void): Promise<AuthenticatedSubject> {
    const own = await this.options.validator.check(token);
    if (own.alert) raiseAlert(own.alert);
    if (own.valid) return subjectOfToken(own.token);
    // Signed by a key of ours: refused here, never tried against the pins of external issuers.
    if (own.ledger || own.alert) throw new TrustFailedAuthenticationError(`The delegated token is not valid: ${own.reason}.`);
    return subjectOfToken(await this.external(token, raiseAlert));
  }

  private async external(token: Element, raiseAlert: (alert: TokenAlert) => void): Promise<SamlTokenView> {
    // Read on every request, not cached: an unpinned or revoked certificate must stop counting at
    // once. Every pin is offered to the verifier (KeyInfo only selects among them), and the one that
    // verified must then be allowed by its lifecycle, so a refusal can say which rule refused it.
    const pins = (await this.options.store.trustedIssuers.list()).map((pin) => ({
      pin,
      key: trustedKeyFromCertificate(pin.certificatePem),
    }));
    let view: SamlTokenView;
    let pin: TrustedIssuerPin | undefined;
    try {
      const verified = verifySamlToken(token, pins.map((p) => p.key));
      view = verified.token;
      pin = pins.find((p) => p.key.thumbprintSha256 === verified.keyThumbprint)?.pin;
    } catch (err) {
      // Unpinned reads as unpinned, as every other pin state names itself.
      if (err instanceof SignatureRejectedError && err.rejection === 'untrusted-key') throw new TrustFailedAuthenticationError(NOT_PINNED);
      if (isTokenRejection(err)) throw new TrustFailedAuthenticationError(`The delegated token is not accepted: ${err.message}.`);
      throw err;
    }
    // A pin vouches for one issuer only: a key pinned for A cannot sign tokens that claim to come from B.
    if (!pin || pin.issuer !== view.issuer) throw new TrustFailedAuthenticationError(NOT_PINNED);
    const verdict = pinVerdictAt(pin, this.options.now(), this.options.clockSkewMs);
    if (!verdict.accepted) {
      const alert = partnerKeyAlert(view, pin.thumbprint, verdict, { trustedIssuer: pin.issuer });
      if (alert) raiseAlert(alert);
      throw new TrustFailedAuthenticationError(
        `The delegated token is signed by a pinned certificate that is not accepted now (${verdict.reason}).`,
        `pin ${pin.thumbprint} of ${pin.issuer}: ${verdict.reason}`,
      );
    }
    // A token that states no end (no Conditions NotOnOrAfter) would be good for delegation for ever, however
    // old: a year-old token, once captured, still bought tokens for its subject. Its issuer must say how long.
    if (!view.notOnOrAfter) {
      throw new TrustFailedAuthenticationError('The delegated token states no end of validity (Conditions NotOnOrAfter).');
    }
    const now = this.options.now().getTime();
    const skew = this.options.clockSkewMs;
    if ((view.notBefore && view.notBefore.getTime() - skew > now) || view.notOnOrAfter.getTime() + skew <= now) {
      throw new TrustFailedAuthenticationError('The delegated token is outside its validity period.');
    }
    // Only once the signature and the pin vouch for the content, so an unsigned or unpinned token is refused
    // as such and nothing it claims reaches the log; after the times, so a token bad on both counts keeps
    // the reason it always had.
    checkDelegatedTokenAudience(view, this.options.ownAudiences());
    return view;
  }
}
