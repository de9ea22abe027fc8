import { BadRequestError, InvalidRequestError } from '../core/errors';
import type { IssuableTokenType, IssuedToken, TokenService } from '../core/token-service';
import type { AuthenticatedSubject } from '../identity/subject';
import { TOKEN_TYPE } from '../xml/namespaces';
import type { RequestSecurityToken } from './rst';
import { trustUris } from './trust-version';

// Token and key types later issues add are named here so the caller learns they are known but not yet offered.
const NOT_YET_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.saml11, TOKEN_TYPE.saml11Profile];

export interface IssueOutcome {
  readonly token: IssuedToken;
  readonly keyTypeUri: string;
}

/** WS-Trust Issue: turn the parsed RST into a token request for the core, refusing what we do not offer. */
export async function issue(
  rst: RequestSecurityToken,
  subject: AuthenticatedSubject,
  tokens: TokenService,
  requestId: string,
): Promise<IssueOutcome> {
  const uris = trustUris(rst.version);
  const tokenType = issuableTokenType(rst.tokenType);
  if (rst.keyType !== undefined && rst.keyType !== uris.keyTypeBearer) {
    if (rst.keyType === uris.keyTypeSymmetric || rst.keyType === uris.keyTypePublic) {
      throw new BadRequestError(
        `KeyType ${rst.keyType} (proof-of-possession) is not offered yet; request KeyType ${uris.keyTypeBearer}.`,
      );
    }
    throw new BadRequestError(`The KeyType "${rst.keyType}" is not supported; request ${uris.keyTypeBearer}.`);
  }
  if (rst.appliesTo === undefined) {
    throw new InvalidRequestError('The RequestSecurityToken needs an AppliesTo naming the relying party.');
  }
  const token = await tokens.issue({
    subject,
    appliesTo: rst.appliesTo,
    tokenType,
    requestedExpires: rst.lifetime?.expires,
    requestId,
  });
  return { token, keyTypeUri: uris.keyTypeBearer };
}

function issuableTokenType(uri: string | undefined): IssuableTokenType {
  if (uri === undefined || uri === TOKEN_TYPE.saml20 || uri === TOKEN_TYPE.saml20Profile) return 'saml2';
  if (NOT_YET_TOKEN_TYPES.includes(uri)) {
    throw new BadRequestError(`TokenType ${uri} (SAML 1.1) is not offered yet; request ${TOKEN_TYPE.saml20}.`);
  }
  throw new BadRequestError(`The TokenType "${uri}" is not supported; request ${TOKEN_TYPE.saml20}.`);
}
