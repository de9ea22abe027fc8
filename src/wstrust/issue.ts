import { BadRequestError, InvalidRequestError } from '../core/errors';
import { DEFAULT_RENEWING } from '../core/token-service';
import type { Operation } from './operation';
import { buildIssueResponse } from './rstr';
import { issuableTokenType } from './token-type';
import { trustUris } from './trust-version';

/** WS-Trust Issue: turn the parsed RST into a token request for the core, refusing what we do not offer. */
export const issue: Operation = async ({ rst, caller, tokens, requestId }) => {
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
    subject: caller,
    appliesTo: rst.appliesTo,
    tokenType,
    requestedExpires: rst.lifetime?.expires,
    renewing: rst.renewing ?? DEFAULT_RENEWING,
    requestId,
  });
  return {
    body: buildIssueResponse(rst.version, token, uris.keyTypeBearer, uris.requestTypeIssue, 'collection'),
    action: uris.issueResponseAction,
    tokenId: token.id,
  };
};
