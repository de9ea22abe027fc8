import { InvalidRequestError } from '../core/errors';
import { DEFAULT_RENEWING } from '../core/token-service';
import { escapeText } from '../xml/escape';
import type { Operation } from './operation';
import { buildIssueResponse, buildStatusResponse } from './rstr';
import { subjectOfToken } from '../core/subject-of-token';
import { issuableTokenType } from './token-type';
import { trustUris } from './trust-version';

/**
 * WS-Trust Validate: a Status of valid or invalid with the reason. When the RST asks for a token type
 * other than Status, a valid target is exchanged for a new token of that type for the same subject
 * (by the subject itself, or by a caller allowed to delegate for the new relying party).
 */
export const validate: Operation = async ({ rst, caller, tokens, validator, delegation, requestId, raiseAlert }) => {
  const uris = trustUris(rst.version);
  const target = rst.validateTarget;
  if (!target) throw new InvalidRequestError('A Validate request needs a ValidateTarget.');
  const transformTo =
    rst.tokenType === undefined || rst.tokenType === uris.statusTokenType ? undefined : issuableTokenType(rst.tokenType);

  if (target.kind === 'reference') {
    if (transformTo) throw new InvalidRequestError('Token transformation needs the token itself in ValidateTarget.');
    const verdict = await validator.checkReference(target.tokenId);
    const reason = verdict.valid ? 'the token is valid' : verdict.reason;
    return {
      body: buildStatusResponse(rst.version, verdict.valid, reason),
      action: uris.validateResponseAction,
      targetTokenId: target.tokenId,
      status: verdict.valid ? 'valid' : `invalid: ${reason}`,
    };
  }

  const verdict = await validator.check(target.element);
  if (verdict.alert) raiseAlert(verdict.alert);
  const targetTokenId = verdict.valid ? verdict.token.id : verdict.token?.id;
  if (!verdict.valid || !transformTo) {
    const reason = verdict.valid ? 'the token is valid' : verdict.reason;
    return {
      body: buildStatusResponse(rst.version, verdict.valid, reason),
      action: uris.validateResponseAction,
      ...(targetTokenId ? { targetTokenId } : {}),
      status: verdict.valid ? 'valid' : `invalid: ${reason}`,
    };
  }
  if (verdict.token.confirmationMethods.some((m) => m.endsWith(':holder-of-key'))) {
    throw new InvalidRequestError('A holder-of-key token cannot be exchanged for a bearer token by Validate.');
  }
  // Exchanging someone else's token is acting on their behalf: only callers allowed to delegate may.
  const appliesTo = rst.appliesTo ?? verdict.token.audiences[0] ?? '';
  const actingForOther = verdict.token.nameId !== caller.name;
  if (actingForOther) {
    const rp = await tokens.relyingParty(appliesTo);
    delegation.authorise(caller.name, rp.delegates, rp.appliesTo);
  }
  const token = await tokens.issue({
    subject: subjectOfToken(verdict.token),
    ...(actingForOther ? { actor: caller.name } : {}),
    appliesTo,
    tokenType: transformTo,
    requestedExpires: rst.lifetime?.expires,
    renewing: DEFAULT_RENEWING,
    requestId,
  });
  const status =
    `<t:Status><t:Code>${uris.statusValid}</t:Code>` +
    `<t:Reason>${escapeText('the token is valid; a new token was issued for its subject')}</t:Reason></t:Status>`;
  return {
    body: buildIssueResponse(rst.version, token, uris.keyTypeBearer, uris.requestTypeValidate, 'bare', status),
    action: uris.validateResponseAction,
    tokenId: token.id,
    targetTokenId: verdict.token.id,
    status: 'valid',
  };
};
