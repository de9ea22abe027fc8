import { InvalidRequestError } from '../core/errors';
import { DEFAULT_RENEWING } from '../core/token-service';
import type { Operation } from './operation';
import { planProofKey } from './proof-key-request';
import { buildIssueResponse } from './rstr';
import { issuableTokenType } from './token-type';
import { trustUris } from './trust-version';

/** WS-Trust Issue: turn the parsed RST into a token request for the core, refusing what we do not offer. */
export const issue: Operation = async ({ rst, caller, tokens, delegation, requestId, raiseAlert }) => {
  const uris = trustUris(rst.version);
  const tokenType = issuableTokenType(rst.tokenType);
  const proof = planProofKey(rst);
  if (rst.appliesTo === undefined) {
    throw new InvalidRequestError('The RequestSecurityToken needs an AppliesTo naming the relying party.');
  }
  // OnBehalfOf/ActAs: the token speaks for the presented token's subject, with the caller as actor.
  let subject = caller;
  if (rst.delegation) {
    const rp = await tokens.relyingParty(rst.appliesTo);
    delegation.authorise(caller.name, rp.delegates, rp.appliesTo);
    subject = await delegation.subjectOf(rst.delegation.token, raiseAlert);
  }
  const token = await tokens.issue({
    subject,
    ...(rst.delegation ? { actor: caller.name } : {}),
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
