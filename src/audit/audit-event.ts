import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../store/store';
import { ALERT_SEVERITY, type AlertName } from './alerts';

/** What a caller knows of an event; the rest (id, time, empty fields, severity) is filled in here. */
export interface AuditFacts {
  readonly eventName: string;
  readonly eventSource: AuditEvent['eventSource'];
  readonly requestId?: string | null;
  readonly sourceAddress?: string | null;
  readonly userAgent?: string | null;
  readonly principal?: string | null;
  readonly requestParameters?: Readonly<Record<string, unknown>> | null;
  readonly responseElements?: Readonly<Record<string, unknown>> | null;
  readonly additionalEventData?: Readonly<Record<string, unknown>> | null;
  readonly errorCode?: string | null;
  readonly errorMessage?: string | null;
  readonly alert?: AlertName | null;
  /** An event that is no alert is info, or a warning when a defender should see it (a refused attempt at what an alert reports); an alert has its own. */
  readonly severity?: 'info' | 'warning';
}

export function auditEvent(facts: AuditFacts, eventTime: Date): AuditEvent {
  const alert = facts.alert ?? null;
  return {
    eventId: randomUUID(),
    eventTime,
    eventName: facts.eventName,
    eventSource: facts.eventSource,
    requestId: facts.requestId ?? null,
    sourceAddress: facts.sourceAddress ?? null,
    userAgent: facts.userAgent ?? null,
    principal: facts.principal ?? null,
    requestParameters: facts.requestParameters ?? null,
    responseElements: facts.responseElements ?? null,
    additionalEventData: facts.additionalEventData ?? null,
    errorCode: facts.errorCode ?? null,
    errorMessage: facts.errorMessage ?? null,
    alert,
    severity: alert === null ? (facts.severity ?? 'info') : ALERT_SEVERITY[alert],
  };
}

/** An audit event as its JSON line shows it (CloudTrail's field names and ISO times). */
export function auditEventJson(event: AuditEvent): string {
  return JSON.stringify({ ...event, eventTime: event.eventTime.toISOString() });
}
