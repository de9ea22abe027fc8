// Whether a token signed by one of our keys is one we issued. Validate, Renew, Cancel and delegation
// (OwnTokenValidator) and AssumeRoleWithSAML (our own provider) ask the same question and must get
// the same answer; each then words the refusal in its own protocol.

import { keySignaturesCount } from '../keys/key-material';
import type { SamlTokenView } from '../saml/token-view';
import { isTokenRejection } from '../saml/verify-token';
import type { LedgerEntry, SigningKeyRecord, SigningKeyState } from '../store/store';
import type { TrustedKey } from '../xml/verify-signature';
import { ledgerDiscrepancy, withheldKeyAlert, type TokenAlert } from './token-forensics';

/** A signature that verified against one of our keys, whether it signs now or is withheld. */
export interface OwnSignature {
  readonly token: SamlTokenView;
  readonly keyThumbprint: string;
  /** The digest of the token's own signature; undefined when only an enclosing Response is signed. */
  readonly digest: string | undefined;
}

/** Where the verdict reads what we hold now. */
export interface OwnSignatureLookups {
  /** The key's record in the store, uncached: a revocation on any node must count at once. */
  readonly signingKey: (thumbprint: string) => Promise<SigningKeyRecord | undefined>;
  readonly ledgerEntry: (tokenId: string) => Promise<LedgerEntry | undefined>;
  /** The Audience a relying party's tokens carry, by its AppliesTo (the ledger's audience), when it has one of its own. */
  readonly tokenAudience?: (appliesTo: string) => Promise<string | undefined>;
}

export type OwnSignatureVerdict =
  | { readonly issued: true; readonly ledger: LedgerEntry }
  | {
      readonly issued: false;
      readonly refusal: 'withheld-key';
      /** The key's state as the store has it; undefined when it has no such key (the reason and alert then say revoked). */
      readonly storedKeyState: SigningKeyState | undefined;
      /** As Validate's Reason says it. */
      readonly reason: string;
      readonly alert: TokenAlert;
    }
  | {
      readonly issued: false;
      readonly refusal: 'not-issued';
      /** As Validate's Reason says it. */
      readonly reason: string;
      /** What differs from the ledger, or that it has no entry: a forgery made with our key. */
      readonly alert: TokenAlert;
    };

const NOT_ISSUED_REASON = 'the token was not issued by this STS (no matching issuance record)';

/**
 * Decides a token of ours by what the store says now: signed by a key whose signatures count (its
 * state and certificate, see keySignaturesCount), and in the issuance ledger with the digest it
 * was signed with. Cancellation and lifetime are the caller's: each protocol checks them its way.
 */
export async function ownSignatureVerdict(signature: OwnSignature, lookups: OwnSignatureLookups, now: Date): Promise<OwnSignatureVerdict> {
  const { token, keyThumbprint, digest } = signature;
  const key = await lookups.signingKey(keyThumbprint);
  if (key === undefined || !keySignaturesCount(key, now)) {
    const keyState = key?.state ?? 'revoked';
    return {
      issued: false,
      refusal: 'withheld-key',
      storedKeyState: key?.state,
      reason: withheldKeyReason(keyState),
      // An assertion signed only inside a Response has no digest of its own; this alert names it ''.
      alert: withheldKeyAlert(token, keyThumbprint, digest ?? '', keyState),
    };
  }
  const ledger = await lookups.ledgerEntry(token.id);
  // Exactly what we issued: the entry has the token's digest (an assertion with no signature of its own has none).
  if (ledger !== undefined && digest !== undefined && ledger.digest === digest) return { issued: true, ledger };
  // No entry, or one whose digest differs: its relying party's Audience is looked up only then, to name what differs.
  const issuedAudience = ledger ? await lookups.tokenAudience?.(ledger.audience) : undefined;
  return { issued: false, refusal: 'not-issued', reason: NOT_ISSUED_REASON, alert: ledgerDiscrepancy(token, keyThumbprint, digest, ledger, issuedAudience) };
}

/**
 * After our keys that sign now refused a signature as by a key they do not hold: the token as one of
 * our withheld keys verifies it, if one does, so that ownSignatureVerdict names the key and alerts.
 */
export function verifiedByWithheldKey<T>(withheld: readonly TrustedKey[], verify: (keys: readonly TrustedKey[]) => T): T | undefined {
  if (withheld.length === 0) return undefined;
  try {
    return verify(withheld);
  } catch (err) {
    if (isTokenRejection(err)) return undefined;
    throw err;
  }
}

function withheldKeyReason(state: SigningKeyState): string {
  if (state === 'pending') return 'the token is signed by a key of this STS that has not been promoted (it has signed nothing)';
  if (state === 'revoked') return 'the token is signed by a revoked key of this STS';
  if (state === 'retired') return 'the token is signed by a retired key of this STS';
  return 'the token is signed by a key of this STS whose certificate has expired';
}
