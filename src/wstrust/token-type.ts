import { BadRequestError } from '../core/errors';
import type { IssuableTokenType } from '../core/token-service';
import { TOKEN_TYPE } from '../xml/namespaces';

/** The token type a TokenType URI asks for; SAML 2.0 when none is given. */
export function issuableTokenType(uri: string | undefined): IssuableTokenType {
  if (uri === undefined || uri === TOKEN_TYPE.saml20 || uri === TOKEN_TYPE.saml20Profile) return 'saml2';
  if (uri === TOKEN_TYPE.saml11 || uri === TOKEN_TYPE.saml11Profile) return 'saml11';
  throw new BadRequestError(
    `The TokenType "${uri}" is not supported; request ${TOKEN_TYPE.saml20} or ${TOKEN_TYPE.saml11}.`,
  );
}
