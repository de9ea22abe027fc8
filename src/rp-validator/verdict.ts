import type { SamlAttribute } from '../saml/assertion-content';

/** Why an assertion is refused, as a stable code a relying party can act on. */
export type ProblemCode =
  /** The input is not a SAML assertion or Response this validator can read (or not well-formed XML). */
  | 'malformed'
  /** The signature is missing, outside the strict profile, altered (digest), or not by any pinned key. */
  | 'signature'
  /** The certificate in KeyInfo is not pinned: it selects a key, it never adds one. */
  | 'untrusted-key'
  | 'pin-pending'
  | 'pin-retired'
  | 'pin-revoked'
  | 'certificate-not-yet-valid'
  | 'certificate-expired'
  /** The assertion's Issuer is not the one its signing pin vouches for (or not the expected issuer). */
  | 'issuer-mismatch'
  | 'audience'
  | 'not-yet-valid'
  | 'expired'
  /** Longer than the cap, or no NotOnOrAfter at all. */
  | 'lifetime-cap'
  /** Trustbridge's Validate answered invalid: it has no matching issuance record (or cancelled the token). */
  | 'ledger-unknown'
  /** The online check could not be completed; a problem when failing closed, a warning when failing open. */
  | 'online-unreachable';

export interface Problem {
  readonly code: ProblemCode;
  readonly message: string;
}

/** What the assertion says, read only from the element a pinned key's signature covers. */
export interface AssertionSummary {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
  readonly notBefore: Date | undefined;
  readonly notOnOrAfter: Date | undefined;
  readonly attributes: readonly SamlAttribute[];
  readonly signingKeyThumbprint: string;
}

export type OnlineStatus = 'valid' | 'invalid' | 'unreachable';

export interface Verdict {
  readonly valid: boolean;
  /** Every reason to refuse; empty exactly when `valid`. */
  readonly problems: readonly Problem[];
  /** Reported without refusing: online-unreachable when the caller chose to fail open. */
  readonly warnings: readonly Problem[];
  /** Present once the signature verified under a pinned certificate, even when other checks failed. */
  readonly assertion?: AssertionSummary;
  /** What the online ledger check answered; absent when it did not run. */
  readonly online?: { readonly status: OnlineStatus; readonly reason?: string };
}

export const problem = (code: ProblemCode, message: string): Problem => ({ code, message });
