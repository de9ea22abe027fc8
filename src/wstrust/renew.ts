import { InvalidRequestError, UnableToRenewError } from '../core/errors';
import type { Operation } from './operation';
import { buildIssueResponse } from './rstr';
import { subjectOfToken } from '../core/subject-of-token';
import { trustUris } from './trust-version';

/**
 * WS-Trust Renew: a new token (new ID, fresh lifetime, same subject and claims), linked to the old
 * one in the ledger. Only our own, uncancelled tokens, presented by their own subject, issued with
 * Renewing Allow; an expired one only if it was issued with Renewing OK and its relying party
 * allows renewal within a window after expiry.
 */
export const renew: Operation = async ({ rst, caller, tokens, validator, requestId, now, raiseAlert }) => {
  const uris = trustUris(rst.version);
  const target = rst.renewTarget;
  if (!target) throw new InvalidRequestError('A Renew request needs a RenewTarget.');
  if (target.kind !== 'inline') throw new InvalidRequestError('Renew needs the token itself in RenewTarget, not a reference.');
  const verdict = await validator.check(target.element);
  if (verdict.alert) raiseAlert(verdict.alert);
  const token = verdict.token;
  const ledger = verdict.ledger;
  if (!token || !ledger) throw new UnableToRenewError(`The token cannot be renewed: ${verdict.valid ? '' : verdict.reason}.`);
  if (token.nameId !== caller.name) throw new UnableToRenewError('Only the token\'s own subject may renew it.');
  if (token.confirmationMethods.some((m) => m.endsWith(':holder-of-key'))) {
    throw new UnableToRenewError('A holder-of-key token cannot be renewed (its proof key is not kept); request a new token.');
  }
  if (!ledger.renewAllow) throw new UnableToRenewError('The token was issued with Renewing Allow="false".');
  if (!verdict.valid) {
    if (!verdict.expired) throw new UnableToRenewError(`The token cannot be renewed: ${verdict.reason}.`);
    const rp = await tokens.relyingParty(ledger.audience);
    const windowEnd = ledger.notOnOrAfter.getTime() + rp.expiredRenewalWindowSeconds * 1000;
    if (!ledger.renewAfterExpiry || rp.expiredRenewalWindowSeconds === 0 || now().getTime() > windowEnd) {
      throw new UnableToRenewError('The token has expired and may not be renewed after expiry.');
    }
  }
  const renewed = await tokens.issue({
    subject: subjectOfToken(token),
    appliesTo: ledger.audience,
    tokenType: token.version === '1.1' ? 'saml11' : 'saml2',
    requestedExpires: rst.lifetime?.expires,
    renewing: { allow: ledger.renewAllow, afterExpiry: ledger.renewAfterExpiry },
    renewedFrom: token.id,
    ...(ledger.actor === null ? {} : { actor: ledger.actor }),
    requestId,
  });
  return {
    body: buildIssueResponse(rst.version, renewed, uris.keyTypeBearer, uris.requestTypeRenew, 'bare'),
    action: uris.renewResponseAction,
    tokenId: renewed.id,
    targetTokenId: token.id,
  };
};
