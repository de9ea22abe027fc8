import type { AuthenticatedSubject } from '../identity/subject';
import { trustedKeyFromCertificate } from '../keys/trusted-key';
import type { SamlTokenView } from '../saml/token-view';
import { isTokenRejection, verifySamlToken } from '../saml/verify-token';
import type { Store, TrustedIssuerPin } from '../store/store';
import { RequestFailedError, TrustFailedAuthenticationError } from './errors';
import type { OwnTokenValidator } from './own-token-validator';
import { subjectOfToken } from './subject-of-token';


export interface DelegationOptions {
  readonly store: Store;
  readonly validator: OwnTokenValidator;
  readonly clockSkewMs: number;
  readonly now: () => Date;
}

/**
 * OnBehalfOf and ActAs: the caller must be allowed to delegate for the relying party, and the token
 * it presents must be one of ours that is still good, or one signed by a certificate pinned for the
 * issuer that token names.
 */
export class Delegation {
  constructor(private readonly options: DelegationOptions) {}

  authorise(caller: string, delegates: readonly string[], appliesTo: string): void {
    if (!delegates.includes(caller)) {
      throw new RequestFailedError(`The caller may not request tokens for others for "${appliesTo}".`, `delegation refused for ${caller}`);
    }
  }

  async subjectOf(token: Element): Promise<AuthenticatedSubject> {
    const own = await this.options.validator.check(token);
    if (own.valid) return subjectOfToken(own.token);
    if (own.ledger) throw new TrustFailedAuthenticationError(`The delegated token is not valid: ${own.reason}.`);
    return subjectOfToken(await this.external(token));
  }

  private async external(token: Element): Promise<SamlTokenView> {
    // Read on every request, not cached: an unpinned certificate must stop counting at once.
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
      if (isTokenRejection(err)) throw new TrustFailedAuthenticationError(`The delegated token is not accepted: ${err.message}.`);
      throw err;
    }
    // A pin vouches for one issuer only: a key pinned for A cannot sign tokens that claim to come from B.
    if (!pin || pin.issuer !== view.issuer) {
      throw new TrustFailedAuthenticationError('The delegated token is signed by a certificate not pinned for its issuer.');
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
    return view;
  }
}
