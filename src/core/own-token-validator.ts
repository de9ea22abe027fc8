import type { OwnKeyRing } from '../keys/own-key-ring';
import type { SamlTokenView } from '../saml/token-view';
import { isTokenRejection, verifySamlToken } from '../saml/verify-token';
import type { LedgerEntry, Store } from '../store/store';
import { SignatureRejectedError } from '../xml/verify-signature';


/** Why a token of ours is no longer good, if it is not. */
export interface LifecycleProblem {
  readonly reason: string;
  readonly expired: boolean;
}

export type OwnTokenVerdict =
  | { readonly valid: true; readonly token: SamlTokenView; readonly ledger: LedgerEntry }
  | {
      readonly valid: false;
      readonly reason: string;
      /** Present when the signature and ledger entry are ours: authentic, but expired or cancelled. */
      readonly token?: SamlTokenView;
      readonly ledger?: LedgerEntry;
      readonly expired?: boolean;
      /** A valid signature by our key with no matching ledger entry: a forgery made with our key. */
      readonly forged?: boolean;
    };

export type ReferenceVerdict =
  | { readonly valid: true; readonly ledger: LedgerEntry }
  | { readonly valid: false; readonly reason: string; readonly ledger?: LedgerEntry };

export interface OwnTokenValidatorOptions {
  readonly store: Store;
  readonly keys: OwnKeyRing;
  readonly clockSkewMs: number;
  readonly now: () => Date;
}

/**
 * Decides whether a token is one of ours and still good: signed by one of our keys, recorded in the
 * issuance ledger with the same digest, not cancelled, and within its lifetime (with clock skew).
 */
export class OwnTokenValidator {
  constructor(private readonly options: OwnTokenValidatorOptions) {}

  async check(assertion: Element): Promise<OwnTokenVerdict> {
    let digest: string;
    let token: SamlTokenView;
    try {
      ({ token, digest } = await this.verify(assertion));
    } catch (err) {
      if (isTokenRejection(err)) return { valid: false, reason: err.message };
      throw err;
    }
    const ledger = await this.options.store.ledger.get(token.id);
    if (!ledger || ledger.digest !== digest) {
      return { valid: false, reason: 'the token was not issued by this STS (no matching issuance record)', forged: true };
    }
    const problem = this.lifecycleProblem(ledger);
    if (problem) return { valid: false, reason: problem.reason, expired: problem.expired, token, ledger };
    return { valid: true, token, ledger };
  }

  // A key just promoted on another node may be missing from the cached list: re-read once and retry.
  private async verify(assertion: Element): Promise<{ token: SamlTokenView; digest: string }> {
    try {
      return verifySamlToken(assertion, await this.options.keys.trusted());
    } catch (err) {
      if (!(err instanceof SignatureRejectedError && err.rejection === 'untrusted-key')) throw err;
      if (!(await this.options.keys.refreshAfterMiss())) throw err;
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
