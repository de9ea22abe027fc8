import type { TokenAlert } from '../core/token-forensics';

// What the transport knows of each request once it is answered: the one record the audit trail,
// the metrics and the detectors all read, so they cannot disagree about what happened.

export interface RequestRecord {
  readonly api: 'wstrust' | 'aws' | 'http';
  /** Issue, Validate, Renew, Cancel, AssumeRoleWithSAML, GetCallerIdentity…; 'unknown' when unread. */
  readonly operation: string;
  readonly requestId: string;
  readonly path: string;
  readonly sourceAddress: string | null;
  readonly userAgent: string | null;
  /** Who the request spoke for, once known: the authenticated user, the federated subject, the session. */
  readonly principal: string | null;
  readonly status: number;
  /** The SOAP fault (`wst:InvalidRequest`) or AWS error code (`InvalidIdentityToken`); null on success. */
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  /** True when the STS itself failed (a bug or an outage), not the request. */
  readonly internalError: boolean;
  readonly durationMs: number;
  /** Tokens or credentials this request issued (0 or 1). */
  readonly issued: number;
  /** What the request asked, without secrets (no passwords, tokens or assertions). */
  readonly requestParameters: Readonly<Record<string, unknown>> | null;
  /** What it got, without secrets (ids and times, never a token or a secret key). */
  readonly responseElements: Readonly<Record<string, unknown>> | null;
  /** More about it, for the trail: for a refused login, the user name it claimed (principal stays null). */
  readonly additionalEventData: Readonly<Record<string, unknown>> | null;
  /** Alerts the request raised while it was served (e.g. forged-token): each becomes its own audit event. */
  readonly alerts: readonly TokenAlert[];
}

export interface RequestObserver {
  observe(record: RequestRecord): void;
}
