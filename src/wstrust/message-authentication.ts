import { InvalidSecurityError } from '../core/errors';
import { authenticateClientCertificate, type ClientCertificatePolicy } from '../identity/client-certificate';
import type { AuthenticatedSubject } from '../identity/subject';
import type { UsernameTokenAuthenticator } from '../identity/username-token';
import type { SoapEnvelope } from '../soap/envelope';
import { verifyMessageSignature } from '../soap/message-signature';
import type { SecurityHeader } from '../soap/security-header';

export interface SecuredMessage {
  readonly envelope: SoapEnvelope;
  readonly security: SecurityHeader;
  readonly now: Date;
}

/** How an endpoint learns who is asking: one strategy per AD FS endpoint family (usernamemixed, certificatemixed). */
export type MessageAuthenticator = (message: SecuredMessage) => Promise<AuthenticatedSubject>;

export function usernameTokenAuthentication(authenticator: UsernameTokenAuthenticator): MessageAuthenticator {
  return async ({ security, now }) => {
    if (!security.usernameToken) {
      throw new InvalidSecurityError('The wsse:Security header has no UsernameToken; this endpoint needs one.');
    }
    return authenticator.authenticate(security.usernameToken, now);
  };
}

/** certificatemixed: a signature over the Timestamp and the Body by a client certificate we accept. */
export function certificateAuthentication(policy: () => ClientCertificatePolicy): MessageAuthenticator {
  return async ({ envelope, security, now }) => {
    if (!security.timestampElement) {
      throw new InvalidSecurityError('The wsse:Security header needs a signed wsu:Timestamp on this endpoint.');
    }
    const { certificate } = verifyMessageSignature(envelope, security.element, envelope.body, security.timestampElement);
    return authenticateClientCertificate(certificate, policy(), now);
  };
}
