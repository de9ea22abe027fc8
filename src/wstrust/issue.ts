import { InvalidRequestError } from '../core/errors';
import { DEFAULT_RENEWING } from '../core/token-service';
import type { Operation } from './operation';
import { planProofKey } from './proof-key-request';
import { buildIssueResponse } from './rstr';
import { issuableTokenType } from './token-type';
import { trustUris } from './trust-version';

/** WS-Trust Issue: turn the parsed RST into a token request for the core, refusing what we do not offer. */
export const issue: Operation = async ({ rst, caller, tokens, requestId }) => {
  const uris = trustUris(rst.version);
  const tokenType = issuableTokenType(rst.tokenType);
  const proof = planProofKey(rst);
  if (rst.appliesTo === undefined) {
    throw new InvalidRequestError('The RequestSecurityToken needs an AppliesTo naming the relying party.');
  }
  const token = await tokens.issue({
    subject: caller,
    appliesTo: rst.appliesTo,
    tokenType,
    requestedExpires: rst.lifetime?.expires,
    renewing: rst.renewing ?? DEFAULT_RENEWING,
    ...(proof.proofKey ? { proofKey: proof.proofKey } : {}),
    requestId,
  });
  return {
    body: buildIssueResponse(rst.version, token, proof.keyTypeUri, uris.requestTypeIssue, 'collection', proof.responseXml),
    action: uris.issueResponseAction,
    tokenId: token.id,
  };
};
