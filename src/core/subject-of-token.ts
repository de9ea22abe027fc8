import type { AuthenticatedSubject } from '../identity/subject';
import type { SamlTokenView } from '../saml/token-view';
import { SAML2 } from '../xml/namespaces';
import { ACTOR_CLAIM } from './token-service';

/**
 * The subject a verified token speaks for, with the claims it carried, to mint another token from it.
 * An actor claim is not carried over: who acts is decided anew for each token.
 */
export function subjectOfToken(token: SamlTokenView): AuthenticatedSubject {
  return {
    name: token.nameId,
    claims: token.attributes
      .filter((a) => a.name !== ACTOR_CLAIM)
      .flatMap((a) => a.values.map((value) => ({ name: a.name, value }))),
    authenticatedAt: token.authnInstant ?? token.issueInstant,
    authnContextClassRef: token.authnContextClassRef ?? SAML2.passwordProtectedTransport,
  };
}
