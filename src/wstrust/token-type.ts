import { BadRequestError } from '../core/errors';
import type { IssuableTokenType } from '../core/token-service';
import { TOKEN_TYPE } from '../xml/namespaces';

// Token types a later issue adds are named so the caller learns they are known but not yet offered.
const NOT_YET_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.saml11, TOKEN_TYPE.saml11Profile];

/** The token type a TokenType URI asks for; SAML 2.0 when none is given. */
export function issuableTokenType(uri: string | undefined): IssuableTokenType {
  if (uri === undefined || uri === TOKEN_TYPE.saml20 || uri === TOKEN_TYPE.saml20Profile) return 'saml2';
  if (NOT_YET_TOKEN_TYPES.includes(uri)) {
    throw new BadRequestError(`TokenType ${uri} (SAML 1.1) is not offered yet; request ${TOKEN_TYPE.saml20}.`);
  }
  throw new BadRequestError(`The TokenType "${uri}" is not supported; request ${TOKEN_TYPE.saml20}.`);
}
