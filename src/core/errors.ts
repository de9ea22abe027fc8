import type { TokenAlert } from './token-forensics';

// One class per protocol fault. The message is what the caller is told and must help them fix the
// request without revealing anything secret; `logDetail` is for the operator's log only.

export type FaultFamily = 'wst' | 'wsse' | 'wsa' | 'soap';

export abstract class ProtocolError extends Error {
  abstract readonly family: FaultFamily;
  abstract readonly code: string;
  /** True when the fault is ours to fix, not the sender's (SOAP 1.2 Receiver, HTTP 500). */
  readonly receiver: boolean = false;
  constructor(
    message: string,
    readonly logDetail?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

// WS-Trust (1.3 section 11, February 2005 section 11: the same local names in each version's namespace).
export class InvalidRequestError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'InvalidRequest';
}
export class BadRequestError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'BadRequest';
}
export class RequestFailedError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'RequestFailed';
}
export class InvalidScopeError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'InvalidScope';
}
export class InvalidTimeRangeError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'InvalidTimeRange';
}
/** WS-Trust's own FailedAuthentication: a token presented inside the request (OnBehalfOf, ActAs) is not accepted. */
export class TrustFailedAuthenticationError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'FailedAuthentication';
}
export class UnableToRenewError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'UnableToRenew';
}
/**
 * A Receiver wst:RequestFailed: the STS cannot serve the request now, through no fault of the caller,
 * who should retry later instead of doubting their password or token. WS-Trust has no "unavailable"
 * or "busy" fault; RequestFailed is its "the request failed".
 */
abstract class RetryLaterError extends ProtocolError {
  readonly family = 'wst';
  readonly code = 'RequestFailed';
  override readonly receiver = true;
}

/** The identity directory (LDAP) could not be asked: unreachable, too slow, or refusing our own service account. */
export class DirectoryUnavailableError extends RetryLaterError {
  constructor(logDetail: string) {
    super('The identity directory is unavailable; try again later.', logDetail);
  }
}

/** The token store (the ledger, users, keys) could not be reached. */
export class StoreUnavailableError extends RetryLaterError {
  constructor(logDetail: string) {
    super('The token store is unavailable; try again later.', logDetail);
  }
}

/** This process has more password checks waiting than it queues (each costs tens of milliseconds of scrypt). */
export class ServerBusyError extends RetryLaterError {
  constructor(logDetail: string) {
    super('The STS is busy; try again later.', logDetail);
  }
}

// WS-Security 1.1 section 12.
export class InvalidSecurityError extends ProtocolError {
  readonly family = 'wsse';
  readonly code = 'InvalidSecurity';
}
export class FailedAuthenticationError extends ProtocolError {
  readonly family = 'wsse';
  readonly code = 'FailedAuthentication';
  /** `alert`: what this failure tells a responder (a user just locked out); recorded with the request, never sent. */
  constructor(
    logDetail: string,
    readonly alert?: TokenAlert,
  ) {
    super('The security token could not be authenticated or authorized.', logDetail);
  }
}
export class MessageExpiredError extends ProtocolError {
  readonly family = 'wsse';
  readonly code = 'MessageExpired';
}
export class UnsupportedSecurityTokenError extends ProtocolError {
  readonly family = 'wsse';
  readonly code = 'UnsupportedSecurityToken';
}

// WS-Addressing 1.0 SOAP binding section 6.
export class ActionNotSupportedError extends ProtocolError {
  readonly family = 'wsa';
  readonly code = 'ActionNotSupported';
}
export class InvalidAddressingHeaderError extends ProtocolError {
  readonly family = 'wsa';
  readonly code = 'InvalidAddressingHeader';
}

// SOAP itself (the top-level code is the fault code; no subcode).
export class VersionMismatchError extends ProtocolError {
  readonly family = 'soap';
  readonly code = 'VersionMismatch';
}
export class MustUnderstandError extends ProtocolError {
  readonly family = 'soap';
  readonly code = 'MustUnderstand';
}
