import type { Claim } from '../store/store';

/** Who a request speaks for, once an authenticator has proved it. */
export interface AuthenticatedSubject {
  readonly name: string;
  readonly claims: readonly Claim[];
  readonly authenticatedAt: Date;
  /** A SAML 2.0 AuthnContextClassRef describing how the subject proved who they are. */
  readonly authnContextClassRef: string;
}
