import { ActionNotSupportedError, BadRequestError } from '../core/errors';
import type { TrustVersion } from './trust-version';
import { trustUris } from './trust-version';

export type TrustOperation = 'Issue' | 'Validate' | 'Renew' | 'Cancel';
const OPERATIONS: readonly TrustOperation[] = ['Issue', 'Validate', 'Renew', 'Cancel'];

/** The operation a RequestType names, checked against the message's action when it has one. */
export function operationOf(version: TrustVersion, requestType: string, action: string | undefined): TrustOperation {
  const uris = trustUris(version);
  const operation = OPERATIONS.find((op) => requestType === `${uris.ns}/${op}`);
  if (!operation) throw new BadRequestError(`The RequestType "${requestType}" is not a WS-Trust ${version} request type.`);
  const expectedAction = `${uris.ns}/RST/${operation}`;
  if (action !== undefined && action !== expectedAction) {
    throw new ActionNotSupportedError(
      `The action "${action}" does not match RequestType ${operation}; WS-Trust ${version} expects "${expectedAction}".`,
    );
  }
  return operation;
}
