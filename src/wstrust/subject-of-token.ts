import type { AuthenticatedSubject } from '../identity/subject';
import type { SamlTokenView } from '../saml/token-view';
import { SAML2 } from '../xml/namespaces';

/** The subject a verified token of ours speaks for, with the claims it carried, to mint another token from it. */
export function subjectOfToken(token: SamlTokenView): AuthenticatedSubject {
  return {
    name: token.nameId,
    claims: token.attributes.flatMap((a) => a.values.map((value) => ({ name: a.name, value }))),
    authenticatedAt: token.authnInstant ?? token.issueInstant,
    authnContextClassRef: token.authnContextClassRef ?? SAML2.passwordProtectedTransport,
  };
}
