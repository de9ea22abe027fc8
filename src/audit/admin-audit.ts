import { userInfo } from 'node:os';
import type { Instance } from '../instance/open-instance';
import type { AuditFacts } from './audit-event';
import type { AlertName } from './alerts';

/** Who ran an admin command: the operating-system account (the CLI has no other identity). */
function operator(): string {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return `os:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * Records a change made with the `sts` CLI (keys, pins, trust): an admin event, or an alert for the
 * changes an attacker would make to be trusted (a pin added, a key imported or exported), or a
 * refused attempt at one (with its error).
 */
export function recordAdminEvent(
  instance: Instance,
  eventName: string,
  requestParameters: Record<string, unknown>,
  outcome: {
    readonly responseElements?: Record<string, unknown>;
    readonly alert?: AlertName;
    /** Set when the command refused: a stable code and what it said. */
    readonly error?: { readonly code: string; readonly message: string };
    /** For a refusal that is no alert but worth a defender's look (an attempt at what the alert reports). */
    readonly severity?: AuditFacts['severity'];
  } = {},
): void {
  instance.audit.record({
    eventName,
    eventSource: 'admin',
    principal: operator(),
    userAgent: 'sts-cli',
    requestParameters,
    responseElements: outcome.responseElements ?? null,
    alert: outcome.alert ?? null,
    severity: outcome.severity,
    errorCode: outcome.error?.code ?? null,
    errorMessage: outcome.error?.message ?? null,
    additionalEventData: outcome.alert === undefined ? null : { ...requestParameters, ...outcome.responseElements },
  });
}
