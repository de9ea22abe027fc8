import { InvalidRequestError } from '../core/errors';
import type { Operation } from './operation';
import { buildCancelResponse } from './rstr';
import { trustUris } from './trust-version';

/**
 * WS-Trust Cancel: marks one of our tokens cancelled in the ledger (durable; every node sees it).
 * Only the token's own subject may cancel it.
 */
export const cancel: Operation = async ({ rst, caller, validator, now, raiseAlert }) => {
  const uris = trustUris(rst.version);
  const target = rst.cancelTarget;
  if (!target) throw new InvalidRequestError('A Cancel request needs a CancelTarget.');
  let tokenId: string;
  let subject: string | undefined;
  if (target.kind === 'reference') {
    const verdict = await validator.checkReference(target.tokenId);
    tokenId = target.tokenId;
    subject = verdict.ledger?.subject;
  } else {
    const verdict = await validator.check(target.element);
    if (verdict.alert) raiseAlert(verdict.alert);
    tokenId = verdict.token?.id ?? '';
    subject = verdict.ledger?.subject;
  }
  if (subject === undefined) throw new InvalidRequestError('The CancelTarget is not a token this STS issued.');
  if (subject !== caller.name) throw new InvalidRequestError('Only the token\'s own subject may cancel it.');
  if (!(await validator.cancel(tokenId, now()))) throw new InvalidRequestError('The token was already cancelled.');
  return { body: buildCancelResponse(rst.version), action: uris.cancelResponseAction, targetTokenId: tokenId };
};
