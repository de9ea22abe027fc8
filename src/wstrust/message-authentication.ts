import { InvalidSecurityError } from '../core/errors';
import { authenticateClientCertificate, type ClientCertificatePolicy } from '../identity/client-certificate';
import type { AuthenticatedSubject } from '../identity/subject';
import type { UsernameTokenAuthenticator } from '../identity/username-token';
import type { SoapEnvelope } from '../soap/envelope';
import { verifyMessageSignature } from '../soap/message-signature';
import type { SignedMessageReplayGuard } from '../soap/signed-message-replay';
import type { SecurityHeader } from '../soap/security-header';
import type { XmlElementLike } from '../xml/dom';

/** A request's envelope and Security header, read from xmldom's DOM (E = Element) or from the lean tree. */
export interface SecuredMessage<E extends XmlElementLike = Element> {
  readonly envelope: SoapEnvelope<E>;
  readonly security: SecurityHeader<E>;
  readonly now: Date;
  /** Whether the request's client is still there, for work that may wait its turn (a password check). */
  readonly stillWanted?: () => boolean;
}

/**
 * How an endpoint learns who is asking: one strategy per AD FS endpoint family (usernamemixed,
 * certificatemixed). One that verifies a signature over parts of the message gets them from the
 * hardened xmldom DOM, always; one that reads only values may get a plain request's lean tree.
 */
export type MessageAuthenticator = (
  | {
      readonly verifiesSignature: false;
      authenticate(message: SecuredMessage<XmlElementLike>): Promise<AuthenticatedSubject>;
    }
  | {
      readonly verifiesSignature: true;
      authenticate(message: SecuredMessage): Promise<AuthenticatedSubject>;
    }
) & {
  /**
   * The user name the message claims, before anything checks it, for the audit of a refused login
   * (who was tried); absent where the caller proves who it is without naming itself.
   */
  claimedUserName?(security: SecurityHeader<XmlElementLike>): string | undefined;
};

export function usernameTokenAuthentication(authenticator: UsernameTokenAuthenticator): MessageAuthenticator {
  return {
    verifiesSignature: false,
    claimedUserName: (security) => security.usernameToken?.username,
    authenticate: async ({ security, now, stillWanted }) => {
      if (!security.usernameToken) {
        throw new InvalidSecurityError('The wsse:Security header has no UsernameToken; this endpoint needs one.');
      }
      return authenticator.authenticate(security.usernameToken, now, stillWanted);
    },
  };
}

/**
 * certificatemixed: a signature over the Timestamp and the Body by a client certificate we accept,
 * on a fresh message never accepted before (a signed message captured anywhere must not buy tokens again).
 */
export function certificateAuthentication(policy: () => ClientCertificatePolicy, replay: SignedMessageReplayGuard): MessageAuthenticator {
  return {
    verifiesSignature: true,
    authenticate: async ({ envelope, security, now }) => {
      if (!security.timestampElement || !security.timestamp) {
        throw new InvalidSecurityError('The wsse:Security header needs a signed wsu:Timestamp on this endpoint.');
      }
      replay.checkFreshness(security.timestamp, now);
      const { certificate, signedContent } = verifyMessageSignature(envelope, security.element, envelope.body, security.timestampElement);
      const subject = authenticateClientCertificate(certificate, policy(), now);
      // Only messages from accepted signers are remembered, so strangers cannot fill the replay cache.
      await replay.admitOnce(security.timestamp, signedContent);
      return subject;
    },
  };
}
