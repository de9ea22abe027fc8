import type { OwnKeyRing } from '../keys/own-key-ring';
import type { SamlTokenView } from '../saml/token-view';
import { isTokenRejection, verifySamlToken, type VerifiedSamlToken } from '../saml/verify-token';
import type { LedgerEntry, Store } from '../store/store';
import { SignatureRejectedError } from '../xml/verify-signature';
import { ownSignatureVerdict, verifiedByWithheldKey, type OwnSignatureLookups } from './own-signature-verdict';
import { lifetimeAlert, type TokenAlert } from './token-forensics';


/** Why a token of ours is no longer good, if it is not. */
export interface LifecycleProblem {
  readonly reason: string;
  readonly expired: boolean;
}

export type OwnTokenVerdict =
  | {
      readonly valid: true;
      readonly token: SamlTokenView;
      readonly ledger: LedgerEntry;
      /** Genuine, but something a responder should see (a lifetime beyond its relying party's policy). */
      readonly alert?: TokenAlert;
    }
  | {
      readonly valid: false;
      readonly reason: string;
      /** Present when the signature and ledger entry are ours: authentic, but expired or cancelled. */
      readonly token?: SamlTokenView;
      readonly ledger?: LedgerEntry;
      readonly expired?: boolean;
      /**
       * Set when the token was signed by one of our keys but is not what we issued (no or another
       * ledger entry: a forgery made with our key), or was signed by a key of ours that no longer signs.
       */
      readonly alert?: TokenAlert;
    };

export type ReferenceVerdict =
  | { readonly valid: true; readonly ledger: LedgerEntry }
  | { readonly valid: false; readonly reason: string; readonly ledger?: LedgerEntry };

export interface OwnTokenValidatorOptions {
  readonly store: Store;
  readonly keys: OwnKeyRing;
  readonly clockSkewMs: number;
  readonly now: () => Date;
  /** The token lifetime its relying party allows, by audience; undefined when no relying party has it. */
  readonly policyLifetimeSeconds?: (audience: string) => Promise<number | undefined>;
  /** The Audience a relying party's tokens carry, by its AppliesTo (the ledger's audience), when it has one of its own. */
  readonly tokenAudience?: (appliesTo: string) => Promise<string | undefined>;
}

/**
 * Decides whether a token is one of ours and still good: signed by one of our keys, recorded in the
 * issuance ledger with the same digest, not cancelled, and within its lifetime (with clock skew).
 */
export class OwnTokenValidator {
  private readonly lookups: OwnSignatureLookups;

  constructor(private readonly options: OwnTokenValidatorOptions) {
    const { store, keys, tokenAudience } = options;
    this.lookups = {
      // The store's state, not the cached list's, decides: a revocation counts at once, and a key
      // promoted since the cache was filled is not mistaken for a pending one.
      signingKey: (thumbprint) => keys.currentRecord(thumbprint),
      ledgerEntry: (tokenId) => store.ledger.get(tokenId),
      tokenAudience,
    };
  }

  async check(assertion: Element): Promise<OwnTokenVerdict> {
    let verified: VerifiedSamlToken;
    try {
      verified = await this.verify(assertion);
    } catch (err) {
      if (!isTokenRejection(err)) throw err;
      const byWithheld = await this.verifyWithWithheldKeys(assertion, err);
      if (!byWithheld) return { valid: false, reason: err.message };
      verified = byWithheld;
    }
    const { token, digest, keyThumbprint } = verified;
    const own = await ownSignatureVerdict(verified, this.lookups, this.options.now());
    if (!own.issued) return { valid: false, reason: own.reason, alert: own.alert };
    const { ledger } = own;
    const problem = this.lifecycleProblem(ledger);
    if (problem) return { valid: false, reason: problem.reason, expired: problem.expired, token, ledger };
    const policySeconds = await this.options.policyLifetimeSeconds?.(ledger.audience);
    const alert = policySeconds === undefined ? undefined : lifetimeAlert(token, keyThumbprint, digest, policySeconds, this.options.clockSkewMs);
    return { valid: true, token, ledger, ...(alert ? { alert } : {}) };
  }

  /** After our live keys refused a signature: was it made by one of our other keys (pending, retired, revoked)? */
  private async verifyWithWithheldKeys(assertion: Element, rejection: Error): Promise<VerifiedSamlToken | undefined> {
    if (!(rejection instanceof SignatureRejectedError && rejection.rejection === 'untrusted-key')) return undefined;
    return verifiedByWithheldKey(await this.options.keys.withheld(), (keys) => verifySamlToken(assertion, keys));
  }

  // A key just promoted on another node may be missing from the cached list: re-read once and retry.
  private async verify(assertion: Element): Promise<VerifiedSamlToken> {
    try {
      return verifySamlToken(assertion, await this.options.keys.trusted());
    } catch (err) {
      if (!(err instanceof SignatureRejectedError && err.rejection === 'untrusted-key')) throw err;
      if (!(await this.options.keys.refreshAfterMiss(err.keyInfoThumbprint))) throw err;
      return verifySamlToken(assertion, await this.options.keys.trusted());
    }
  }

  /** Checks only the ledger: for a token named by reference, whose content we do not have. */
  async checkReference(tokenId: string): Promise<ReferenceVerdict> {
    const ledger = await this.options.store.ledger.get(tokenId);
    if (!ledger) return { valid: false, reason: 'no token with this ID was issued by this STS' };
    const problem = this.lifecycleProblem(ledger);
    return problem ? { valid: false, reason: problem.reason, ledger } : { valid: true, ledger };
  }

  /** Cancels a token of ours; false if it is unknown or already cancelled. */
  cancel(tokenId: string, at: Date): Promise<boolean> {
    return this.options.store.ledger.cancel(tokenId, at);
  }

  private lifecycleProblem(ledger: LedgerEntry): LifecycleProblem | undefined {
    if (ledger.cancelledAt !== null) return { reason: 'the token was cancelled', expired: false };
    const now = this.options.now().getTime();
    const skew = this.options.clockSkewMs;
    if (ledger.notBefore.getTime() - skew > now) return { reason: 'the token is not yet valid', expired: false };
    if (ledger.notOnOrAfter.getTime() + skew <= now) return { reason: 'the token has expired', expired: true };
    return undefined;
  }
}
